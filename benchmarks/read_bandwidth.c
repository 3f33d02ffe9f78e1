/* Attainable read bandwidth for benchmarks/engine_speed.py's bound: the sum of n floats read by
 * `threads` threads in 4,096-float chunks, vectorised by the compiler (-O3 -march=native), with
 * four independent accumulators per thread so the adds never wait on each other. */
#include <stdint.h>

double bl_read_sum(const float *x, int64_t n, int threads) {
    double total = 0.0;
    if (threads < 1) threads = 1;
#pragma omp parallel for num_threads(threads) reduction(+ : total) schedule(static)
    for (int64_t i0 = 0; i0 < n; i0 += 4096) {
        const int64_t i1 = i0 + 4096 < n ? i0 + 4096 : n;
        float part[4][16] = {{0.0f}};
        int64_t i = i0;
        for (; i + 64 <= i1; i += 64)
            for (int a = 0; a < 4; a++)
                for (int u = 0; u < 16; u++) part[a][u] += x[i + 16 * a + u];
        float sum = 0.0f;
        for (int a = 0; a < 4; a++)
            for (int u = 0; u < 16; u++) sum += part[a][u];
        for (; i < i1; i++) sum += x[i];
        total += sum;
    }
    return total;
}
