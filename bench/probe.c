// The whole-process yardstick for `calib run` (calib-bench section 2): what the hardware does with
// the least work that still reads every byte. Maps each safetensors file and takes the min/max of
// every float32 tensor with AVX2, nothing else (no hash, no database), on N threads that each take
// the next file. calib-bench compiles it with the system cc and times it as a whole process, like
// `calib run`.
//
//   cc -O2 -mavx2 -pthread bench/probe.c -o probe
//   probe [-t THREADS] [-m mmap|populate|pread] [-v] FILE...
//
// -m mmap      plain mmap, pages faulted in on first touch (what calib's reader does)
// -m populate  mmap with MAP_POPULATE (the kernel maps every page up front)
// -m pread     pread into a reused 1 MiB buffer (no mapping, no page faults on file pages)
// -v           print each tensor's range (to check the probe against calib)
//
// Only the files' F32 tensors are read; the header parse is just enough for files calib-bench
// writes (a "data_offsets":[a,b] per tensor).
#define _GNU_SOURCE
#include <fcntl.h>
#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static char **files;
static int nfiles;
static atomic_int next_file;
static int mode;  // 0 mmap, 1 populate, 2 pread
static int verbose;

typedef struct {
    __m256 lo, hi;
} range8;

static void fold(range8 *r, const float *p, size_t n) {
    __m256 lo0 = r->lo, hi0 = r->hi, lo1 = r->lo, hi1 = r->hi;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 a = _mm256_loadu_ps(p + i), b = _mm256_loadu_ps(p + i + 8);
        lo0 = _mm256_min_ps(lo0, a);
        hi0 = _mm256_max_ps(hi0, a);
        lo1 = _mm256_min_ps(lo1, b);
        hi1 = _mm256_max_ps(hi1, b);
    }
    for (; i < n; i++) {
        __m256 a = _mm256_set1_ps(p[i]);
        lo0 = _mm256_min_ps(lo0, a);
        hi0 = _mm256_max_ps(hi0, a);
    }
    r->lo = _mm256_min_ps(lo0, lo1);
    r->hi = _mm256_max_ps(hi0, hi1);
}

static void finish(range8 r, float *lo, float *hi) {
    float a[8], b[8];
    _mm256_storeu_ps(a, r.lo);
    _mm256_storeu_ps(b, r.hi);
    *lo = a[0];
    *hi = b[0];
    for (int i = 1; i < 8; i++) {
        if (a[i] < *lo) *lo = a[i];
        if (b[i] > *hi) *hi = b[i];
    }
}

// The tensors' [begin, end) byte offsets relative to the data section, in header order.
static int offsets(const char *header, size_t length, uint64_t (*out)[2], int max) {
    int n = 0;
    const char *key = "\"data_offsets\":[";
    size_t k = strlen(key);
    for (size_t i = 0; i + k < length && n < max; i++) {
        if (memcmp(header + i, key, k) != 0) continue;
        char *end;
        out[n][0] = strtoull(header + i + k, &end, 10);
        out[n][1] = strtoull(end + 1, &end, 10);
        n++;
    }
    return n;
}

static void report(const char *path, int t, float lo, float hi) {
    if (verbose) printf("%s %d %.9g %.9g\n", path, t, lo, hi);
}

static void probe(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        perror(path);
        exit(1);
    }
    struct stat st;
    fstat(fd, &st);
    size_t size = (size_t)st.st_size;
    uint64_t header_length = 0;
    if (pread(fd, &header_length, 8, 0) != 8 || 8 + header_length > size) {
        fprintf(stderr, "%s: not a safetensors file\n", path);
        exit(1);
    }
    char *header = malloc(header_length);
    if (pread(fd, header, header_length, 8) != (ssize_t)header_length) exit(1);
    uint64_t spans[4096][2];
    int n = offsets(header, header_length, spans, 4096);
    free(header);
    size_t data = 8 + header_length;
    if (mode == 2) {
        static __thread float *buffer;
        const size_t window = 1 << 20;
        if (!buffer) buffer = aligned_alloc(64, window);
        for (int t = 0; t < n; t++) {
            range8 r = {_mm256_set1_ps(INFINITY), _mm256_set1_ps(-INFINITY)};
            for (uint64_t at = spans[t][0]; at < spans[t][1]; at += window) {
                size_t want = spans[t][1] - at < window ? spans[t][1] - at : window;
                if (pread(fd, buffer, want, data + at) != (ssize_t)want) exit(1);
                fold(&r, buffer, want / 4);
            }
            float lo, hi;
            finish(r, &lo, &hi);
            report(path, t, lo, hi);
        }
    } else {
        const char *base = mmap(NULL, size, PROT_READ, MAP_PRIVATE | (mode == 1 ? MAP_POPULATE : 0), fd, 0);
        if (base == MAP_FAILED) {
            perror(path);
            exit(1);
        }
        for (int t = 0; t < n; t++) {
            range8 r = {_mm256_set1_ps(INFINITY), _mm256_set1_ps(-INFINITY)};
            fold(&r, (const float *)(base + data + spans[t][0]), (spans[t][1] - spans[t][0]) / 4);
            float lo, hi;
            finish(r, &lo, &hi);
            report(path, t, lo, hi);
        }
        munmap((void *)base, size);
    }
    close(fd);
}

static void *worker(void *unused) {
    (void)unused;
    for (int i; (i = atomic_fetch_add(&next_file, 1)) < nfiles;) probe(files[i]);
    return NULL;
}

int main(int argc, char **argv) {
    int threads = 1, c;
    while ((c = getopt(argc, argv, "t:m:v")) != -1) {
        if (c == 't') threads = atoi(optarg);
        else if (c == 'v') verbose = 1;
        else if (c == 'm') mode = !strcmp(optarg, "populate") ? 1 : !strcmp(optarg, "pread") ? 2 : 0;
        else return 64;
    }
    files = argv + optind;
    nfiles = argc - optind;
    if (threads < 1) threads = 1;
    pthread_t tid[64];
    if (threads > 64) threads = 64;
    for (int i = 1; i < threads; i++) pthread_create(&tid[i], NULL, worker, NULL);
    worker(NULL);
    for (int i = 1; i < threads; i++) pthread_join(tid[i], NULL);
    return 0;
}
