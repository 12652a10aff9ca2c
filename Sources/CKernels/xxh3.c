// XXH3-128's long-input path (xxhash 0.8, default secret, seed 0), written out so that the loads it
// makes also feed the range reductions: the batch identity and the per-tensor ranges in one read of
// memory. Bit-identical to libxxhash's XXH3_128bits; the tests compare them on many lengths.
// The math follows xxhash.h (XXH3_accumulate_512, XXH3_scrambleAcc, XXH3_hashLong_128b_internal).
#include "ck_xxh3.h"

#include <string.h>

#include "ckernels.h"
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define P32_1 0x9E3779B1U
#define P32_2 0x85EBCA77U
#define P32_3 0xC2B2AE3DU
#define P64_1 0x9E3779B185EBCA87ULL
#define P64_2 0xC2B2AE3D27D4EB4FULL
#define P64_3 0x165667B19E3779F9ULL
#define P64_4 0x85EBCA77C2B2AE63ULL
#define P64_5 0x27D4EB2F165667C5ULL

enum { STRIPE = 64, STRIPES = 16, BLOCK = STRIPE * STRIPES, SECRET = 192 };

static const uint8_t secret[SECRET] __attribute__((aligned(64))) = {
    0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
    0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
    0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
    0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
    0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
    0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
    0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
    0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
    0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
    0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
    0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
    0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
};

static inline uint64_t rd64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;  // little-endian hosts only (x86-64, arm64)
}

static inline uint32_t rd32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

// MARK: - Portable

static inline void stripe_scalar(uint64_t *acc, const uint8_t *in, const uint8_t *key) {
    for (int i = 0; i < 8; i++) {
        uint64_t v = rd64(in + 8 * i), k = v ^ rd64(key + 8 * i);
        acc[i ^ 1] += v;
        acc[i] += (uint64_t)(uint32_t)k * (k >> 32);
    }
}

static inline void scramble_scalar(uint64_t *acc) {
    const uint8_t *key = secret + SECRET - STRIPE;
    for (int i = 0; i < 8; i++) {
        uint64_t a = acc[i];
        a ^= a >> 47;
        a ^= rd64(key + 8 * i);
        acc[i] = a * P32_1;
    }
}

static inline void lane_scalar(ck_lanes *l, uint32_t v) {
    int32_t s = (int32_t)v;
    if (s > l->max_s) l->max_s = s;
    if (s < l->min_s) l->min_s = s;
    if (v > l->max_u) l->max_u = v;
    if (v < l->min_u) l->min_u = v;
}

/// Reduces the lanes of every range that `[from, to)` overlaps (bytes already in cache).
static void lanes_in(const uint8_t *data, size_t from, size_t to, ck_lanes *lanes, size_t count, size_t first) {
    for (size_t k = first; k < count && lanes[k].begin < to; k++) {
        size_t a = lanes[k].begin > from ? lanes[k].begin : from, b = lanes[k].end < to ? lanes[k].end : to;
        a = (a + 3) & ~(size_t)3;  // whole lanes of the range (its begin is a multiple of 4)
        for (; a + 4 <= b; a += 4) lane_scalar(&lanes[k], rd32(data + a));
    }
}

static void block_scalar(uint64_t *acc, const uint8_t *in, ck_lanes *whole) {
    for (int s = 0; s < STRIPES; s++) stripe_scalar(acc, in + STRIPE * s, secret + 8 * s);
    scramble_scalar(acc);
    if (whole)
        for (int i = 0; i < BLOCK; i += 4) lane_scalar(whole, rd32(in + i));
}

// MARK: - AVX2

#if defined(__x86_64__)
__attribute__((target("avx2"))) static void block_avx2(uint64_t *acc, const uint8_t *in, ck_lanes *whole) {
    __m256i a0 = _mm256_loadu_si256((const __m256i *)acc), a1 = _mm256_loadu_si256((const __m256i *)(acc + 4));
    __m256i smax = _mm256_set1_epi32(INT32_MIN), smin = _mm256_set1_epi32(INT32_MAX);
    __m256i umax = _mm256_setzero_si256(), umin = _mm256_set1_epi32(-1);
#define CK_STRIPE_HALF(A, V, K)                                                                  \
    do {                                                                                         \
        __m256i dk = _mm256_xor_si256(V, K);                                                     \
        __m256i prod = _mm256_mul_epu32(dk, _mm256_shuffle_epi32(dk, 0x31));                     \
        A = _mm256_add_epi64(A, _mm256_add_epi64(prod, _mm256_shuffle_epi32(V, 0x4E)));          \
    } while (0)
    if (whole) {
        for (int s = 0; s < STRIPES; s++) {
            const uint8_t *p = in + STRIPE * s, *k = secret + 8 * s;
            __m256i v0 = _mm256_loadu_si256((const __m256i *)p), v1 = _mm256_loadu_si256((const __m256i *)(p + 32));
            CK_STRIPE_HALF(a0, v0, _mm256_loadu_si256((const __m256i *)k));
            CK_STRIPE_HALF(a1, v1, _mm256_loadu_si256((const __m256i *)(k + 32)));
            smax = _mm256_max_epi32(smax, _mm256_max_epi32(v0, v1));
            smin = _mm256_min_epi32(smin, _mm256_min_epi32(v0, v1));
            umax = _mm256_max_epu32(umax, _mm256_max_epu32(v0, v1));
            umin = _mm256_min_epu32(umin, _mm256_min_epu32(v0, v1));
        }
        int32_t b[8];
        uint32_t c[8];
        _mm256_storeu_si256((__m256i *)b, smax);
        for (int i = 0; i < 8; i++) whole->max_s = b[i] > whole->max_s ? b[i] : whole->max_s;
        _mm256_storeu_si256((__m256i *)b, smin);
        for (int i = 0; i < 8; i++) whole->min_s = b[i] < whole->min_s ? b[i] : whole->min_s;
        _mm256_storeu_si256((__m256i *)c, umax);
        for (int i = 0; i < 8; i++) whole->max_u = c[i] > whole->max_u ? c[i] : whole->max_u;
        _mm256_storeu_si256((__m256i *)c, umin);
        for (int i = 0; i < 8; i++) whole->min_u = c[i] < whole->min_u ? c[i] : whole->min_u;
    } else {
        for (int s = 0; s < STRIPES; s++) {
            const uint8_t *p = in + STRIPE * s, *k = secret + 8 * s;
            __m256i v0 = _mm256_loadu_si256((const __m256i *)p), v1 = _mm256_loadu_si256((const __m256i *)(p + 32));
            CK_STRIPE_HALF(a0, v0, _mm256_loadu_si256((const __m256i *)k));
            CK_STRIPE_HALF(a1, v1, _mm256_loadu_si256((const __m256i *)(k + 32)));
        }
    }
#undef CK_STRIPE_HALF
    // Scramble.
    const __m256i prime = _mm256_set1_epi32((int)P32_1);
    const uint8_t *key = secret + SECRET - STRIPE;
    __m256i *acc2[2] = {&a0, &a1};
    for (int i = 0; i < 2; i++) {
        __m256i a = *acc2[i];
        __m256i dk = _mm256_xor_si256(_mm256_xor_si256(a, _mm256_srli_epi64(a, 47)),
                                      _mm256_loadu_si256((const __m256i *)(key + 32 * i)));
        __m256i lo = _mm256_mul_epu32(dk, prime), hi = _mm256_mul_epu32(_mm256_shuffle_epi32(dk, 0x31), prime);
        *acc2[i] = _mm256_add_epi64(lo, _mm256_slli_epi64(hi, 32));
    }
    _mm256_storeu_si256((__m256i *)acc, a0);
    _mm256_storeu_si256((__m256i *)(acc + 4), a1);
}
#endif

// MARK: - Driver

void ck_lanes_init(ck_lanes *lanes, size_t begin, size_t end) {
    lanes->begin = begin;
    lanes->end = end;
    lanes->max_s = INT32_MIN;
    lanes->min_s = INT32_MAX;
    lanes->max_u = 0;
    lanes->min_u = UINT32_MAX;
}

void ck_xxh3_begin(ck_xxh3 *s, int isa) {
    static const uint64_t init[8] = {P32_3, P64_1, P64_2, P64_3, P64_4, P32_2, P64_5, P32_1};
    memcpy(s->acc, init, sizeof init);
    s->done = 0;
    s->segment = 0;
    s->isa = isa < 0 ? ck_best_isa() : isa;
}

void ck_xxh3_update(ck_xxh3 *s, const uint8_t *data, size_t length, size_t upto, ck_lanes *lanes, size_t count) {
    size_t blocks = (length - 1) / BLOCK;  // XXH3 leaves the block with the last byte to the end
    if (upto > blocks * BLOCK) upto = blocks * BLOCK;
    while (s->done + BLOCK <= upto) {
        size_t at = s->done;
        while (s->segment < count && lanes[s->segment].end <= at) s->segment++;
        ck_lanes *l = s->segment < count ? &lanes[s->segment] : NULL;
        ck_lanes *whole = l && l->begin <= at && at + BLOCK <= l->end ? l : NULL;
#if defined(__x86_64__)
        if (s->isa >= CK_ISA_AVX2) block_avx2(s->acc, data + at, whole);
        else
#endif
            block_scalar(s->acc, data + at, whole);
        if (!whole && l && l->begin < at + BLOCK) lanes_in(data, at, at + BLOCK, lanes, count, s->segment);
        s->done = at + BLOCK;
    }
}

static uint64_t mul128_fold64(uint64_t a, uint64_t b) {
    __uint128_t p = (__uint128_t)a * b;
    return (uint64_t)p ^ (uint64_t)(p >> 64);
}

static uint64_t avalanche(uint64_t h) {
    h ^= h >> 37;
    h *= 0x165667919E3779F9ULL;
    return h ^ (h >> 32);
}

static uint64_t merge(const uint64_t *acc, const uint8_t *key, uint64_t start) {
    uint64_t r = start;
    for (int i = 0; i < 4; i++) r += mul128_fold64(acc[2 * i] ^ rd64(key + 16 * i), acc[2 * i + 1] ^ rd64(key + 16 * i + 8));
    return avalanche(r);
}

void ck_xxh3_finish(
    ck_xxh3 *s, const uint8_t *data, size_t length, ck_lanes *lanes, size_t count, uint64_t *low, uint64_t *high) {
    ck_xxh3_update(s, data, length, length, lanes, count);
    size_t at = s->done;
    // The last (partial) block: its whole stripes, then the input's last 64 bytes.
    size_t stripes = ((length - 1) - at) / STRIPE;
    for (size_t n = 0; n < stripes; n++) stripe_scalar(s->acc, data + at + STRIPE * n, secret + 8 * n);
    stripe_scalar(s->acc, data + length - STRIPE, secret + SECRET - STRIPE - 7);
    while (s->segment < count && lanes[s->segment].end <= at) s->segment++;
    lanes_in(data, at, length, lanes, count, s->segment);
    *low = merge(s->acc, secret + 11, (uint64_t)length * P64_1);
    *high = merge(s->acc, secret + SECRET - 64 - 11, ~((uint64_t)length * P64_2));
}
