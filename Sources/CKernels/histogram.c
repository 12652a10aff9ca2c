// Counting for calib's canonical histogram: a bin per float32 bit-pattern prefix, so the work per
// value is a shift and an increment, plus the magnitude bounds that keep drains short.
#include "ck_histogram.h"
#include "ckernels.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

static void count_portable(const uint8_t *p, size_t n, unsigned shift, uint32_t *table, uint32_t *lo, uint32_t *hi) {
    uint32_t mn = *lo, mx = *hi;
    for (size_t i = 0; i < n; i++) {
        uint32_t b;
        memcpy(&b, p + 4 * i, 4);
        table[b >> shift]++;
        uint32_t m = (b & 0x7fffffffu) >> shift;
        if (m > mx) mx = m;
        if (m && m < mn) mn = m;
    }
    *lo = mn;
    *hi = mx;
}

#if defined(__x86_64__)
// Per chunk of 4096 values (16 KiB, in L1 once loaded): the magnitude bounds in AVX2 first, then the
// increments, four indices computed before their four increments. Measured on this machine (1 core,
// 256 MiB of activation-like values, 11 mantissa bits): 4.7-6.2 GB/s, where bounds computed beside
// each increment gave 3.6-4.1 and plain one-at-a-time increments without bounds 4.3-5.0.
__attribute__((target("avx2"))) static void count_avx2(
    const uint8_t *p, size_t n, unsigned shift, uint32_t *table, uint32_t *lo, uint32_t *hi) {
    const __m256i abs = _mm256_set1_epi32(0x7fffffff);
    const __m256i zero = _mm256_setzero_si256();
    __m256i mn = _mm256_set1_epi32(-1), mx = zero;
    size_t done = 0;
    while (done + 8 <= n) {
        size_t end = done + 4096 <= n ? done + 4096 : n & ~(size_t)7;
        for (size_t i = done; i < end; i += 8) {
            __m256i a = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(p + 4 * i)), abs);
            mx = _mm256_max_epu32(mx, a);
            // Zeros become all-ones, so they never lower the minimum.
            mn = _mm256_min_epu32(mn, _mm256_or_si256(a, _mm256_cmpeq_epi32(a, zero)));
        }
        size_t j = done;
        for (; j + 4 <= end; j += 4) {
            uint32_t b[4];
            memcpy(b, p + 4 * j, 16);
            uint32_t i0 = b[0] >> shift, i1 = b[1] >> shift, i2 = b[2] >> shift, i3 = b[3] >> shift;
            table[i0]++;
            table[i1]++;
            table[i2]++;
            table[i3]++;
        }
        for (; j < end; j++) {
            uint32_t b;
            memcpy(&b, p + 4 * j, 4);
            table[b >> shift]++;
        }
        done = end;
    }
    uint32_t lanes[8];
    uint32_t l = UINT32_MAX, h = 0;
    _mm256_storeu_si256((__m256i *)lanes, mn);
    for (int k = 0; k < 8; k++) if (lanes[k] < l) l = lanes[k];
    _mm256_storeu_si256((__m256i *)lanes, mx);
    for (int k = 0; k < 8; k++) if (lanes[k] > h) h = lanes[k];
    if (h > 0 || l != UINT32_MAX) {
        // Bounds were taken on magnitudes; bins are their top bits (monotonic, so the same order).
        if (l != UINT32_MAX && (l >> shift) < *lo) *lo = l >> shift;
        if ((h >> shift) > *hi) *hi = h >> shift;
    }
    count_portable(p + 4 * done, n - done, shift, table, lo, hi);
}
#endif

void ck_hist_count_f32(int isa, const void *data, size_t n, unsigned shift, uint32_t *table, uint32_t *lo, uint32_t *hi) {
    if (isa == CK_ISA_BEST) isa = ck_best_isa();
#if defined(__x86_64__)
    if (isa == CK_ISA_AVX2) {
        count_avx2((const uint8_t *)data, n, shift, table, lo, hi);
        return;
    }
#endif
    count_portable((const uint8_t *)data, n, shift, table, lo, hi);
}

size_t ck_hist_drain(uint32_t *table, uint32_t from, uint32_t to, uint32_t *bins, uint64_t *counts) {
    size_t k = 0;
    uint32_t i = from;
    // Most of a range is empty: skip zeros 8 at a time.
    for (; i < to && (i & 7); i++) {
        if (table[i]) { bins[k] = i; counts[k++] = table[i]; table[i] = 0; }
    }
    for (; i + 8 <= to; i += 8) {
        uint64_t w[4];
        memcpy(w, table + i, 32);
        if ((w[0] | w[1] | w[2] | w[3]) == 0) continue;
        for (uint32_t j = i; j < i + 8; j++) {
            if (table[j]) { bins[k] = j; counts[k++] = table[j]; table[j] = 0; }
        }
    }
    for (; i < to; i++) {
        if (table[i]) { bins[k] = i; counts[k++] = table[i]; table[i] = 0; }
    }
    return k;
}
