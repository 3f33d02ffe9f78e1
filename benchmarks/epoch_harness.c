/* Epochs of the fused kernel (bl_epoch) on R distinct cached rows, with no Python around it: is
 * an epoch bound by reading the rows, or by the arithmetic?
 *
 * R random rows of 16,384 float32 (64 KiB each, asked for in 2 MiB pages like the engine's cache),
 * K = 10 outputs, cross entropy, batch 256, Adam on the biases; COUNT samples per epoch drawn at
 * random from the R rows. With R = 16 the rows fit in L3 (1 MiB), with R = 4096 (256 MiB) they come
 * from memory; if both take the same time per row, the epoch is not bound by the row reads.
 * Prints per epoch the wall time, the TSC ticks per row and 16 columns per thread (at the TSC
 * rate given, default 2.445 GHz; `grep MHz /proc/cpuinfo`) and the epoch's first batch's mean loss
 * (near ln 10 = 2.30 in the first epoch: 10 random labels, a small readout; it falls as the
 * biases learn).
 *
 *   gcc -O3 -fno-math-errno -fopenmp -march=native -Ibiaslearn/engine benchmarks/epoch_harness.c \
 *       -o /tmp/epoch_harness -lm && /tmp/epoch_harness 16 15360 1 && /tmp/epoch_harness 4096 15360 1
 *
 * Arguments: R, COUNT, threads, TSC GHz. Per-phase times (forward, barrier, bias pass) need TSC
 * counters in step_blocked: docs/benchmark-runs/phase_ticks-2026-12-01.patch adds them to a
 * scratch copy of fused.c (printed at exit). */
#include "fused.c"
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>

#define UNITS 16384
#define OUTPUTS 10
#define BATCH 256

static uint64_t state = 1;
static uint32_t draw(void) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(state >> 33); /* 31 bits: [0, 2^31) */
}

int main(int argc, char **argv) {
    const int64_t R = argc > 1 ? atoll(argv[1]) : 16, count = argc > 2 ? atoll(argv[2]) : 15360;
    const int threads = argc > 3 ? atoi(argv[3]) : 1;
    const double ghz = argc > 4 ? atof(argv[4]) : 2.445;
    if (R < 1 || count < 1 || threads < 1) {
        fprintf(stderr, "usage: epoch_harness R COUNT THREADS [TSC_GHZ]  (R, COUNT, THREADS >= 1)\n");
        return 2;
    }
    const int64_t N = UNITS, K = OUTPUTS, page = 2 << 20, row_bytes = (4 * R * N + page - 1) / page * page;
    float *rows = aligned_alloc(page, row_bytes);
    if (rows) madvise(rows, row_bytes, MADV_HUGEPAGE);  /* before the first write; ignored where THP is off */
    int64_t *order = malloc(sizeof(int64_t) * count), *labels = malloc(sizeof(int64_t) * R);
    float *b = calloc(N, 4), *cs = malloc(4 * K * N), *c = calloc(K, 4);
    float *param = calloc(N, 4), *m = calloc(N, 4), *v = calloc(N, 4), *gb = calloc(N, 4), *gc = calloc(K, 4);
    double *losses = calloc(count / BATCH + 2, sizeof(double));
    const int64_t work_floats = (bl_workspace(BATCH, N, K, threads) + 15) / 16 * 16;
    float *work = aligned_alloc(64, 4 * work_floats);
    if (!rows || !order || !labels || !b || !cs || !c || !param || !m || !v || !gb || !gc || !losses || !work) {
        fprintf(stderr, "epoch_harness: out of memory for %lld rows\n", (long long)R);
        return 1;
    }
    for (int64_t i = 0; i < R * N; i++) rows[i] = draw() / 1073741824.0f - 1.0f;
    for (int64_t i = 0; i < count; i++) order[i] = draw() % R;
    for (int64_t i = 0; i < R; i++) labels[i] = draw() % K;
    for (int64_t i = 0; i < K * N; i++) cs[i] = (draw() / 1073741824.0f - 1.0f) * 0.01f;
    float step = 0.0f;
    Net net = {b, cs, c, labels, NULL, param, m, v, &step, {1e-3, 0.9, 0.999, 1e-8, 0.0},
               NULL, NULL, NULL, NULL, {0.0}, gb, gc, losses, work};
    for (int rep = 0; rep < 4; rep++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        bl_epoch(rows, N, 0, order, count, BATCH, N, K, N, 0, &net, 1, threads);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        const double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        printf("R=%lld count=%lld threads=%d: %.4f s, %.2f ticks per row and 16 columns per thread, first batch's loss %.4f\n",
               (long long)R, (long long)count, threads, s, s * ghz * 1e9 * threads / ((double)count * (N / 16.0)), losses[0]);
    }
    return 0;
}
