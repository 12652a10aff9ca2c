#ifndef CKERNELS_H
#define CKERNELS_H
#include <stddef.h>
#include <stdint.h>

/// Version of the kernel ABI; bumped when a signature changes.
#define CKERNELS_VERSION 2

int ckernels_version(void);

/// Element types, in the order of CalibKit's `DType` cases as mapped by `RangeKernel`.
enum {
    CK_F32 = 0,
    CK_F16 = 1,
    CK_BF16 = 2,
    CK_F64 = 3,
    CK_I8 = 4,
    CK_U8 = 5,
    CK_I16 = 6,
    CK_U16 = 7,
    CK_I32 = 8,
    CK_U32 = 9,
    CK_I64 = 10,
    CK_U64 = 11,
    CK_BOOL = 12,
};

/// Instruction sets. `CK_ISA_BEST` picks the best one this CPU supports (decided once, by CPUID).
enum {
    CK_ISA_BEST = -1,
    /// Plain C, vectorised by the compiler for the baseline target (SSE2 on x86-64, NEON on arm64).
    CK_ISA_PORTABLE = 0,
    /// x86-64 AVX2 (+FMA, F16C), hand-written intrinsics.
    CK_ISA_AVX2 = 1,
};

/// The instruction set `CK_ISA_BEST` resolves to on this machine.
int ck_best_isa(void);
/// A short name of an instruction set ("avx2", "portable").
const char *ck_isa_name(int isa);

/// Range accumulators live in the *key* domain: the float32 bit pattern `b` mapped to the signed
/// integer `b ^ ((b >> 31) >>> 1)`, which orders every float totally (-NaN < -inf < finite < +inf <
/// +NaN, and -0 < +0). Min/max in this domain is exact, independent of evaluation order, and lets the
/// fast path detect a non-finite value for free: it shows up as a key outside the finite range.
///
/// An empty accumulator is `kmin = INT32_MAX`, `kmax = INT32_MIN` (`ck_keys_init`).
void ck_keys_init(int32_t *kmin, int32_t *kmax, size_t channels);

/// Folds `b` into `a` (channel-wise min of `kmin`, max of `kmax`).
void ck_keys_merge(int32_t *kmin, int32_t *kmax, const int32_t *bmin, const int32_t *bmax, size_t channels);

/// Converts accumulators to floats in place of `mins`/`maxs`: a channel that saw no finite value
/// gets `+inf`/`-inf`. `mins`/`maxs` may alias `kmin`/`kmax`.
void ck_keys_finish(const int32_t *kmin, const int32_t *kmax, float *mins, float *maxs, size_t channels);

/// Observes `outer * channels * inner` elements laid out `[outer, channels, inner]` in memory
/// order, starting at `data` (any alignment), of element type `dtype`, byte-swapped when `swap`.
/// Each element is converted to float32 (as CalibKit's decoder does) and folded into the finite
/// range of its channel, `kmin[c]`/`kmax[c]`, which must be initialised (`ck_keys_init`) or hold an
/// earlier partial result. Returns the number of NaN/±Inf elements (after conversion), which are
/// left out of the ranges. `isa` is `CK_ISA_BEST` in production; tests force each path.
int64_t ck_observe(
    int isa, int dtype, int swap, const void *data, size_t outer, size_t channels, size_t inner,
    int32_t *kmin, int32_t *kmax);

/// Counts the finite float64 values among `n` at `data` (any alignment, byte-swapped when `swap`)
/// that float32 cannot hold: they convert to ±inf, so `ck_observe` counts them with NaN/±Inf. The
/// caller runs it only on a float64 tensor that `ck_observe` found non-finite values in, so other
/// dtypes, and float64 tensors without such values, pay nothing.
int64_t ck_count_f64_beyond_f32(int swap, const void *data, size_t n);

/// Converts `n` elements at `src` to float32 (the decoder behind every non-native path).
void ck_decode(int isa, int dtype, int swap, const void *src, size_t n, float *dst);

/// Sum of `n` float32 values (any alignment), vectorised: the read-bandwidth yardstick of the
/// benchmark (it reads every byte and does the least work per byte). `streams` 2 reads both halves
/// at once (AVX2 only), which keeps two hardware prefetch streams going: one core reads faster so.
double ck_sum_f32(int isa, const void *data, size_t n, int streams);

/// Tuning knobs, exposed for the benchmark and tests: the shortest contiguous run per channel
/// (in elements) observed run by run; shorter runs are observed row-wise.
size_t ck_run_min(void);

/// Mapped reads. A thread about to read file-mapped bytes in `[data, data + count)` calls
/// `ck_guard_begin`; if another process truncates the file meanwhile, a read beyond its new end
/// raises SIGBUS, and instead of the process dying the pages from there to the end of the range
/// are replaced by zero pages, so the read completes. `ck_guard_end` restores the previous guard
/// and returns nonzero when that happened: the caller must then discard what it read and report
/// the file. The SIGBUS handler is installed on the first call; a SIGBUS anywhere else is passed on
/// to the handler installed before it.
typedef struct {
    uintptr_t lo, hi;
    int faulted;
} ck_guard_state;

ck_guard_state ck_guard_begin(const void *data, size_t count);
int ck_guard_end(ck_guard_state previous);

#endif
