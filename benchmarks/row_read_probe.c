/* Read-only probe of the engine's access pattern: how fast can this machine read cached rows in
 * the order the fused kernel reads them, with no arithmetic beyond a sum?
 *
 * Rows of 16,384 float32 (64 KiB, the 16,384-unit cache), 15,000 of them in 2 MiB pages, read in
 * a random permutation by batches of 256: per batch the columns are split into segments of SEG
 * columns taken by the threads in turn (dynamic), each segment swept by groups of 16 rows, tile by
 * tile (TILE columns), the next tile (or the next group's first) prefetched like the kernel does.
 * Prints per repetition the time per 64-byte line per thread in TSC ticks and the total bandwidth
 * (at the TSC rate given, default 2.445 GHz; `grep MHz /proc/cpuinfo`).
 *
 *   gcc -O2 -mavx2 -fopenmp -DSEG=1024 benchmarks/row_read_probe.c -o /tmp/row_read && /tmp/row_read 2
 *
 * -DSEG: columns per segment (1024: 4 KiB of a row); -DTILE (<= SEG); -DPFD=0: no software
 * prefetch; -DWHOLE=1 -DSEG=16384: the threads take groups of 16 rows in turn instead, each
 * over whole rows (the step's forward, bl_step). Arguments: threads, TSC GHz. Needs ~1 GiB of memory. */
#include <immintrin.h>
#include <x86intrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define ROWS 15000
#define COLS 16384
#define BATCH 256
#ifndef SEG
#define SEG 1024
#endif
#ifndef TILE
#define TILE 256
#endif
#ifndef PFD
#define PFD 1
#endif
#ifndef WHOLE
#define WHOLE 0 /* 1: the threads take groups of 16 rows in turn, each group over whole rows (SEG = COLS) */
#endif
#if SEG % TILE || COLS % SEG
#error "SEG must be a multiple of TILE and divide COLS"
#endif

int main(int argc, char **argv) {
    const int threads = argc > 1 ? atoi(argv[1]) : 2;
    const double ghz = argc > 2 ? atof(argv[2]) : 2.445;
    const size_t huge = (size_t)1 << 21, bytes = (size_t)ROWS * COLS * sizeof(float);
    float *x = aligned_alloc(huge, (bytes + huge - 1) / huge * huge);  /* a whole number of 2 MiB pages */
    int64_t *perm = malloc(sizeof(int64_t) * ROWS);
    if (!x || !perm) { fprintf(stderr, "row_read_probe: out of memory (needs %.1f GiB)\n", bytes / 1073741824.0); return 1; }
    madvise(x, bytes, MADV_HUGEPAGE);
    memset(x, 0, bytes);
    for (size_t i = 0; i < (size_t)ROWS * COLS; i += 997) x[i] = 1.0f;
    for (int i = 0; i < ROWS; i++) perm[i] = i;
    srand(1);
    for (int i = ROWS - 1; i > 0; i--) { int j = rand() % (i + 1); int64_t t = perm[i]; perm[i] = perm[j]; perm[j] = t; }
    double sink = 0.0;
    for (int rep = 0; rep < 4; rep++) {
        const unsigned long long t0 = __rdtsc();
        double total = 0.0;
        for (int b0 = 0; b0 + BATCH <= ROWS; b0 += BATCH) {
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) reduction(+ : total)
            for (int w = 0; w < (WHOLE ? BATCH / 16 : COLS / SEG); w++) {
                const int c = WHOLE ? 0 : w, g_first = WHOLE ? 16 * w : 0, g_end = WHOLE ? 16 * w + 16 : BATCH;
                __m256 a = _mm256_setzero_ps(), a2 = _mm256_setzero_ps();
                for (int g = g_first; g < g_end; g += 16)
                    for (int j0 = c * SEG; j0 < (c + 1) * SEG; j0 += TILE)
                        for (int i = 0; i < 16; i++) {
                            const float *p = x + perm[b0 + g + i] * COLS;
                            const float *next = j0 + TILE < (c + 1) * SEG ? p + j0 + TILE
                                              : g + 16 < BATCH ? x + perm[b0 + g + 16 + i] * COLS + c * SEG : p;
                            for (int j = j0; j < j0 + TILE; j += 16) {
                                if (PFD) _mm_prefetch((const char *)(next + j - j0), _MM_HINT_T0);
                                a = _mm256_add_ps(a, _mm256_load_ps(p + j));
                                a2 = _mm256_add_ps(a2, _mm256_load_ps(p + j + 8));
                            }
                        }
                float lanes[8];
                _mm256_storeu_ps(lanes, _mm256_add_ps(a, a2));
                total += lanes[0];
            }
        }
        const unsigned long long ticks = __rdtsc() - t0;
        const double lines = (double)(ROWS / BATCH * BATCH) * COLS / 16;
        printf("WHOLE %d SEG %d TILE %d PFD %d, %d threads: %.2f ticks per line per thread, %.1f GB/s\n", WHOLE, SEG, TILE, PFD, threads,
               ticks * (double)threads / lines, lines * 64 / (ticks / (ghz * 1e9)) / 1e9);
        sink += total;
    }
    return sink < 0.0;
}
