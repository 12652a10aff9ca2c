// SIGBUS guard for reads of file mappings (see ckernels.h, "Mapped reads").
//
// A file that another process truncates while it is mapped makes every read of a page beyond its
// new end raise SIGBUS, which kills the process without a word. A thread that reads mapped input
// declares the range first; the handler then maps zero pages over the rest of that range (so the
// read completes, the code that was reading needs no unwinding) and records the fault, and the
// caller turns it into an error naming the file. A SIGBUS outside a guarded range is passed on to
// the handler that was installed before (the default one kills, as it did).
#define _GNU_SOURCE
#include "include/ckernels.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static __thread __attribute__((tls_model("initial-exec"))) ck_guard_state guard;
static struct sigaction previous_action;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static uintptr_t page_size;

static void on_sigbus(int sig, siginfo_t *info, void *context) {
    uintptr_t address = (uintptr_t)info->si_addr;
    int beyond_end = 1;
#if defined(__linux__)
    // BUS_ADRERR is "nonexistent physical address": a mapped page with no file behind it.
    beyond_end = info->si_code == BUS_ADRERR;
#endif
    if (beyond_end && guard.hi > guard.lo && address >= guard.lo && address < guard.hi) {
        // Pages after a page beyond the end are beyond it too: replace them all at once.
        uintptr_t start = address & ~(page_size - 1);
        uintptr_t end = (guard.hi + page_size - 1) & ~(page_size - 1);
        void *p = mmap((void *)start, end - start, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (p != MAP_FAILED) {
            guard.faulted = 1;
            return;
        }
    }
    // Not a guarded read: restore the previous disposition; the read faults again and gets it.
    sigaction(SIGBUS, &previous_action, NULL);
    (void)sig;
    (void)context;
}

static void install(void) {
    page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_sigbus;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    sigaction(SIGBUS, &action, &previous_action);
}

ck_guard_state ck_guard_begin(const void *data, size_t count) {
    pthread_once(&install_once, install);
    ck_guard_state previous = guard;
    guard.lo = (uintptr_t)data;
    guard.hi = data ? (uintptr_t)data + count : 0;
    guard.faulted = 0;
    return previous;
}

int ck_guard_end(ck_guard_state previous) {
    int faulted = guard.faulted;
    guard = previous;
    guard.faulted |= faulted;  // an enclosing guard sees its inner reads' faults too
    return faulted;
}
