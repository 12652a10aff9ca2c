// XXH3-128 from the system's libxxhash (Debian: libxxhash-dev): batch identity at memory bandwidth.
#include <xxhash.h>
#if defined(__x86_64__) && __has_include(<xxh_x86dispatch.h>)
// Debian's build carries run-time dispatch (SSE2 / AVX2 / AVX-512); use it where it exists.
#include <xxh_x86dispatch.h>
#define CALIB_XXH3_128_UPDATE XXH3_128bits_update_dispatch
#else
#define CALIB_XXH3_128_UPDATE XXH3_128bits_update
#endif

static inline XXH_errorcode calib_xxh3_128_update(XXH3_state_t *state, const void *input, size_t length) {
    return CALIB_XXH3_128_UPDATE(state, input, length);
}
