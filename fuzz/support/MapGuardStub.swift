/// Stands in for the SIGBUS guard of Sources/CKernels (mapguard.c) in the fuzz build, which does
/// not compile the C kernels: fuzz inputs are buffers, never truncated file mappings.
struct ck_guard_state {}

func ck_guard_begin(_ data: UnsafeRawPointer?, _ count: Int) -> ck_guard_state { ck_guard_state() }

func ck_guard_end(_ previous: ck_guard_state) -> Int32 { 0 }
