// Observer kernels: the finite min/max and non-finite count of a tensor, per tensor or per channel.
//
// One portable binary: the kernels in ck_impl.h are compiled for the baseline target and, on x86-64,
// again for AVX2; `ck_observe` picks the variant once per call from a CPUID check made once per
// process. The strategy (how a tensor is cut into calls of the kernels) lives here, shared by both.
#include "ckernels.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define CK_X86 1
#include <cpuid.h>
#include <immintrin.h>
#else
#define CK_X86 0
#endif

int ckernels_version(void) { return CKERNELS_VERSION; }

// MARK: - Keys and scalar helpers

/// The finite float32 keys: key(-FLT_MAX) = -1 - 0x7f7fffff and key(FLT_MAX) = 0x7f7fffff.
#define CK_LO32 (-0x7f800000)
#define CK_HI32 0x7f7fffff
/// Finite 16-bit keys: float16 (max 0x7bff) and bfloat16 (max 0x7f7f).
#define CK_F16_LO (-0x7c00)
#define CK_F16_HI 0x7bff
#define CK_BF16_LO (-0x7f80)
#define CK_BF16_HI 0x7f7f

static inline uint16_t ck_ld16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t ck_ld32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t ck_ld64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline uint16_t ck_bswap16(uint16_t v) { return __builtin_bswap16(v); }
static inline uint32_t ck_bswap32(uint32_t v) { return __builtin_bswap32(v); }
static inline uint64_t ck_bswap64(uint64_t v) { return __builtin_bswap64(v); }

/// Total-order key of a float32 bit pattern; it is its own inverse.
static inline int32_t ck_key32(uint32_t b) { return (int32_t)(b ^ ((uint32_t)((int32_t)b >> 31) >> 1)); }
static inline int16_t ck_key16(uint16_t b) { return (int16_t)(b ^ (uint16_t)((uint16_t)((int16_t)b >> 15) >> 1)); }

static inline float ck_f32_from_bits(uint32_t b) { float f; memcpy(&f, &b, 4); return f; }
static inline uint32_t ck_bits_from_f32(float f) { uint32_t b; memcpy(&b, &f, 4); return b; }

/// float16 → float32 bit pattern, exact (subnormals included).
static inline uint32_t ck_f16_bits(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0x1f) return sign | 0x7f800000u | (m << 13);
    if (e == 0) return m == 0 ? sign : sign | ck_bits_from_f32((float)m * 0x1p-24f);
    return sign | ((e + 112u) << 23) | (m << 13);
}
static inline float ck_f32_from_f16(uint16_t h) { return ck_f32_from_bits(ck_f16_bits(h)); }
static inline float ck_f32_from_bf16(uint16_t h) { return ck_f32_from_bits((uint32_t)h << 16); }
static inline float ck_f32_from_f64bits(uint64_t b) { double d; memcpy(&d, &b, 8); return (float)d; }

static inline size_t ck_min(size_t a, size_t b) { return a < b ? a : b; }

/// Modes of the contiguous kernels (ck_impl.h, pair32).
enum { CK_MIXED = 0, CK_NONNEG = 1, CK_NONPOS = 2 };

/// The variant's kernels (see ck_impl.h).
typedef struct {
    void (*pair32)(const uint8_t *, size_t, int, uint32_t *, uint32_t *);
    void (*pair32x2)(const uint8_t *, const uint8_t *, size_t, int, uint32_t *);
    void (*pair16x2)(const uint8_t *, const uint8_t *, size_t, int, uint32_t *);
    uint32_t (*careful32)(const uint8_t *, size_t, int32_t *, int32_t *);
    void (*pair16)(const uint8_t *, size_t, int, uint32_t *, uint32_t *);
    uint32_t (*careful16)(const uint8_t *, size_t, int16_t, int16_t, int16_t *, int16_t *);
    void (*rows32)(const uint8_t *, size_t, size_t, size_t, int32_t *restrict, int32_t *restrict);
    void (*rows16)(const uint8_t *, size_t, size_t, size_t, int16_t *restrict, int16_t *restrict);
    int64_t (*crows32)(const uint8_t *, size_t, size_t, size_t, int32_t *restrict, int32_t *restrict);
    int64_t (*crows16)(const uint8_t *, size_t, size_t, size_t, int16_t, int16_t, int16_t *restrict, int16_t *restrict);
    void (*decode)(int, int, const uint8_t *, size_t, float *restrict);
    double (*sum32)(const uint8_t *, size_t, int);
} ck_ops;

// MARK: - The two variants

#define CK_AVX2 0
#define CK_NS(name) ck_portable_##name
#include "ck_impl.h"
#undef CK_NS
#undef CK_AVX2

#if CK_X86
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)

static inline __m256i ck_loadu(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }
static inline void ck_storeu(void *p, __m256i v) { _mm256_storeu_si256((__m256i *)p, v); }
static inline __m256i ck_key32v(__m256i x) {
    return _mm256_xor_si256(x, _mm256_srli_epi32(_mm256_srai_epi32(x, 31), 1));
}
static inline __m256i ck_key16v(__m256i x) {
    return _mm256_xor_si256(x, _mm256_srli_epi16(_mm256_srai_epi16(x, 15), 1));
}
static inline int32_t ck_hmin32(__m256i v) {
    __m128i m = _mm_min_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    m = _mm_min_epi32(m, _mm_srli_si128(m, 8));
    m = _mm_min_epi32(m, _mm_srli_si128(m, 4));
    return _mm_cvtsi128_si32(m);
}
static inline int32_t ck_hmax32(__m256i v) {
    __m128i m = _mm_max_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    m = _mm_max_epi32(m, _mm_srli_si128(m, 8));
    m = _mm_max_epi32(m, _mm_srli_si128(m, 4));
    return _mm_cvtsi128_si32(m);
}
static inline int16_t ck_hmin16(__m256i v) {
    __m128i m = _mm_min_epi16(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    m = _mm_min_epi16(m, _mm_srli_si128(m, 8));
    m = _mm_min_epi16(m, _mm_srli_si128(m, 4));
    m = _mm_min_epi16(m, _mm_srli_si128(m, 2));
    return (int16_t)_mm_cvtsi128_si32(m);
}
static inline int16_t ck_hmax16(__m256i v) {
    __m128i m = _mm_max_epi16(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    m = _mm_max_epi16(m, _mm_srli_si128(m, 8));
    m = _mm_max_epi16(m, _mm_srli_si128(m, 4));
    m = _mm_max_epi16(m, _mm_srli_si128(m, 2));
    return (int16_t)_mm_cvtsi128_si32(m);
}

#define CK_HREDUCE(name, OP128, T, EXTRA) \
    static inline uint32_t name(__m256i v) { \
        __m128i m = OP128(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)); \
        m = OP128(m, _mm_shuffle_epi32(m, 0x4e)); \
        m = OP128(m, _mm_shuffle_epi32(m, 0xb1)); \
        EXTRA \
        return (uint32_t)(T)_mm_cvtsi128_si32(m); \
    }
#define CK_H16 m = OP(m, _mm_srli_epi32(m, 16));
CK_HREDUCE(ck_hmax_epi32, _mm_max_epi32, uint32_t, )
CK_HREDUCE(ck_hmin_epi32, _mm_min_epi32, uint32_t, )
CK_HREDUCE(ck_hmax_epu32, _mm_max_epu32, uint32_t, )
CK_HREDUCE(ck_hmin_epu32, _mm_min_epu32, uint32_t, )
#define OP _mm_max_epi16
CK_HREDUCE(ck_hmax_epi16, _mm_max_epi16, uint16_t, CK_H16)
#undef OP
#define OP _mm_min_epi16
CK_HREDUCE(ck_hmin_epi16, _mm_min_epi16, uint16_t, CK_H16)
#undef OP
#define OP _mm_max_epu16
CK_HREDUCE(ck_hmax_epu16, _mm_max_epu16, uint16_t, CK_H16)
#undef OP
#define OP _mm_min_epu16
CK_HREDUCE(ck_hmin_epu16, _mm_min_epu16, uint16_t, CK_H16)
#undef OP
#undef CK_H16
#undef CK_HREDUCE

#define CK_AVX2 1
#define CK_NS(name) ck_avx2_##name
#include "ck_impl.h"
#undef CK_NS
#undef CK_AVX2

#pragma clang attribute pop
#endif

// MARK: - Dispatch

static int ck_detect(void) {
#if CK_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return CK_ISA_PORTABLE;
    const unsigned fma = 1u << 12, osxsave = 1u << 27, avx = 1u << 28, f16c = 1u << 29;
    if ((c & (fma | osxsave | avx | f16c)) != (fma | osxsave | avx | f16c)) return CK_ISA_PORTABLE;
    unsigned xlo, xhi;
    __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
    (void)xhi;
    if ((xlo & 6u) != 6u) return CK_ISA_PORTABLE;  // the OS saves YMM state
    if (__get_cpuid_max(0, 0) < 7) return CK_ISA_PORTABLE;
    __cpuid_count(7, 0, a, b, c, d);
    if (!(b & (1u << 5))) return CK_ISA_PORTABLE;
    return CK_ISA_AVX2;
#else
    return CK_ISA_PORTABLE;
#endif
}

int ck_best_isa(void) {
    static int cached = -2;
    int isa = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (isa == -2) {
        isa = ck_detect();
        __atomic_store_n(&cached, isa, __ATOMIC_RELAXED);
    }
    return isa;
}

const char *ck_isa_name(int isa) {
    if (isa == CK_ISA_BEST) isa = ck_best_isa();
    return isa == CK_ISA_AVX2 ? "avx2" : "portable";
}

static const ck_ops *ck_select(int isa) {
    if (isa == CK_ISA_BEST) isa = ck_best_isa();
#if CK_X86
    if (isa == CK_ISA_AVX2 && ck_best_isa() == CK_ISA_AVX2) return &ck_avx2_ops;
#endif
    return &ck_portable_ops;
}

// MARK: - Accumulators

void ck_keys_init(int32_t *kmin, int32_t *kmax, size_t channels) {
    for (size_t c = 0; c < channels; c++) {
        kmin[c] = INT32_MAX;
        kmax[c] = INT32_MIN;
    }
}

void ck_keys_merge(int32_t *kmin, int32_t *kmax, const int32_t *bmin, const int32_t *bmax, size_t channels) {
    for (size_t c = 0; c < channels; c++) {
        kmin[c] = bmin[c] < kmin[c] ? bmin[c] : kmin[c];
        kmax[c] = bmax[c] > kmax[c] ? bmax[c] : kmax[c];
    }
}

void ck_keys_finish(const int32_t *kmin, const int32_t *kmax, float *mins, float *maxs, size_t channels) {
    for (size_t c = 0; c < channels; c++) {
        int32_t a = kmin[c], b = kmax[c];
        // Only finite keys are ever stored; anything else is the empty sentinel.
        mins[c] = (a >= CK_LO32 && a <= CK_HI32) ? ck_f32_from_bits((uint32_t)ck_key32((uint32_t)a)) : INFINITY;
        maxs[c] = (b >= CK_LO32 && b <= CK_HI32) ? ck_f32_from_bits((uint32_t)ck_key32((uint32_t)b)) : -INFINITY;
    }
}

// MARK: - Strategy

enum { CK_KIND_F32, CK_KIND_F16, CK_KIND_BF16, CK_KIND_GENERIC };

/// Elements per fast/careful piece of a contiguous run: a piece with a non-finite value is read
/// again (from cache) by the careful kernel, so it is kept well inside L2.
#define CK_CHUNK 16384
/// Elements decoded at a time on the generic path.
#define CK_BLOCK 2048
/// Columns (positions in a row) accumulated at a time on the row path: two key arrays of this many
/// elements stay in L1/L2 while rows stream through.
#define CK_COLS 4096
/// Runs of at least this many elements are reduced one by one; shorter ones row-wise.
#define CK_RUN_MIN 1024

size_t ck_run_min(void) { return CK_RUN_MIN; }

typedef struct {
    const ck_ops *ops;
    int kind, dtype, swap;
    size_t esize;
    int16_t flo, fhi;  // finite 16-bit key range
} ck_ctx;

static size_t ck_esize(int dtype) {
    switch (dtype) {
    case CK_I8: case CK_U8: case CK_BOOL: return 1;
    case CK_F16: case CK_BF16: case CK_I16: case CK_U16: return 2;
    case CK_F32: case CK_I32: case CK_U32: return 4;
    default: return 8;
    }
}

static ck_ctx ck_context(int isa, int dtype, int swap) {
    ck_ctx c = {ck_select(isa), CK_KIND_GENERIC, dtype, swap, ck_esize(dtype), 0, 0};
    if (!swap || c.esize == 1) {
        if (dtype == CK_F32) c.kind = CK_KIND_F32;
        if (dtype == CK_F16) { c.kind = CK_KIND_F16; c.flo = CK_F16_LO; c.fhi = CK_F16_HI; }
        if (dtype == CK_BF16) { c.kind = CK_KIND_BF16; c.flo = CK_BF16_LO; c.fhi = CK_BF16_HI; }
    }
    return c;
}

/// A finite 16-bit key as a float32 key.
static inline int32_t ck_widen(const ck_ctx *c, int16_t k) {
    uint16_t b = (uint16_t)ck_key16((uint16_t)k);
    return ck_key32(c->kind == CK_KIND_F16 ? ck_f16_bits(b) : (uint32_t)b << 16);
}

/// Reads the two reductions a pair kernel gave in `mode`: 0 with the piece's min/max keys (or -1 when
/// it holds a non-finite value), or 1 with `*mode` changed when the mode did not hold for the data
/// (the piece must be reduced again in the new mode).
static int ck_judge(const ck_ctx *c, int *mode, uint32_t a, uint32_t b, int32_t *kmin, int32_t *kmax) {
    const int wide = c->kind == CK_KIND_F32;
    const uint32_t sign = wide ? 0x80000000u : 0x8000u;
    const uint32_t fhi = wide ? (uint32_t)CK_HI32 : (uint32_t)c->fhi;  // largest finite pattern
    uint32_t lo, hi;  // the min/max bit patterns (total order)
    if (*mode == CK_MIXED) {
        // a: signed max, b: unsigned max. Valid when both signs are present.
        if (a & sign) { *mode = CK_NONPOS; return 1; }
        if (!(b & sign)) { *mode = CK_NONNEG; return 1; }
        lo = b;
        hi = a;
    } else if (*mode == CK_NONNEG) {
        // a: signed max, b: signed min. Valid when nothing is negative.
        if (b & sign) { *mode = (a & sign) ? CK_NONPOS : CK_MIXED; return 1; }
        lo = b;
        hi = a;
    } else {
        // a: unsigned max, b: unsigned min. Valid when everything is negative.
        if (!(b & sign)) { *mode = (a & sign) ? CK_MIXED : CK_NONNEG; return 1; }
        lo = a;
        hi = b;
    }
    // Non-finite: a positive pattern above the largest finite, or a negative one above its negation.
    int bad = (!(hi & sign) && hi > fhi) || ((lo & sign) && (lo & ~sign) > fhi);
    if (wide) {
        *kmin = ck_key32(lo);
        *kmax = ck_key32(hi);
    } else if (!bad) {
        *kmin = ck_widen(c, ck_key16((uint16_t)lo));
        *kmax = ck_widen(c, ck_key16((uint16_t)hi));
    }
    return bad ? -1 : 0;
}

/// The min/max keys of `m` >= 1 elements of a 16- or 32-bit float kind, via the two-reduction
/// kernels: runs the kernel of `*mode` (a guess carried from piece to piece), and when the data
/// turned out to have other signs, the kernel of the mode the first run proved right (at most one
/// more pass, over data still in cache). Returns 1 when a non-finite value is among them (then the
/// keys are not set for 16-bit data, and the caller reduces the piece with the careful kernel).
static int ck_fast(const ck_ctx *c, const uint8_t *p, size_t m, int *mode, int32_t *kmin, int32_t *kmax) {
    for (;;) {
        uint32_t a, b;
        if (c->kind == CK_KIND_F32) c->ops->pair32(p, m, *mode, &a, &b);
        else c->ops->pair16(p, m, *mode, &a, &b);
        int r = ck_judge(c, mode, a, b, kmin, kmax);
        if (r != 1) return r < 0;
    }
}

/// Folds one piece of `m` float32/16-bit elements at `p` into `*mn`/`*mx`; returns its non-finite
/// count. `r` is the piece's ck_judge result with keys `a`, `b` when a pair kernel already read it,
/// or 1 to have it read here (by ck_fast, in `*mode`).
static int64_t ck_fold(const ck_ctx *c, const uint8_t *p, size_t m, int r, int32_t a, int32_t b, int *mode, int32_t *mn, int32_t *mx) {
    int64_t bad = 0;
    if (r == 1) r = ck_fast(c, p, m, mode, &a, &b) ? -1 : 0;
    if (r < 0) {
        if (c->kind == CK_KIND_F32) {
            a = INT32_MAX;
            b = INT32_MIN;
            bad = c->ops->careful32(p, m, &a, &b);
        } else {
            int16_t ha = INT16_MAX, hb = INT16_MIN;
            bad = c->ops->careful16(p, m, c->flo, c->fhi, &ha, &hb);
            a = ha == INT16_MAX ? INT32_MAX : ck_widen(c, ha);
            b = hb == INT16_MIN ? INT32_MIN : ck_widen(c, hb);
        }
    }
    *mn = a < *mn ? a : *mn;
    *mx = b > *mx ? b : *mx;
    return bad;
}

/// The first `2 * half` elements as two halves read side by side, a piece of each at a time (two
/// prefetch streams); returns the non-finite count.
static int64_t ck_reduce2(const ck_ctx *c, const uint8_t *p, size_t half, int *mode, int32_t *mn, int32_t *mx) {
    int64_t bad = 0;
    const uint8_t *q = p + c->esize * half;
    for (size_t i = 0; i < half; i += CK_CHUNK) {
        const uint8_t *x = p + c->esize * i, *y = q + c->esize * i;
        uint32_t out[4];
        int m0 = *mode;
        if (c->kind == CK_KIND_F32) c->ops->pair32x2(x, y, CK_CHUNK, m0, out);
        else c->ops->pair16x2(x, y, CK_CHUNK, m0, out);
        // Each result is judged in the mode it was computed in; a piece whose mode failed is redone.
        int32_t a = 0, b = 0;
        int mode1 = m0, r = ck_judge(c, &mode1, out[0], out[1], &a, &b);
        bad += ck_fold(c, x, CK_CHUNK, r, a, b, &mode1, mn, mx);
        int mode2 = m0;
        r = ck_judge(c, &mode2, out[2], out[3], &a, &b);
        bad += ck_fold(c, y, CK_CHUNK, r, a, b, &mode2, mn, mx);
        *mode = mode2;
    }
    return bad;
}

/// Folds `n` contiguous elements into one accumulator; returns the non-finite count.
static int64_t ck_reduce(const ck_ctx *c, const uint8_t *p, size_t n, int *mode, int32_t *kmin, int32_t *kmax) {
    int64_t bad = 0;
    int32_t mn = *kmin, mx = *kmax;
    if (c->kind != CK_KIND_GENERIC) {
        if (n >= 4 * CK_CHUNK) {
            // Long runs: whole pieces of both halves side by side, then the rest one piece at a time.
            size_t half = n / 2 / CK_CHUNK * CK_CHUNK;
            bad += ck_reduce2(c, p, half, mode, &mn, &mx);
            p += c->esize * 2 * half;
            n -= 2 * half;
        }
        for (size_t i = 0; i < n; i += CK_CHUNK)
            bad += ck_fold(c, p + c->esize * i, ck_min(CK_CHUNK, n - i), 1, 0, 0, mode, &mn, &mx);
    } else {
        ck_ctx f = *c;
        f.kind = CK_KIND_F32;
        float buf[CK_BLOCK];
        for (size_t i = 0; i < n; i += CK_BLOCK) {
            size_t m = ck_min(CK_BLOCK, n - i);
            c->ops->decode(c->dtype, c->swap, p + c->esize * i, m, buf);
            bad += ck_reduce(&f, (const uint8_t *)buf, m, mode, &mn, &mx);
        }
    }
    *kmin = mn;
    *kmax = mx;
    return bad;
}

/// Channels in long contiguous runs: each run reduced on its own.
static int64_t ck_runs(
    const ck_ctx *c, const uint8_t *p, size_t outer, size_t channels, size_t inner, int32_t *kmin, int32_t *kmax) {
    int64_t bad = 0;
    int mode = CK_MIXED;
    size_t run = inner * c->esize;
    for (size_t o = 0; o < outer; o++)
        for (size_t ch = 0; ch < channels; ch++, p += run)
            bad += ck_reduce(c, p, inner, &mode, &kmin[ch], &kmax[ch]);
    return bad;
}

static size_t ck_gcd(size_t a, size_t b) {
    while (b) {
        size_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/// One column block [j0, j0 + len) of `nrows` rows of `L` elements: fast pass into fresh key
/// arrays, a careful one when a non-finite value showed, then folded into the channels.
static int64_t ck_rows_block(
    const ck_ctx *c, const uint8_t *p, size_t L, size_t nrows, size_t j0, size_t len, size_t P, size_t inner,
    int32_t *amin, int32_t *amax, float *buf, int32_t *kmin, int32_t *kmax) {
    int64_t bad = 0;
    const size_t es = c->esize, stride = L * es;
    const uint8_t *q = p + j0 * es;
    int16_t *hmin = (int16_t *)amin, *hmax = (int16_t *)amax;
    int wide = c->kind == CK_KIND_F32 || c->kind == CK_KIND_GENERIC;
    if (wide) ck_keys_init(amin, amax, len);
    else
        for (size_t i = 0; i < len; i++) {
            hmin[i] = INT16_MAX;
            hmax[i] = INT16_MIN;
        }

    int nonfinite = 0;
    if (c->kind == CK_KIND_F32) {
        c->ops->rows32(q, stride, len, nrows, amin, amax);
    } else if (c->kind == CK_KIND_GENERIC) {
        for (size_t r = 0; r < nrows; r++) {
            c->ops->decode(c->dtype, c->swap, q + r * stride, len, buf);
            c->ops->rows32((const uint8_t *)buf, 0, len, 1, amin, amax);
        }
    } else {
        c->ops->rows16(q, stride, len, nrows, hmin, hmax);
    }
    if (wide) {
        for (size_t i = 0; i < len; i++) nonfinite |= (amin[i] < CK_LO32) | (amax[i] > CK_HI32);
    } else {
        for (size_t i = 0; i < len; i++) nonfinite |= (hmin[i] < c->flo) | (hmax[i] > c->fhi);
    }

    if (nonfinite) {
        if (wide) ck_keys_init(amin, amax, len);
        else
            for (size_t i = 0; i < len; i++) {
                hmin[i] = INT16_MAX;
                hmax[i] = INT16_MIN;
            }
        if (c->kind == CK_KIND_F32) {
            bad += c->ops->crows32(q, stride, len, nrows, amin, amax);
        } else if (c->kind == CK_KIND_GENERIC) {
            for (size_t r = 0; r < nrows; r++) {
                c->ops->decode(c->dtype, c->swap, q + r * stride, len, buf);
                bad += c->ops->crows32((const uint8_t *)buf, 0, len, 1, amin, amax);
            }
        } else {
            bad += c->ops->crows16(q, stride, len, nrows, c->flo, c->fhi, hmin, hmax);
        }
    }

    // Fold positions into channels: position j belongs to channel (j % P) / inner.
    size_t pos = j0 % P, ch = pos / inner, within = pos % inner;
    for (size_t i = 0; i < len; i++) {
        int32_t a, b;
        if (wide) {
            a = amin[i];
            b = amax[i];
        } else {
            a = hmin[i] == INT16_MAX ? INT32_MAX : ck_widen(c, hmin[i]);
            b = hmax[i] == INT16_MIN ? INT32_MIN : ck_widen(c, hmax[i]);
        }
        kmin[ch] = a < kmin[ch] ? a : kmin[ch];
        kmax[ch] = b > kmax[ch] ? b : kmax[ch];
        if (++within == inner) {
            within = 0;
            if (++ch * inner == P) ch = 0;
        }
    }
    return bad;
}

/// Channels that interleave at a short period (the last axis, or short runs): the tensor is seen
/// as rows of `L` elements (a multiple of the period `P = channels * inner`), reduced
/// elementwise, then each position is folded into its channel.
static int64_t ck_rows(
    const ck_ctx *c, const uint8_t *p, size_t outer, size_t channels, size_t inner, int32_t *kmin, int32_t *kmax) {
    const size_t P = channels * inner, n = outer * P, es = c->esize;
    size_t L;
    if (P >= 64) {
        L = P;
    } else {
        size_t l = P / ck_gcd(P, 16) * 16;  // lcm(P, 16): whole vectors and whole periods
        L = l * ((64 + l - 1) / l);
    }
    const size_t nrows = n / L, rem = n - nrows * L;
    const size_t V = (c->kind == CK_KIND_F16 || c->kind == CK_KIND_BF16) ? 16 : 8;

    int32_t *amin = malloc(sizeof(int32_t) * CK_COLS), *amax = malloc(sizeof(int32_t) * CK_COLS);
    float *buf = malloc(sizeof(float) * CK_COLS);
    if (!amin || !amax || !buf) abort();

    int64_t bad = 0;
    if (nrows > 0) {
        for (size_t j0 = 0; j0 < L;) {
            size_t len = ck_min(CK_COLS, L - j0);
            // Never leave a last block shorter than a vector (the vector kernels need len >= V).
            if (L - j0 - len > 0 && L - j0 - len < V) len -= V;
            bad += ck_rows_block(c, p, L, nrows, j0, len, P, inner, amin, amax, buf, kmin, kmax);
            j0 += len;
        }
    }
    // A partial last row (only when L spans several periods): element by element, carefully.
    const uint8_t *t = p + nrows * L * es;
    for (size_t i = 0; i < rem; i += CK_COLS) {
        size_t m = ck_min(CK_COLS, rem - i);
        c->ops->decode(c->dtype, c->swap, t + i * es, m, buf);
        for (size_t k = 0; k < m; k++) {
            size_t ch = ((i + k) % P) / inner;
            int32_t key = ck_key32(ck_bits_from_f32(buf[k]));
            if (key >= CK_LO32 && key <= CK_HI32) {
                kmin[ch] = key < kmin[ch] ? key : kmin[ch];
                kmax[ch] = key > kmax[ch] ? key : kmax[ch];
            } else {
                bad++;
            }
        }
    }
    free(amin);
    free(amax);
    free(buf);
    return bad;
}

int64_t ck_observe(
    int isa, int dtype, int swap, const void *data, size_t outer, size_t channels, size_t inner,
    int32_t *kmin, int32_t *kmax) {
    if (outer == 0 || channels == 0 || inner == 0) return 0;
    ck_ctx c = ck_context(isa, dtype, swap);
    const uint8_t *p = (const uint8_t *)data;
    int mode = CK_MIXED;
    if (channels == 1) return ck_reduce(&c, p, outer * inner, &mode, kmin, kmax);
    if (inner >= CK_RUN_MIN) return ck_runs(&c, p, outer, channels, inner, kmin, kmax);
    return ck_rows(&c, p, outer, channels, inner, kmin, kmax);
}

int64_t ck_count_f64_beyond_f32(int swap, const void *data, size_t n) {
    const uint8_t *p = (const uint8_t *)data;
    int64_t count = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t b = ck_ld64(p + 8 * i);
        if (swap) b = ck_bswap64(b);
        double d;
        memcpy(&d, &b, 8);
        count += isfinite(d) && isinf((float)d);
    }
    return count;
}

void ck_decode(int isa, int dtype, int swap, const void *src, size_t n, float *dst) {
    ck_select(isa)->decode(dtype, ck_esize(dtype) > 1 ? swap : 0, (const uint8_t *)src, n, dst);
}

double ck_sum_f32(int isa, const void *data, size_t n, int streams) {
    return ck_select(isa)->sum32((const uint8_t *)data, n, streams);
}
