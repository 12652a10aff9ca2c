#ifndef CK_XXH3_H
#define CK_XXH3_H
#include <stddef.h>
#include <stdint.h>

/// XXH3-128 (default secret, seed 0: what `xxh128sum` prints) of a whole mapped input, taken with the
/// 32-bit lanes of chosen byte ranges reduced in the same loads, so a batch's bytes are read once for
/// its identity and its per-tensor ranges. Only for inputs longer than `CK_XXH3_MIN` bytes (shorter
/// ones take another path in XXH3; the caller hashes them with libxxhash).
enum { CK_XXH3_MIN = 241 };

/// A byte range of the input whose little-endian 32-bit lanes are reduced: `begin` and `end - begin`
/// are multiples of 4. The four reductions of the raw bit patterns give a float32 tensor's exact
/// total-order min/max when every value is finite (see `RangeAccumulator`), and show when one is not.
typedef struct {
    size_t begin, end;
    int32_t max_s, min_s;
    uint32_t max_u, min_u;
} ck_lanes;

/// Empty reductions.
void ck_lanes_init(ck_lanes *lanes, size_t begin, size_t end);

/// The hash state: XXH3's eight accumulators and the bytes consumed (whole 1024-byte blocks).
typedef struct {
    uint64_t acc[8];
    size_t done;
    size_t segment;  // the first of `lanes` not yet wholly reduced
    int isa;
} ck_xxh3;

void ck_xxh3_begin(ck_xxh3 *state, int isa);

/// Consumes the whole blocks of `data[state->done ..< upto)` that come before the block holding the
/// input's last byte, reducing the lanes of `lanes` (sorted by `begin`, disjoint) they hold.
void ck_xxh3_update(ck_xxh3 *state, const uint8_t *data, size_t length, size_t upto, ck_lanes *lanes, size_t count);

/// Consumes the rest and returns the hash (`low`, `high` as `XXH128_hash_t`).
void ck_xxh3_finish(
    ck_xxh3 *state, const uint8_t *data, size_t length, ck_lanes *lanes, size_t count, uint64_t *low, uint64_t *high);

#endif
