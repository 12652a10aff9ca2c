// The kernels, written once and compiled twice by ckernels.c: for the baseline target (plain C that
// the compiler vectorises) and, on x86-64, for AVX2 (hand-written intrinsics on the hot loops).
// Before including: CK_NS(name) names a function for this variant, CK_AVX2 is 0 or 1.
//
// Everything works in the key domain (see ckernels.h): key = bits ^ ((bits >> 31) >>> 1) for float32,
// and the same on 16 bits for float16/bfloat16, whose conversion to float32 is exact and monotonic,
// so their min/max is taken on the 16-bit keys and only the result is converted.
//
// Fast kernels (pair*, rows*) take min/max of every key, non-finite ones included: a non-finite
// value then shows as a result outside the finite key range, and the caller redoes that piece with
// the careful kernels (careful*, crows*), which mask non-finite values out and count them.
// Loads are unaligned throughout; nothing here allocates.

// MARK: - Contiguous: two reductions of the raw bit patterns
//
// The fewest instructions per byte win on a memory-bound loop (the out-of-order window then holds
// more loads in flight), so the contiguous kernels skip the key transform and take two integer
// reductions of the raw bits, chosen by `mode`:
//   CK_MIXED  signed max (largest non-negative float) and unsigned max (most negative float);
//   CK_NONNEG signed max and signed min (all floats non-negative, e.g. after ReLU or softmax);
//   CK_NONPOS unsigned max and unsigned min (all floats negative).
// The caller (ck_fast, ckernels.c) checks that the mode held for the data and otherwise runs the
// right one; every mode yields the exact total-order min/max, -0 < +0 included.

#if CK_AVX2
#define CK_PAIR_LOOP(W, OPA, OPB, IA, IB, HA, HB) do { \
        const __m256i ia_ = IA, ib_ = IB; \
        __m256i a0 = ia_, a1 = ia_, b0 = ib_, b1 = ib_; \
        const size_t V = 32 / (W / 8); \
        size_t i = 0; \
        for (; i + 8 * V <= n; i += 8 * V) { \
            const uint8_t *q = p + (W / 8) * i; \
            __m256i v0 = ck_loadu(q), v1 = ck_loadu(q + 32), v2 = ck_loadu(q + 64), v3 = ck_loadu(q + 96); \
            a0 = OPA(a0, v0); b0 = OPB(b0, v0); a1 = OPA(a1, v1); b1 = OPB(b1, v1); \
            a0 = OPA(a0, v2); b0 = OPB(b0, v2); a1 = OPA(a1, v3); b1 = OPB(b1, v3); \
            v0 = ck_loadu(q + 128); v1 = ck_loadu(q + 160); v2 = ck_loadu(q + 192); v3 = ck_loadu(q + 224); \
            a0 = OPA(a0, v0); b0 = OPB(b0, v0); a1 = OPA(a1, v1); b1 = OPB(b1, v1); \
            a0 = OPA(a0, v2); b0 = OPB(b0, v2); a1 = OPA(a1, v3); b1 = OPB(b1, v3); \
        } \
        for (; i + V <= n; i += V) { \
            __m256i v = ck_loadu(p + (W / 8) * i); \
            a0 = OPA(a0, v); b0 = OPB(b0, v); \
        } \
        if (i < n) { /* the last vector, overlapping what was seen: min/max are idempotent */ \
            __m256i v = ck_loadu(p + (W / 8) * (n - V)); \
            a0 = OPA(a0, v); b0 = OPB(b0, v); \
        } \
        *oa = HA(OPA(a0, a1)); \
        *ob = HB(OPB(b0, b1)); \
    } while (0)
#endif

/// Two reductions (see above) of `n` >= 1 float32 bit patterns at `p`.
static void CK_NS(pair32)(const uint8_t *p, size_t n, int mode, uint32_t *oa, uint32_t *ob) {
#if CK_AVX2
    if (n >= 8) {
        if (mode == CK_MIXED)
            CK_PAIR_LOOP(32, _mm256_max_epi32, _mm256_max_epu32, _mm256_set1_epi32(INT32_MIN),
                         _mm256_setzero_si256(), ck_hmax_epi32, ck_hmax_epu32);
        else if (mode == CK_NONNEG)
            CK_PAIR_LOOP(32, _mm256_max_epi32, _mm256_min_epi32, _mm256_set1_epi32(INT32_MIN),
                         _mm256_set1_epi32(INT32_MAX), ck_hmax_epi32, ck_hmin_epi32);
        else
            CK_PAIR_LOOP(32, _mm256_max_epu32, _mm256_min_epu32, _mm256_setzero_si256(),
                         _mm256_set1_epi32(-1), ck_hmax_epu32, ck_hmin_epu32);
        return;
    }
#endif
    if (mode == CK_MIXED) {
        int32_t a = INT32_MIN; uint32_t b = 0;
        for (size_t i = 0; i < n; i++) {
            uint32_t v = ck_ld32(p + 4 * i);
            a = (int32_t)v > a ? (int32_t)v : a;
            b = v > b ? v : b;
        }
        *oa = (uint32_t)a; *ob = b;
    } else if (mode == CK_NONNEG) {
        int32_t a = INT32_MIN, b = INT32_MAX;
        for (size_t i = 0; i < n; i++) {
            int32_t v = (int32_t)ck_ld32(p + 4 * i);
            a = v > a ? v : a;
            b = v < b ? v : b;
        }
        *oa = (uint32_t)a; *ob = (uint32_t)b;
    } else {
        uint32_t a = 0, b = UINT32_MAX;
        for (size_t i = 0; i < n; i++) {
            uint32_t v = ck_ld32(p + 4 * i);
            a = v > a ? v : a;
            b = v < b ? v : b;
        }
        *oa = a; *ob = b;
    }
}

/// Folds the finite values of `n` float32 into `*omin`/`*omax`; returns how many were non-finite.
/// `n` < 2^31.
static uint32_t CK_NS(careful32)(const uint8_t *p, size_t n, int32_t *omin, int32_t *omax) {
    int32_t mn = *omin, mx = *omax;
    uint32_t finite = 0;
    size_t i = 0;
#if CK_AVX2
    {
        const __m256i hi = _mm256_set1_epi32(INT32_MAX), lo = _mm256_set1_epi32(INT32_MIN);
        const __m256i below = _mm256_set1_epi32(CK_LO32 - 1), above = _mm256_set1_epi32(CK_HI32 + 1);
        __m256i vmn = hi, vmx = lo, cnt = _mm256_setzero_si256();
        for (; i + 8 <= n; i += 8) {
            __m256i k = ck_key32v(ck_loadu(p + 4 * i));
            __m256i fin = _mm256_and_si256(_mm256_cmpgt_epi32(k, below), _mm256_cmpgt_epi32(above, k));
            vmn = _mm256_min_epi32(vmn, _mm256_blendv_epi8(hi, k, fin));
            vmx = _mm256_max_epi32(vmx, _mm256_blendv_epi8(lo, k, fin));
            cnt = _mm256_sub_epi32(cnt, fin);
        }
        int32_t a = ck_hmin32(vmn), b = ck_hmax32(vmx);
        mn = a < mn ? a : mn;
        mx = b > mx ? b : mx;
        __m128i c = _mm_add_epi32(_mm256_castsi256_si128(cnt), _mm256_extracti128_si256(cnt, 1));
        c = _mm_add_epi32(c, _mm_srli_si128(c, 8));
        c = _mm_add_epi32(c, _mm_srli_si128(c, 4));
        finite += (uint32_t)_mm_cvtsi128_si32(c);
    }
#endif
    for (; i < n; i++) {
        int32_t k = ck_key32(ck_ld32(p + 4 * i));
        int fin = (k >= CK_LO32) & (k <= CK_HI32);
        finite += (uint32_t)fin;
        int32_t a = fin ? k : INT32_MAX, b = fin ? k : INT32_MIN;
        mn = a < mn ? a : mn;
        mx = b > mx ? b : mx;
    }
    *omin = mn;
    *omax = mx;
    return (uint32_t)n - finite;
}

// MARK: - 16-bit floats (float16, bfloat16)

/// As pair32, on 16-bit patterns (results zero-extended).
static void CK_NS(pair16)(const uint8_t *p, size_t n, int mode, uint32_t *oa, uint32_t *ob) {
#if CK_AVX2
    if (n >= 16) {
        if (mode == CK_MIXED)
            CK_PAIR_LOOP(16, _mm256_max_epi16, _mm256_max_epu16, _mm256_set1_epi16(INT16_MIN),
                         _mm256_setzero_si256(), ck_hmax_epi16, ck_hmax_epu16);
        else if (mode == CK_NONNEG)
            CK_PAIR_LOOP(16, _mm256_max_epi16, _mm256_min_epi16, _mm256_set1_epi16(INT16_MIN),
                         _mm256_set1_epi16(INT16_MAX), ck_hmax_epi16, ck_hmin_epi16);
        else
            CK_PAIR_LOOP(16, _mm256_max_epu16, _mm256_min_epu16, _mm256_setzero_si256(),
                         _mm256_set1_epi16(-1), ck_hmax_epu16, ck_hmin_epu16);
        return;
    }
#endif
    if (mode == CK_MIXED) {
        int16_t a = INT16_MIN; uint16_t b = 0;
        for (size_t i = 0; i < n; i++) {
            uint16_t v = ck_ld16(p + 2 * i);
            a = (int16_t)v > a ? (int16_t)v : a;
            b = v > b ? v : b;
        }
        *oa = (uint16_t)a; *ob = b;
    } else if (mode == CK_NONNEG) {
        int16_t a = INT16_MIN, b = INT16_MAX;
        for (size_t i = 0; i < n; i++) {
            int16_t v = (int16_t)ck_ld16(p + 2 * i);
            a = v > a ? v : a;
            b = v < b ? v : b;
        }
        *oa = (uint16_t)a; *ob = (uint16_t)b;
    } else {
        uint16_t a = 0, b = UINT16_MAX;
        for (size_t i = 0; i < n; i++) {
            uint16_t v = ck_ld16(p + 2 * i);
            a = v > a ? v : a;
            b = v < b ? v : b;
        }
        *oa = a; *ob = b;
    }
}

#if CK_AVX2
// Two ranges of the same length at once, one accumulator pair each: two hardware prefetch streams
// keep more of memory's bandwidth busy than one (about 10 % more on the benchmark machine).
#define CK_PAIR2_LOOP(W, OPA, OPB, IA, IB, HA, HB) do { \
        const __m256i ia_ = IA, ib_ = IB; \
        __m256i a0 = ia_, b0 = ib_, a1 = ia_, b1 = ib_; \
        const size_t V = 32 / (W / 8); \
        size_t i = 0; \
        for (; i + 4 * V <= n; i += 4 * V) { \
            const uint8_t *x = p + (W / 8) * i, *y = q + (W / 8) * i; \
            __m256i v0 = ck_loadu(x), v1 = ck_loadu(x + 32), w0 = ck_loadu(y), w1 = ck_loadu(y + 32); \
            a0 = OPA(a0, v0); b0 = OPB(b0, v0); a1 = OPA(a1, w0); b1 = OPB(b1, w0); \
            a0 = OPA(a0, v1); b0 = OPB(b0, v1); a1 = OPA(a1, w1); b1 = OPB(b1, w1); \
            v0 = ck_loadu(x + 64); v1 = ck_loadu(x + 96); w0 = ck_loadu(y + 64); w1 = ck_loadu(y + 96); \
            a0 = OPA(a0, v0); b0 = OPB(b0, v0); a1 = OPA(a1, w0); b1 = OPB(b1, w0); \
            a0 = OPA(a0, v1); b0 = OPB(b0, v1); a1 = OPA(a1, w1); b1 = OPB(b1, w1); \
        } \
        for (; i + V <= n; i += V) { \
            __m256i v = ck_loadu(p + (W / 8) * i), w = ck_loadu(q + (W / 8) * i); \
            a0 = OPA(a0, v); b0 = OPB(b0, v); a1 = OPA(a1, w); b1 = OPB(b1, w); \
        } \
        if (i < n) { /* the last vectors, overlapping what was seen */ \
            __m256i v = ck_loadu(p + (W / 8) * (n - V)), w = ck_loadu(q + (W / 8) * (n - V)); \
            a0 = OPA(a0, v); b0 = OPB(b0, v); a1 = OPA(a1, w); b1 = OPB(b1, w); \
        } \
        out[0] = HA(a0); out[1] = HB(b0); out[2] = HA(a1); out[3] = HB(b1); \
    } while (0)
#endif

/// pair32 of `n` float32 at `p` and `n` at `q` in one pass: `out` = a, b of `p`, then a, b of `q`.
/// `n` >= 8.
static void CK_NS(pair32x2)(const uint8_t *p, const uint8_t *q, size_t n, int mode, uint32_t *out) {
#if CK_AVX2
    if (mode == CK_MIXED)
        CK_PAIR2_LOOP(32, _mm256_max_epi32, _mm256_max_epu32, _mm256_set1_epi32(INT32_MIN),
                      _mm256_setzero_si256(), ck_hmax_epi32, ck_hmax_epu32);
    else if (mode == CK_NONNEG)
        CK_PAIR2_LOOP(32, _mm256_max_epi32, _mm256_min_epi32, _mm256_set1_epi32(INT32_MIN),
                      _mm256_set1_epi32(INT32_MAX), ck_hmax_epi32, ck_hmin_epi32);
    else
        CK_PAIR2_LOOP(32, _mm256_max_epu32, _mm256_min_epu32, _mm256_setzero_si256(),
                      _mm256_set1_epi32(-1), ck_hmax_epu32, ck_hmin_epu32);
#else
    CK_NS(pair32)(p, n, mode, &out[0], &out[1]);
    CK_NS(pair32)(q, n, mode, &out[2], &out[3]);
#endif
}

/// As pair32x2, on 16-bit patterns (results zero-extended). `n` >= 16.
static void CK_NS(pair16x2)(const uint8_t *p, const uint8_t *q, size_t n, int mode, uint32_t *out) {
#if CK_AVX2
    if (mode == CK_MIXED)
        CK_PAIR2_LOOP(16, _mm256_max_epi16, _mm256_max_epu16, _mm256_set1_epi16(INT16_MIN),
                      _mm256_setzero_si256(), ck_hmax_epi16, ck_hmax_epu16);
    else if (mode == CK_NONNEG)
        CK_PAIR2_LOOP(16, _mm256_max_epi16, _mm256_min_epi16, _mm256_set1_epi16(INT16_MIN),
                      _mm256_set1_epi16(INT16_MAX), ck_hmax_epi16, ck_hmin_epi16);
    else
        CK_PAIR2_LOOP(16, _mm256_max_epu16, _mm256_min_epu16, _mm256_setzero_si256(),
                      _mm256_set1_epi16(-1), ck_hmax_epu16, ck_hmin_epu16);
#else
    CK_NS(pair16)(p, n, mode, &out[0], &out[1]);
    CK_NS(pair16)(q, n, mode, &out[2], &out[3]);
#endif
}

/// As careful32, for 16-bit keys whose finite range is [`flo`, `fhi`].
static uint32_t CK_NS(careful16)(
    const uint8_t *p, size_t n, int16_t flo, int16_t fhi, int16_t *omin, int16_t *omax) {
    int16_t mn = *omin, mx = *omax;
    uint32_t finite = 0;
    size_t i = 0;
#if CK_AVX2
    {
        const __m256i hi = _mm256_set1_epi16(INT16_MAX), lo = _mm256_set1_epi16(INT16_MIN);
        const __m256i below = _mm256_set1_epi16((int16_t)(flo - 1)), above = _mm256_set1_epi16((int16_t)(fhi + 1));
        const __m256i one = _mm256_set1_epi16(1);
        __m256i vmn = hi, vmx = lo, cnt = _mm256_setzero_si256();
        while (i + 16 <= n) {
            // 16-bit lane counters: drain into 32 bits every 2^14 vectors at most.
            __m256i c16 = _mm256_setzero_si256();
            size_t stop = n - i > 16 * 16384 ? i + 16 * 16384 : n;
            for (; i + 16 <= stop; i += 16) {
                __m256i k = ck_key16v(ck_loadu(p + 2 * i));
                __m256i fin = _mm256_and_si256(_mm256_cmpgt_epi16(k, below), _mm256_cmpgt_epi16(above, k));
                vmn = _mm256_min_epi16(vmn, _mm256_blendv_epi8(hi, k, fin));
                vmx = _mm256_max_epi16(vmx, _mm256_blendv_epi8(lo, k, fin));
                c16 = _mm256_sub_epi16(c16, fin);
            }
            cnt = _mm256_add_epi32(cnt, _mm256_madd_epi16(c16, one));
        }
        int16_t a = ck_hmin16(vmn), b = ck_hmax16(vmx);
        mn = a < mn ? a : mn;
        mx = b > mx ? b : mx;
        __m128i c = _mm_add_epi32(_mm256_castsi256_si128(cnt), _mm256_extracti128_si256(cnt, 1));
        c = _mm_add_epi32(c, _mm_srli_si128(c, 8));
        c = _mm_add_epi32(c, _mm_srli_si128(c, 4));
        finite += (uint32_t)_mm_cvtsi128_si32(c);
    }
#endif
    for (; i < n; i++) {
        int16_t k = ck_key16(ck_ld16(p + 2 * i));
        int fin = (k >= flo) & (k <= fhi);
        finite += (uint32_t)fin;
        int16_t a = fin ? k : INT16_MAX, b = fin ? k : INT16_MIN;
        mn = a < mn ? a : mn;
        mx = b > mx ? b : mx;
    }
    *omin = mn;
    *omax = mx;
    return (uint32_t)n - finite;
}

// MARK: - Rows: elementwise min/max of `nrows` rows of `len` elements into per-position keys

#if CK_AVX2
#define CK_ROW32(q) do { __m256i k_ = ck_key32v(ck_loadu((q) + 4 * j)); \
    mn = _mm256_min_epi32(mn, k_); mx = _mm256_max_epi32(mx, k_); } while (0)
#define CK_ROW16(q) do { __m256i k_ = ck_key16v(ck_loadu((q) + 2 * j)); \
    mn = _mm256_min_epi16(mn, k_); mx = _mm256_max_epi16(mx, k_); } while (0)
#endif

/// Row `r` starts at `p + r * stride` (bytes). Fast: non-finite values go in. Rows are taken 8 at a
/// time (then 4, then 1), so each key vector is loaded and stored once per 8 rows. AVX2 needs len >= V
/// (the last vector of a row overlaps the one before: min/max are idempotent).
#if CK_AVX2
#define CK_ROWS_GROUP(W, V, G, ...) \
    for (; r + G <= nrows; r += G) { \
        const uint8_t *q0 = p + r * stride; \
        const uint8_t *q1 = q0 + stride, *q2 = q1 + stride, *q3 = q2 + stride; \
        const uint8_t *q4 = q3 + stride, *q5 = q4 + stride, *q6 = q5 + stride, *q7 = q6 + stride; \
        (void)q1; (void)q2; (void)q3; (void)q4; (void)q5; (void)q6; (void)q7; \
        for (size_t jj = 0; jj < len; jj += V) { \
            size_t j = jj + V <= len ? jj : len - V; \
            __m256i mn = ck_loadu(amin + j), mx = ck_loadu(amax + j); \
            __VA_ARGS__ \
            ck_storeu(amin + j, mn); \
            ck_storeu(amax + j, mx); \
        } \
    }
#endif

static void CK_NS(rows32)(
    const uint8_t *p, size_t stride, size_t len, size_t nrows, int32_t *restrict amin, int32_t *restrict amax) {
#if CK_AVX2
    if (len >= 8) {
        size_t r = 0;
        CK_ROWS_GROUP(32, 8, 8, CK_ROW32(q0); CK_ROW32(q1); CK_ROW32(q2); CK_ROW32(q3);
                      CK_ROW32(q4); CK_ROW32(q5); CK_ROW32(q6); CK_ROW32(q7);)
        CK_ROWS_GROUP(32, 8, 4, CK_ROW32(q0); CK_ROW32(q1); CK_ROW32(q2); CK_ROW32(q3);)
        CK_ROWS_GROUP(32, 8, 1, CK_ROW32(q0);)
        return;
    }
#endif
    for (size_t r = 0; r < nrows; r++) {
        const uint8_t *q = p + r * stride;
        for (size_t j = 0; j < len; j++) {
            int32_t k = ck_key32(ck_ld32(q + 4 * j));
            amin[j] = k < amin[j] ? k : amin[j];
            amax[j] = k > amax[j] ? k : amax[j];
        }
    }
}

static void CK_NS(rows16)(
    const uint8_t *p, size_t stride, size_t len, size_t nrows, int16_t *restrict amin, int16_t *restrict amax) {
#if CK_AVX2
    if (len >= 16) {
        size_t r = 0;
        CK_ROWS_GROUP(16, 16, 8, CK_ROW16(q0); CK_ROW16(q1); CK_ROW16(q2); CK_ROW16(q3);
                      CK_ROW16(q4); CK_ROW16(q5); CK_ROW16(q6); CK_ROW16(q7);)
        CK_ROWS_GROUP(16, 16, 4, CK_ROW16(q0); CK_ROW16(q1); CK_ROW16(q2); CK_ROW16(q3);)
        CK_ROWS_GROUP(16, 16, 1, CK_ROW16(q0);)
        return;
    }
#endif
    for (size_t r = 0; r < nrows; r++) {
        const uint8_t *q = p + r * stride;
        for (size_t j = 0; j < len; j++) {
            int16_t k = ck_key16(ck_ld16(q + 2 * j));
            amin[j] = k < amin[j] ? k : amin[j];
            amax[j] = k > amax[j] ? k : amax[j];
        }
    }
}

/// Careful rows: finite values only; returns the non-finite count.
static int64_t CK_NS(crows32)(
    const uint8_t *p, size_t stride, size_t len, size_t nrows, int32_t *restrict amin, int32_t *restrict amax) {
    int64_t bad = 0;
    for (size_t r = 0; r < nrows; r++) {
        const uint8_t *q = p + r * stride;
        uint32_t finite = 0;
        for (size_t j = 0; j < len; j++) {
            int32_t k = ck_key32(ck_ld32(q + 4 * j));
            int fin = (k >= CK_LO32) & (k <= CK_HI32);
            finite += (uint32_t)fin;
            int32_t a = fin ? k : INT32_MAX, b = fin ? k : INT32_MIN;
            amin[j] = a < amin[j] ? a : amin[j];
            amax[j] = b > amax[j] ? b : amax[j];
        }
        bad += (int64_t)len - finite;
    }
    return bad;
}

static int64_t CK_NS(crows16)(
    const uint8_t *p, size_t stride, size_t len, size_t nrows, int16_t flo, int16_t fhi,
    int16_t *restrict amin, int16_t *restrict amax) {
    int64_t bad = 0;
    for (size_t r = 0; r < nrows; r++) {
        const uint8_t *q = p + r * stride;
        uint32_t finite = 0;
        for (size_t j = 0; j < len; j++) {
            int16_t k = ck_key16(ck_ld16(q + 2 * j));
            int fin = (k >= flo) & (k <= fhi);
            finite += (uint32_t)fin;
            int16_t a = fin ? k : INT16_MAX, b = fin ? k : INT16_MIN;
            amin[j] = a < amin[j] ? a : amin[j];
            amax[j] = b > amax[j] ? b : amax[j];
        }
        bad += (int64_t)len - finite;
    }
    return bad;
}

// MARK: - Decoding to float32 (every dtype, either byte order)

static void CK_NS(decode)(int dtype, int swap, const uint8_t *p, size_t n, float *restrict out) {
#define CK_DEC(T, W, load, conv) do { \
        if (swap) { for (size_t i = 0; i < n; i++) { T v_ = (T)ck_bswap##W(load(p + i * (W / 8))); out[i] = conv(v_); } } \
        else { for (size_t i = 0; i < n; i++) { T v_ = (T)load(p + i * (W / 8)); out[i] = conv(v_); } } \
    } while (0)
#define CK_ASIS(v) ((float)(v))
    switch (dtype) {
    case CK_F32: CK_DEC(uint32_t, 32, ck_ld32, ck_f32_from_bits); break;
    case CK_F16: CK_DEC(uint16_t, 16, ck_ld16, ck_f32_from_f16); break;
    case CK_BF16: CK_DEC(uint16_t, 16, ck_ld16, ck_f32_from_bf16); break;
    case CK_F64: CK_DEC(uint64_t, 64, ck_ld64, ck_f32_from_f64bits); break;
    case CK_I8: for (size_t i = 0; i < n; i++) out[i] = (float)(int8_t)p[i]; break;
    case CK_U8: for (size_t i = 0; i < n; i++) out[i] = (float)p[i]; break;
    case CK_BOOL: for (size_t i = 0; i < n; i++) out[i] = p[i] ? 1.0f : 0.0f; break;
    case CK_I16: CK_DEC(int16_t, 16, ck_ld16, CK_ASIS); break;
    case CK_U16: CK_DEC(uint16_t, 16, ck_ld16, CK_ASIS); break;
    case CK_I32: CK_DEC(int32_t, 32, ck_ld32, CK_ASIS); break;
    case CK_U32: CK_DEC(uint32_t, 32, ck_ld32, CK_ASIS); break;
    case CK_I64: CK_DEC(int64_t, 64, ck_ld64, CK_ASIS); break;
    case CK_U64: CK_DEC(uint64_t, 64, ck_ld64, CK_ASIS); break;
    default: for (size_t i = 0; i < n; i++) out[i] = 0; break;
    }
#undef CK_DEC
#undef CK_ASIS
}

// MARK: - Read-bandwidth yardstick

static double CK_NS(sum32)(const uint8_t *p, size_t n, int streams) {
    size_t i = 0;
    double total = 0;
#if CK_AVX2
    if (streams == 2) {
        // The two halves at once: two hardware prefetch streams, which read ~10 % faster here.
        size_t half = n / 2 / 32 * 32;
        const float *a = (const float *)(const void *)p, *b = a + half;
        __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
        for (size_t k = 0; k < half; k += 32) {
            s0 = _mm256_add_ps(s0, _mm256_loadu_ps(a + k));
            s1 = _mm256_add_ps(s1, _mm256_loadu_ps(a + k + 8));
            s2 = _mm256_add_ps(s2, _mm256_loadu_ps(a + k + 16));
            s3 = _mm256_add_ps(s3, _mm256_loadu_ps(a + k + 24));
            s4 = _mm256_add_ps(s4, _mm256_loadu_ps(b + k));
            s5 = _mm256_add_ps(s5, _mm256_loadu_ps(b + k + 8));
            s6 = _mm256_add_ps(s6, _mm256_loadu_ps(b + k + 16));
            s7 = _mm256_add_ps(s7, _mm256_loadu_ps(b + k + 24));
        }
        __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)),
                                 _mm256_add_ps(_mm256_add_ps(s4, s5), _mm256_add_ps(s6, s7)));
        float lanes[8];
        _mm256_storeu_ps(lanes, s);
        for (int l = 0; l < 8; l++) total += lanes[l];
        // Elements [2 * half, n), fewer than 64.
        return total + CK_NS(sum32)((const uint8_t *)(const void *)(b + half), n - 2 * half, 1);
    }
    {
        __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
        for (; i + 64 <= n; i += 64) {
            const float *q = (const float *)(const void *)(p + 4 * i);
            s0 = _mm256_add_ps(s0, _mm256_loadu_ps(q));
            s1 = _mm256_add_ps(s1, _mm256_loadu_ps(q + 8));
            s2 = _mm256_add_ps(s2, _mm256_loadu_ps(q + 16));
            s3 = _mm256_add_ps(s3, _mm256_loadu_ps(q + 24));
            s4 = _mm256_add_ps(s4, _mm256_loadu_ps(q + 32));
            s5 = _mm256_add_ps(s5, _mm256_loadu_ps(q + 40));
            s6 = _mm256_add_ps(s6, _mm256_loadu_ps(q + 48));
            s7 = _mm256_add_ps(s7, _mm256_loadu_ps(q + 56));
        }
        __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)),
                                 _mm256_add_ps(_mm256_add_ps(s4, s5), _mm256_add_ps(s6, s7)));
        float lanes[8];
        _mm256_storeu_ps(lanes, s);
        for (int l = 0; l < 8; l++) total += lanes[l];
    }
#endif
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) acc[l] += ck_f32_from_bits(ck_ld32(p + 4 * (i + (size_t)l)));
    for (; i < n; i++) acc[0] += ck_f32_from_bits(ck_ld32(p + 4 * i));
    for (int l = 0; l < 8; l++) total += acc[l];
    return total;
}

#if CK_AVX2
#undef CK_ROW32
#undef CK_ROW16
#undef CK_PAIR_LOOP
#undef CK_ROWS_GROUP
#endif

static const ck_ops CK_NS(ops) = {
    .pair32 = CK_NS(pair32),
    .pair32x2 = CK_NS(pair32x2),
    .pair16x2 = CK_NS(pair16x2),
    .careful32 = CK_NS(careful32),
    .pair16 = CK_NS(pair16),
    .careful16 = CK_NS(careful16),
    .rows32 = CK_NS(rows32),
    .rows16 = CK_NS(rows16),
    .crows32 = CK_NS(crows32),
    .crows16 = CK_NS(crows16),
    .decode = CK_NS(decode),
    .sum32 = CK_NS(sum32),
};
