#ifndef CK_HISTOGRAM_H
#define CK_HISTOGRAM_H
#include <stddef.h>
#include <stdint.h>

/// calib's canonical histogram (CalibModel `CanonicalHistogram`): a float32 value's bin is its bit
/// pattern shifted right by `shift` (23 - mantissa bits). Counting adds 1 to `table[bits >> shift]`
/// for each of the `n` little-endian float32 values at `data` (any alignment); `table` holds
/// `2^(32 - shift)` counters. Non-finite values land in the bins of exponent 255, which the drain
/// skips. Counts are 32-bit: the caller counts at most `CK_HIST_MAX_RUN` values between drains.
///
/// `*lo`/`*hi` narrow to the smallest and largest magnitude bin counted (`(bits & 0x7fffffff) >>
/// shift`; zeros, bin 0, are left out of `*lo`), so a drain scans only the bins between.
enum { CK_HIST_MAX_RUN = 1 << 30 };
void ck_hist_count_f32(int isa, const void *data, size_t n, unsigned shift, uint32_t *table, uint32_t *lo, uint32_t *hi);

/// Appends the non-zero counters of `table[from ..< to]` to `bins`/`counts` (ascending) and zeroes
/// them; returns how many were appended (at most `to - from`).
size_t ck_hist_drain(uint32_t *table, uint32_t from, uint32_t to, uint32_t *bins, uint64_t *counts);

#endif
