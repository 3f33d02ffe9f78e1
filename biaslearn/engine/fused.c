/* Fused bias-learning kernel for one-hidden-layer ReLU networks on cached rows.
 *
 * Per row r of a batch (P row p_r, padded to npad, a multiple of 16, zero padding):
 *   h = relu(p_r + b);  out = Cs h + c;  dout = dL/dout (cross entropy or mse, batch mean)
 *   gb += [h > 0] * (Cs^T dout);  G += dout (x) h;  gc += dout
 * Each row is read once from memory; the forward pass keeps h for the backward pass in a
 * per-thread buffer that stays in cache. Two rows are processed together so every readout
 * value loaded feeds two FMAs. Rows are split over OpenMP threads within the batch; per-thread
 * gradient accumulators are reduced at the end of the batch.
 * Build: gcc -O3 -fopenmp [-march=native] -shared -fPIC. Without AVX-512 the portable C loops
 * are used (same results to float tolerance). See biaslearn/engine/torch_kernel.py for the
 * reference equations. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__AVX512F__) && defined(__AVX512BW__)
#include <immintrin.h>
#define BL_AVX512 1
#else
#define BL_AVX512 0
#endif

#define KMAX 16   /* outputs handled by the register-blocked AVX-512 path */
#define KLIMIT 64 /* outputs handled at all */

typedef struct {
    const void *rows; int64_t ld; int bf16;
    const int64_t *index; int64_t batch;
    const float *b, *cs, *c; int64_t npad, k;
    int loss_kind; const int64_t *labels; const float *targets;
    int want_gb, want_g;
} Step;

int bl_has_avx512(void) { return BL_AVX512; }

static inline float bf16_value(const uint16_t *p, int64_t j) {
    uint32_t u = (uint32_t)p[j] << 16; float f; memcpy(&f, &u, 4); return f;
}

/* dL/dout for one row from its logits; returns the row's loss (sum over outputs for mse). */
static double row_loss(const Step *s, int64_t r, const float *out, float *dout) {
    int64_t K = s->k;
    if (s->loss_kind == 0) {
        double m = out[0];
        for (int64_t k = 1; k < K; k++) if (out[k] > m) m = out[k];
        double z = 0.0;
        for (int64_t k = 0; k < K; k++) z += exp((double)out[k] - m);
        double lz = m + log(z);
        int64_t y = s->labels[r];
        for (int64_t k = 0; k < K; k++) dout[k] = (float)(exp((double)out[k] - lz) / (double)s->batch);
        dout[y] -= (float)(1.0 / (double)s->batch);
        return lz - out[y];
    }
    double total = 0.0, scale = 2.0 / ((double)s->batch * (double)K);
    for (int64_t k = 0; k < K; k++) {
        double d = (double)out[k] - s->targets[r * K + k];
        total += d * d; dout[k] = (float)(scale * d);
    }
    return total;
}

static const void *row_ptr(const Step *s, int64_t i) {
    return s->bf16 ? (const void *)((const uint16_t *)s->rows + i * s->ld)
                   : (const void *)((const float *)s->rows + i * s->ld);
}

/* ---------------- portable path: one row at a time ---------------- */
static void forward_row_portable(const Step *s, const void *p, float *h, float *out) {
    int64_t N = s->npad, K = s->k;
    for (int64_t j = 0; j < N; j++) {
        float v = (s->bf16 ? bf16_value((const uint16_t *)p, j) : ((const float *)p)[j]) + s->b[j];
        h[j] = v > 0.0f ? v : 0.0f;
    }
    for (int64_t k = 0; k < K; k++) {
        const float *ck = s->cs + k * N; float acc = 0.0f;
        for (int64_t j = 0; j < N; j++) acc += h[j] * ck[j];
        out[k] = acc + s->c[k];
    }
}

static void backward_row_portable(const Step *s, const float *h, const float *dout, float *gb, float *g) {
    int64_t N = s->npad, K = s->k;
    if (s->want_gb)
        for (int64_t j = 0; j < N; j++) {
            if (h[j] > 0.0f) {
                float d = 0.0f;
                for (int64_t k = 0; k < K; k++) d += dout[k] * s->cs[k * N + j];
                gb[j] += d;
            }
        }
    if (s->want_g)
        for (int64_t k = 0; k < K; k++) {
            float *gk = g + k * N; float dk = dout[k];
            for (int64_t j = 0; j < N; j++) gk[j] += dk * h[j];
        }
}

#if BL_AVX512
static inline __m512 load_row(const void *p, int bf16, int64_t j) {
    if (bf16) {
        __m256i v = _mm256_loadu_si256((const __m256i *)((const uint16_t *)p + j));
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(v), 16));
    }
    return _mm512_loadu_ps((const float *)p + j);
}

/* Two rows at once; K is a compile-time constant after inlining (see the dispatch below). */
static inline __attribute__((always_inline)) void pair_forward(const Step *s, const int K, const void *p0, const void *p1,
                                                               float *h0b, float *h1b, float *out0, float *out1, int store) {
    const int64_t N = s->npad; const int bf = s->bf16;
    __m512 a0[KMAX], a1[KMAX];
    const __m512 zero = _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int k = 0; k < K; k++) { a0[k] = zero; a1[k] = zero; }
    for (int64_t j = 0; j < N; j += 16) {
        __m512 bj = _mm512_loadu_ps(s->b + j);
        __m512 h0 = _mm512_max_ps(_mm512_add_ps(load_row(p0, bf, j), bj), zero);
        __m512 h1 = _mm512_max_ps(_mm512_add_ps(load_row(p1, bf, j), bj), zero);
        if (store) { _mm512_store_ps(h0b + j, h0); _mm512_store_ps(h1b + j, h1); }
#pragma GCC unroll 16
        for (int k = 0; k < K; k++) {
            __m512 ck = _mm512_loadu_ps(s->cs + k * N + j);
            a0[k] = _mm512_fmadd_ps(h0, ck, a0[k]);
            a1[k] = _mm512_fmadd_ps(h1, ck, a1[k]);
        }
    }
#pragma GCC unroll 16
    for (int k = 0; k < K; k++) {
        out0[k] = _mm512_reduce_add_ps(a0[k]) + s->c[k];
        out1[k] = _mm512_reduce_add_ps(a1[k]) + s->c[k];
    }
}

static inline __attribute__((always_inline)) void pair_backward(const Step *s, const int K, const float *h0b, const float *h1b,
                                                                const float *d0, const float *d1, float *gb, float *g) {
    const int64_t N = s->npad;
    __m512 e0[KMAX], e1[KMAX];
#pragma GCC unroll 16
    for (int k = 0; k < K; k++) { e0[k] = _mm512_set1_ps(d0[k]); e1[k] = _mm512_set1_ps(d1[k]); }
    if (s->want_gb)
        for (int64_t j = 0; j < N; j += 16) {
            __m512 h0 = _mm512_load_ps(h0b + j), h1 = _mm512_load_ps(h1b + j);
            __mmask16 m0 = _mm512_test_epi32_mask(_mm512_castps_si512(h0), _mm512_castps_si512(h0));
            __mmask16 m1 = _mm512_test_epi32_mask(_mm512_castps_si512(h1), _mm512_castps_si512(h1));
            __m512 c0 = _mm512_loadu_ps(s->cs + j);
            __m512 s0 = _mm512_mul_ps(e0[0], c0), s1 = _mm512_mul_ps(e1[0], c0);
#pragma GCC unroll 16
            for (int k = 1; k < K; k++) {
                __m512 ck = _mm512_loadu_ps(s->cs + k * N + j);
                s0 = _mm512_fmadd_ps(e0[k], ck, s0);
                s1 = _mm512_fmadd_ps(e1[k], ck, s1);
            }
            __m512 acc = _mm512_load_ps(gb + j);
            acc = _mm512_mask_add_ps(acc, m0, acc, s0);
            acc = _mm512_mask_add_ps(acc, m1, acc, s1);
            _mm512_store_ps(gb + j, acc);
        }
    if (s->want_g)
        for (int64_t j = 0; j < N; j += 16) {
            __m512 h0 = _mm512_load_ps(h0b + j), h1 = _mm512_load_ps(h1b + j);
#pragma GCC unroll 16
            for (int k = 0; k < K; k++) {
                float *gk = g + k * N + j;
                __m512 acc = _mm512_load_ps(gk);
                acc = _mm512_fmadd_ps(e0[k], h0, acc);
                acc = _mm512_fmadd_ps(e1[k], h1, acc);
                _mm512_store_ps(gk, acc);
            }
        }
}

#define BL_PAIR_CASES(X) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16)
#define BL_FWD_FN(K) static void pair_forward_##K(const Step *s, const void *p0, const void *p1, float *a, float *b, float *o0, float *o1, int st) { pair_forward(s, K, p0, p1, a, b, o0, o1, st); }
#define BL_BWD_FN(K) static void pair_backward_##K(const Step *s, const float *a, const float *b, const float *d0, const float *d1, float *gb, float *g) { pair_backward(s, K, a, b, d0, d1, gb, g); }
BL_PAIR_CASES(BL_FWD_FN)
BL_PAIR_CASES(BL_BWD_FN)
typedef void (*fwd_fn)(const Step *, const void *, const void *, float *, float *, float *, float *, int);
typedef void (*bwd_fn)(const Step *, const float *, const float *, const float *, const float *, float *, float *);
#define BL_FWD_PTR(K) pair_forward_##K,
#define BL_BWD_PTR(K) pair_backward_##K,
static const fwd_fn FWD[KMAX] = {BL_PAIR_CASES(BL_FWD_PTR)};
static const bwd_fn BWD[KMAX] = {BL_PAIR_CASES(BL_BWD_PTR)};
#endif

static int use_pairs(const Step *s) { return BL_AVX512 && s->k <= KMAX; }

/* Work on rows [r0, r1) of the batch with this thread's accumulators. */
static double step_rows(const Step *s, int64_t r0, int64_t r1, float *hbuf, float *gb, float *g, float *gc) {
    double loss = 0.0; float out0[KLIMIT], out1[KLIMIT], d0[KLIMIT], d1[KLIMIT];
    const int64_t N = s->npad, K = s->k;
    if (K > KLIMIT) return NAN;
#if BL_AVX512
    if (use_pairs(s)) {
        for (int64_t r = r0; r < r1; r += 2) {
            int single = (r + 1 >= r1);
            const void *p0 = row_ptr(s, s->index[r]);
            const void *p1 = single ? p0 : row_ptr(s, s->index[r + 1]);
            FWD[K - 1](s, p0, p1, hbuf, hbuf + N, out0, out1, 1);
            loss += row_loss(s, r, out0, d0);
            if (single) { for (int64_t k = 0; k < K; k++) d1[k] = 0.0f; }
            else loss += row_loss(s, r + 1, out1, d1);
            BWD[K - 1](s, hbuf, hbuf + N, d0, d1, gb, g);
            for (int64_t k = 0; k < K; k++) gc[k] += d0[k] + d1[k];
        }
        return loss;
    }
#endif
    for (int64_t r = r0; r < r1; r++) {
        forward_row_portable(s, row_ptr(s, s->index[r]), hbuf, out0);
        loss += row_loss(s, r, out0, d0);
        backward_row_portable(s, hbuf, d0, gb, g);
        for (int64_t k = 0; k < K; k++) gc[k] += d0[k];
    }
    return loss;
}

/* One training step's loss and gradients over a batch. Outputs are overwritten.
 * work: threads * (3 + k) * npad floats, 64-byte aligned. Returns the summed loss. */
double bl_step(const void *rows, int64_t ld, int bf16, const int64_t *index, int64_t batch,
               const float *b, const float *cs, const float *c, int64_t npad, int64_t k,
               int loss_kind, const int64_t *labels, const float *targets, int want_gb, int want_g,
               float *gb, float *g, float *gc, float *work, int threads) {
    Step s = {rows, ld, bf16, index, batch, b, cs, c, npad, k, loss_kind, labels, targets, want_gb, want_g};
    if (threads < 1) threads = 1;
    if (threads > batch / 2) threads = batch / 2 > 0 ? (int)(batch / 2) : 1;
    const int64_t per = (3 + k) * npad;
    double loss = 0.0;
    float gcs[64][KLIMIT];
    if (threads > 64) threads = 64;
    if (k > KLIMIT) return NAN;
#pragma omp parallel num_threads(threads) reduction(+ : loss)
    {
        int t = 0, nt = 1;
#ifdef _OPENMP
        t = omp_get_thread_num(); nt = omp_get_num_threads();
#endif
        float *mine = work + t * per;
        float *hbuf = mine, *tgb = mine + 2 * npad, *tg = mine + 3 * npad;
        if (want_gb) memset(tgb, 0, sizeof(float) * npad);
        if (want_g) memset(tg, 0, sizeof(float) * npad * k);
        for (int64_t q = 0; q < k; q++) gcs[t][q] = 0.0f;
        int64_t pairs = (batch + 1) / 2, lo = pairs * t / nt, hi = pairs * (t + 1) / nt;
        int64_t r0 = 2 * lo, r1 = 2 * hi < batch ? 2 * hi : batch;
        loss += step_rows(&s, r0, r1, hbuf, tgb, tg, gcs[t]);
#pragma omp barrier
        /* reduce the per-thread accumulators, each thread a slice of the columns */
        int64_t c0 = npad / 16 * t / nt * 16, c1 = npad / 16 * (t + 1) / nt * 16;
        if (want_gb)
            for (int64_t j = c0; j < c1; j++) {
                float v = 0.0f;
                for (int u = 0; u < nt; u++) v += work[u * per + 2 * npad + j];
                gb[j] = v;
            }
        if (want_g)
            for (int64_t q = 0; q < k; q++)
                for (int64_t j = c0; j < c1; j++) {
                    float v = 0.0f;
                    for (int u = 0; u < nt; u++) v += work[u * per + 3 * npad + q * npad + j];
                    g[q * npad + j] = v;
                }
#pragma omp single
        for (int64_t q = 0; q < k; q++) {
            float v = 0.0f;
            for (int u = 0; u < nt; u++) v += gcs[u][q];
            gc[q] = v;
        }
    }
    return loss;
}

/* Logits of `count` consecutive rows starting at `start`: out (count, k). */
void bl_logits(const void *rows, int64_t ld, int bf16, int64_t start, int64_t count,
               const float *b, const float *cs, const float *c, int64_t npad, int64_t k,
               float *out, float *work, int threads) {
    Step s = {rows, ld, bf16, NULL, count, b, cs, c, npad, k, 0, NULL, NULL, 0, 0};
    if (threads < 1) threads = 1;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t pr = 0; pr < (count + 1) / 2; pr++) {
        int t = 0;
#ifdef _OPENMP
        t = omp_get_thread_num();
#endif
        float *hbuf = work + t * (3 + k) * npad;
        int64_t r = start + 2 * pr;
        int single = (2 * pr + 1 >= count);
#if BL_AVX512
        if (use_pairs(&s)) {
            float o1[KMAX];
            FWD[k - 1](&s, row_ptr(&s, r), row_ptr(&s, single ? r : r + 1), hbuf, hbuf + npad,
                       out + 2 * pr * k, single ? o1 : out + (2 * pr + 1) * k, 0);
            continue;
        }
#endif
        forward_row_portable(&s, row_ptr(&s, r), hbuf, out + 2 * pr * k);
        if (!single) forward_row_portable(&s, row_ptr(&s, r + 1), hbuf, out + (2 * pr + 1) * k);
    }
}
