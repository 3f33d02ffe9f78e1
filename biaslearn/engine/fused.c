/* Fused bias-learning kernel for one-hidden-layer ReLU networks on cached rows.
 *
 * Per row r of a batch (P row p_r, padded to npad, a multiple of 16, zero padding):
 *   h = relu(p_r + b);  out = Cs h + c;  dout = dL/dout (cross entropy or mse, batch mean)
 *   gb += [h > 0] * (Cs^T dout);  G += dout (x) h;  gc += dout
 * Forward: each row is read once from memory, in column tiles whose readout block stays in L1;
 * groups of rows are swept tile by tile so each row streams in address order; two rows are
 * processed together so every readout value loaded feeds two FMAs; only the ReLU masks are kept.
 * Bias gradient: gb = sum_k Cs_k E_k with E_k = sum_r [z_r > 0] dout_r[k], accumulated in
 * registers over all rows (no readout reads, no long dependency chain per row): per quad of rows,
 * output and 16 columns one table lookup (vpermps on the quad's 4-bit mask pattern) in place of
 * 4 masked adds (AVX-512; row pairs and vpermilps on AVX2). Threads share a batch's work
 * dynamically (step_blocked): row groups in the forward, column chunks in the bias pass, so each
 * writes its own columns of gb. The portable path splits the rows and reduces per-thread
 * accumulators. bl_epoch runs whole epochs (steps and Adam) of one or several networks sharing the
 * rows in one call.
 * Build: gcc -O3 -fno-math-errno -fopenmp [-march=native] -shared -fPIC (-fno-math-errno lets
 * Adam's sqrtf vectorise; results are unchanged). With AVX2 + FMA and no AVX-512 the path of
 * fused_avx2.h is used, on other CPUs the portable C loops (same results to float tolerance). See
 * biaslearn/engine/torch_kernel.py for the reference equations. */
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
#if !BL_AVX512 && defined(__AVX2__) && defined(__FMA__)
#define BL_AVX2 1
#else
#define BL_AVX2 0
#endif
#define BL_SIMD (BL_AVX512 || BL_AVX2) /* a register-blocked path (fused_avx2.h for AVX2) */

#define KMAX 16   /* outputs handled by the register-blocked SIMD paths */
#define KLIMIT 64 /* outputs handled at all */

typedef struct {
    const void *rows; int64_t ld; int bf16;
    const int64_t *index; int64_t batch;
    const float *b, *cs, *c; int64_t npad, k;
    int loss_kind; const int64_t *labels; const float *targets;
    int want_gb, want_g;
} Step;

static inline int omp_thread(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static inline int omp_threads(void) {
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

/* The vector path compiled in: 512 (AVX-512), 256 (AVX2 + FMA) or 0 (portable loops). */
int bl_simd_bits(void) { return BL_AVX512 ? 512 : BL_AVX2 ? 256 : 0; }

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
    for (int64_t k = 0; k < K; k++) {  /* 16 partial sums (npad is a multiple of 16): the compiler vectorises them */
        const float *ck = s->cs + k * N; float part[16] = {0.0f}, acc = 0.0f;
        for (int64_t j = 0; j < N; j += 16)
            for (int u = 0; u < 16; u++) part[u] += h[j + u] * ck[j + u];
        for (int u = 0; u < 16; u++) acc += part[u];
        out[k] = acc + s->c[k];
    }
}

static void backward_row_portable(const Step *s, const float *h, const float *dout, float *gb, float *g) {
    int64_t N = s->npad, K = s->k;
    if (s->want_gb)  /* gb += [h > 0] * (Cs^T dout), output by output over contiguous columns (vectorises) */
        for (int64_t k = 0; k < K; k++) {
            const float *ck = s->cs + k * N; const float dk = dout[k];
            for (int64_t j = 0; j < N; j++) gb[j] += (h[j] > 0.0f ? dk : 0.0f) * ck[j];
        }
    if (s->want_g)
        for (int64_t k = 0; k < K; k++) {
            float *gk = g + k * N; float dk = dout[k];
            for (int64_t j = 0; j < N; j++) gk[j] += dk * h[j];
        }
}

#define TILE 256 /* columns per tile: the readout tile (K x TILE floats) stays in L1 while GROUP rows use it */
#define GROUP 16 /* rows swept together tile by tile in the forward pass (even; 16 x 256 measured best of
                  * 4-64 x 128-1024 at 16,384 units) */
#if GROUP % 4
#error "GROUP must be a multiple of 4 (the bias pass takes rows in quads on the AVX-512 path)"
#endif

#if BL_AVX512
static inline __m512 load_row(const void *p, int bf16, int64_t j) {
    if (bf16) {
        __m256i v = _mm256_loadu_si256((const __m256i *)((const uint16_t *)p + j));
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(v), 16));
    }
    return _mm512_loadu_ps((const float *)p + j);
}

static inline void prefetch_row(const void *p, int bf16, int64_t j) {
    _mm_prefetch((const char *)p + (bf16 ? 2 : 4) * j, _MM_HINT_T0);
}

/* Forward over columns [j0, j1) for two rows: partial logits (16 lanes per output) are kept in
 * acc0/acc1 between tiles; ReLU masks are stored for the backward pass. csb is the readout in
 * blocked layout (npad/16, K, 16) so the K vectors of one column block are contiguous.
 * K is a compile-time constant after inlining (see the dispatch tables below). */
static inline __attribute__((always_inline)) void pair_forward_tile(
    const int K, const int bf, const void *p0, const void *p1, const void *n0, const void *n1, const float *b,
    const float *csb, int64_t j0, int64_t j1, float *acc0, float *acc1, uint16_t *m0, uint16_t *m1, int64_t ms) {
    __m512 a0[KMAX], a1[KMAX];
    const __m512 zero = _mm512_setzero_ps();
    const int store = m0 != NULL;
    if (store) { m0 += (j0 >> 4) * ms; m1 += (j0 >> 4) * ms; }
#pragma GCC unroll 16
    for (int k = 0; k < K; k++) { a0[k] = _mm512_load_ps(acc0 + 16 * k); a1[k] = _mm512_load_ps(acc1 + 16 * k); }
    for (int64_t j = j0; j < j1; j += 16) {
        prefetch_row(n0, bf, j);
        prefetch_row(n1, bf, j);
        __m512 bj = _mm512_loadu_ps(b + j);
        __m512 z0 = _mm512_add_ps(load_row(p0, bf, j), bj);
        __m512 z1 = _mm512_add_ps(load_row(p1, bf, j), bj);
        __mmask16 k0 = _mm512_cmp_ps_mask(z0, zero, _CMP_GT_OQ), k1 = _mm512_cmp_ps_mask(z1, zero, _CMP_GT_OQ);
        if (store) { *m0 = k0; *m1 = k1; m0 += ms; m1 += ms; }
        const float *cj = csb + (j >> 4) * K * 16;
#pragma GCC unroll 16
        for (int k = 0; k < K; k++) {  /* masked FMA: lanes with z <= 0 keep the accumulator (ReLU) */
            __m512 ck = _mm512_load_ps(cj + 16 * k);
            a0[k] = _mm512_mask3_fmadd_ps(z0, ck, a0[k], k0);
            a1[k] = _mm512_mask3_fmadd_ps(z1, ck, a1[k], k1);
        }
    }
#pragma GCC unroll 16
    for (int k = 0; k < K; k++) { _mm512_store_ps(acc0 + 16 * k, a0[k]); _mm512_store_ps(acc1 + 16 * k, a1[k]); }
}

/* G (blocked like csb) += d0 (x) h0 + d1 (x) h1 over columns [j0, j1), h recomputed from P. */
static inline __attribute__((always_inline)) void pair_readout_tile(
    const int K, int bf, const void *p0, const void *p1, const float *b, const float *d0, const float *d1,
    int64_t j0, int64_t j1, const uint16_t *m0, const uint16_t *m1, int64_t ms, float *gblk) {
    __m512 e0[KMAX], e1[KMAX];
#pragma GCC unroll 16
    for (int k = 0; k < K; k++) { e0[k] = _mm512_set1_ps(d0[k]); e1[k] = _mm512_set1_ps(d1[k]); }
    for (int64_t j = j0; j < j1; j += 16) {
        __m512 bj = _mm512_loadu_ps(b + j);
        __m512 h0 = _mm512_maskz_add_ps((__mmask16)m0[(j >> 4) * ms], load_row(p0, bf, j), bj);
        __m512 h1 = _mm512_maskz_add_ps((__mmask16)m1[(j >> 4) * ms], load_row(p1, bf, j), bj);
        float *gj = gblk + (j >> 4) * K * 16;
#pragma GCC unroll 16
        for (int k = 0; k < K; k++) {
            __m512 acc = _mm512_load_ps(gj + 16 * k);
            acc = _mm512_fmadd_ps(e0[k], h0, acc);
            acc = _mm512_fmadd_ps(e1[k], h1, acc);
            _mm512_store_ps(gj + 16 * k, acc);
        }
    }
}

/* Lookup tables for the bias gradient: rows are taken in quads; for quad q and output k,
 * table[(q * K + k) * 16 + s] = sum over the rows i of the quad with bit i of s set of d_i[k]. */
static void quad_tables(const int64_t K, const float *dout, int64_t quads, float *table) {
    for (int64_t q = 0; q < quads; q++)
        for (int64_t k = 0; k < K; k++) {
            float *t = table + (q * K + k) * 16;
            t[0] = 0.0f;
            for (int s = 1; s < 16; s++) {
                int hi = 31 - __builtin_clz((unsigned)s);
                t[s] = t[s ^ (1 << hi)] + dout[(4 * q + hi) * K + k];
            }
        }
}

/* The bias gradient's tables for the n rows of a thread (quads; the n % 4 rows left over take
 * masked adds in bias_blocks). */
static void grad_tables(const int64_t K, const float *dout, int64_t n, float *table) { quad_tables(K, dout, n / 4, table); }

/* Per lane, the 4-bit pattern of a quad's ReLU masks (bit i: row i of the quad is active). */
static inline __m512i quad_index(const uint16_t *m) {
    __m512i x = _mm512_maskz_mov_epi32((__mmask16)m[0], _mm512_set1_epi32(1));
    x = _mm512_mask_or_epi32(x, (__mmask16)m[1], x, _mm512_set1_epi32(2));
    x = _mm512_mask_or_epi32(x, (__mmask16)m[2], x, _mm512_set1_epi32(4));
    return _mm512_mask_or_epi32(x, (__mmask16)m[3], x, _mm512_set1_epi32(8));
}

/* gb over column blocks [jb0, jb1) (16 columns each) from all n rows of this thread:
 * E_k = sum_r [z_r > 0] d_r[k] is accumulated in registers over the rows, then
 * gb += sum_k Cs_k E_k once per block. Rows go by quads: the quad's 4 masks make a 4-bit index
 * per lane, and one table lookup (vpermps) adds the quad's contribution to E_k, in place of 4
 * masked adds; the n % 4 rows left take masked adds. masks are stored block-major:
 * masks[jb * ms + r]. Two column blocks per pass share each table load. */
static inline __attribute__((always_inline)) void bias_blocks(
    const int K, const float *dout, int64_t n, int64_t ms, const float *csb, int64_t jb0, int64_t jb1,
    const uint16_t *masks, const float *table, float *gb) {
    const int64_t quads = n / 4;
    int64_t jb = jb0;
    if (2 * K <= 20)
        for (; jb + 2 <= jb1; jb += 2) {
            __m512 e0[KMAX], e1[KMAX];
#pragma GCC unroll 16
            for (int k = 0; k < K; k++) { e0[k] = _mm512_setzero_ps(); e1[k] = _mm512_setzero_ps(); }
            const uint16_t *ma = masks + jb * ms, *mb = masks + (jb + 1) * ms;
            for (int64_t q = 0; q < quads; q++) {
                __m512i ia = quad_index(ma + 4 * q), ib = quad_index(mb + 4 * q);
                const float *t = table + q * K * 16;
#pragma GCC unroll 16
                for (int k = 0; k < K; k++) {
                    __m512 tk = _mm512_load_ps(t + 16 * k);
                    e0[k] = _mm512_add_ps(e0[k], _mm512_permutexvar_ps(ia, tk));
                    e1[k] = _mm512_add_ps(e1[k], _mm512_permutexvar_ps(ib, tk));
                }
            }
            for (int64_t r = 4 * quads; r < n; r++) {
                __mmask16 qa = (__mmask16)ma[r], qb = (__mmask16)mb[r];
                const float *d = dout + r * K;
#pragma GCC unroll 16
                for (int k = 0; k < K; k++) {
                    __m512 dk = _mm512_set1_ps(d[k]);
                    e0[k] = _mm512_mask_add_ps(e0[k], qa, e0[k], dk);
                    e1[k] = _mm512_mask_add_ps(e1[k], qb, e1[k], dk);
                }
            }
            const float *ca = csb + jb * K * 16, *cb = csb + (jb + 1) * K * 16;
            __m512 sa = _mm512_load_ps(gb + jb * 16), sb = _mm512_load_ps(gb + jb * 16 + 16);
#pragma GCC unroll 16
            for (int k = 0; k < K; k++) {
                sa = _mm512_fmadd_ps(_mm512_load_ps(ca + 16 * k), e0[k], sa);
                sb = _mm512_fmadd_ps(_mm512_load_ps(cb + 16 * k), e1[k], sb);
            }
            _mm512_store_ps(gb + jb * 16, sa); _mm512_store_ps(gb + jb * 16 + 16, sb);
        }
    for (; jb < jb1; jb++) {
        __m512 e0[KMAX];
#pragma GCC unroll 16
        for (int k = 0; k < K; k++) e0[k] = _mm512_setzero_ps();
        const uint16_t *ma = masks + jb * ms;
        for (int64_t q = 0; q < quads; q++) {
            __m512i ia = quad_index(ma + 4 * q);
            const float *t = table + q * K * 16;
#pragma GCC unroll 16
            for (int k = 0; k < K; k++) e0[k] = _mm512_add_ps(e0[k], _mm512_permutexvar_ps(ia, _mm512_load_ps(t + 16 * k)));
        }
        for (int64_t r = 4 * quads; r < n; r++) {
            __mmask16 qa = (__mmask16)ma[r];
            const float *d = dout + r * K;
#pragma GCC unroll 16
            for (int k = 0; k < K; k++) e0[k] = _mm512_mask_add_ps(e0[k], qa, e0[k], _mm512_set1_ps(d[k]));
        }
        const float *ca = csb + jb * K * 16;
        __m512 sa = _mm512_load_ps(gb + jb * 16);
#pragma GCC unroll 16
        for (int k = 0; k < K; k++) sa = _mm512_fmadd_ps(_mm512_load_ps(ca + 16 * k), e0[k], sa);
        _mm512_store_ps(gb + jb * 16, sa);
    }
}

#elif BL_AVX2
#include "fused_avx2.h"
#endif

#if BL_SIMD
/* Forward of one group of `count` rows (row pointers rowp, padded to even count), all tiles: each
 * tile is swept by every pair of the group (pair_forward_tile of the AVX-512 or AVX2 path) while
 * its readout block is in L1. nextp: the rows of the next group, whose first tile is prefetched
 * during this group's last tile. */
static inline __attribute__((always_inline)) void group_forward(
    const int K, const int bf, int64_t N, const float *b, const float *csb, const char *const *rowp,
    const char *const *nextp, int64_t count, float *acc, uint16_t *masks, int64_t ms) {
    const int64_t esz = bf ? 2 : 4;
    for (int64_t j0 = 0; j0 < N; j0 += TILE) {
        const int64_t j1 = j0 + TILE < N ? j0 + TILE : N;
        for (int64_t i = 0; i < count; i += 2) {
            const char *p0 = rowp[i], *p1 = rowp[i + 1];
            /* pair_forward_tile prefetches n + esz * j for j in [j0, j1): the next tile, or the next
             * group's rows from their start */
            const char *n0 = j1 < N ? p0 + esz * TILE : (const char *)((uintptr_t)nextp[i] - (uintptr_t)(esz * j0));
            const char *n1 = j1 < N ? p1 + esz * TILE : (const char *)((uintptr_t)nextp[i + 1] - (uintptr_t)(esz * j0));
            pair_forward_tile(K, bf, p0, p1, n0, n1, b, csb, j0, j1, acc + i * K * 16, acc + (i + 1) * K * 16,
                              masks ? masks + i : NULL, masks ? masks + i + 1 : NULL, ms);
        }
    }
}

#define BL_CASES(X) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16)
#define BL_FWD(K) static void fwd_##K(int bf, int64_t N, const float *b, const float *csb, const char *const *rowp, \
    const char *const *nextp, int64_t count, float *acc, uint16_t *masks, int64_t ms) { \
    if (bf) group_forward(K, 1, N, b, csb, rowp, nextp, count, acc, masks, ms); /* one loop per row type */ \
    else group_forward(K, 0, N, b, csb, rowp, nextp, count, acc, masks, ms); }
#define BL_BLK(K) static void blk_##K(const float *d, int64_t n, int64_t ms, const float *csb, int64_t jb0, int64_t jb1, \
    const uint16_t *masks, const float *table, float *gb) { bias_blocks(K, d, n, ms, csb, jb0, jb1, masks, table, gb); }
#define BL_READ(K) static void read_##K(int bf, const void *p0, const void *p1, const float *b, const float *d0, \
    const float *d1, int64_t j0, int64_t j1, const uint16_t *m0, const uint16_t *m1, int64_t ms, float *g) { \
    pair_readout_tile(K, bf, p0, p1, b, d0, d1, j0, j1, m0, m1, ms, g); }
BL_CASES(BL_FWD)
BL_CASES(BL_READ)
BL_CASES(BL_BLK)
typedef void (*fwd_fn)(int, int64_t, const float *, const float *, const char *const *, const char *const *, int64_t,
                       float *, uint16_t *, int64_t);
typedef void (*read_fn)(int, const void *, const void *, const float *, const float *, const float *, int64_t, int64_t,
                        const uint16_t *, const uint16_t *, int64_t, float *);
#define BL_PTR_FWD(K) fwd_##K,
#define BL_PTR_READ(K) read_##K,
#define BL_PTR_BLK(K) blk_##K,
static const fwd_fn FWD[KMAX] = {BL_CASES(BL_PTR_FWD)};
static const read_fn READ[KMAX] = {BL_CASES(BL_PTR_READ)};
typedef void (*blk_fn)(const float *, int64_t, int64_t, const float *, int64_t, int64_t, const uint16_t *, const float *,
                       float *);
static const blk_fn BLK[KMAX] = {BL_CASES(BL_PTR_BLK)};
#endif

static int use_blocked(int64_t k) { return BL_SIMD && k <= KMAX; }

/* Workspace layout, in floats, for at most `rows` rows: per thread on the portable path and in
 * bl_logits (thread t's copy at base + t * total), batch-wide and shared by the threads in
 * step_blocked. The work pointer is 64-byte aligned (the caller checks it) and the blocked readout
 * before base takes k * npad + 16 floats (npad is a multiple of 16). Every slot's size is rounded
 * up to a whole number of ALIGN floats (64 bytes) here and only here, so every slot of every
 * thread's copy starts on a 64-byte boundary: the AVX-512 path loads and stores acc, table and gb
 * with aligned (vmovaps) instructions, which fault on any other address.
 *   acc    (rows + 2) x k x 16   partial logits, 16 lanes per output (SIMD paths)
 *   mask   (rows + 2) x npad/16  uint16 ReLU masks, block-major, stored in floats
 *   dout   (rows + 2) x k        logits, then dL/dout
 *   table  ((rows + 2)/4 + 1) x k x 16  bias-gradient lookup tables (quads of rows)
 *   gb     npad                  bias-gradient accumulator (portable path)
 *   g      k x npad              readout-gradient accumulator (blocked like csb on SIMD paths)
 *   hbuf   2 x npad              hidden activations (portable path)
 *   loss   2 x (rows + 2)        per-row losses (doubles)
 * The 2 rows beyond `rows` are a lone row's partner and slack. */
#define ALIGN 16 /* floats per 64 bytes */
typedef struct { int64_t acc, mask, dout, table, gb, g, hbuf, loss, total; } Layout;

static int64_t slot(int64_t floats) { return (floats + ALIGN - 1) / ALIGN * ALIGN; }

/* Floats before base: the blocked readout csb (k x npad) and 16 of slack. */
static int64_t base_offset(int64_t npad, int64_t k) { return slot(k * npad) + ALIGN; }

static Layout layout(int64_t rows, int64_t npad, int64_t k) {
    Layout l; int64_t r = rows + 2, o = 0;
    l.acc = o; o += slot(r * k * 16);
    l.mask = o; o += slot((r * (npad / 16) + 1) / 2);
    l.dout = o; o += slot(r * k);
    l.table = o; o += slot((r / 4 + 1) * k * 16);
    l.gb = o; o += slot(npad);
    l.g = o; o += slot(k * npad);
    l.hbuf = o; o += slot(2 * npad);
    l.loss = o; o += slot(2 * r);
    l.total = o;
    return l;
}

/* The layout's offsets for a test: out[0..9) = acc, mask, dout, table, gb, g, hbuf, loss, total
 * (floats from base), out[9] = base's offset from work. */
void bl_layout(int64_t rows, int64_t npad, int64_t k, int64_t *out) {
    const Layout l = layout(rows, npad, k);
    const int64_t v[10] = {l.acc, l.mask, l.dout, l.table, l.gb, l.g, l.hbuf, l.loss, l.total, base_offset(npad, k)};
    memcpy(out, v, sizeof v);
}

static int64_t rows_per_thread(int64_t batch, int threads) {
    int64_t pairs = (batch + 1) / 2;
    return 2 * ((pairs + threads - 1) / threads);
}

int64_t bl_workspace(int64_t batch, int64_t npad, int64_t k, int threads) {
    if (threads < 1) threads = 1;
    const int64_t per_thread = threads * layout(rows_per_thread(batch, threads), npad, k).total;
    const int64_t shared = layout(batch, npad, k).total;
    return base_offset(npad, k) + (per_thread > shared ? per_thread : shared);
}

#if BL_SIMD
/* Forward of one group of count <= GROUP rows (indices rows[0..count)), swept tile by tile: every
 * row is read in address order, so the hardware prefetcher streams it, and the pair's next tile
 * is prefetched in software while this one is computed (after the last tile: the first tile of
 * the group next[0..next_count), the one likely to follow). Logits into out (count, K), the ReLU
 * masks (if masks is not NULL) at masks with stride ms; acc: (count + 1) x K x 16 floats. */
static void forward_group(const Step *s, const float *csb, const int64_t *rows, int64_t count, const int64_t *next,
                          int64_t next_count, float *acc, uint16_t *masks, int64_t ms, float *out) {
    const int64_t K = s->k;
    const char *rowp[GROUP + 1], *nextp[GROUP + 1];
    for (int64_t i = 0; i < count; i++) {
        rowp[i] = (const char *)row_ptr(s, rows[i]);
        nextp[i] = (const char *)row_ptr(s, next[i < next_count ? i : next_count - 1]);
    }
    if (count % 2) { rowp[count] = rowp[count - 1]; nextp[count] = nextp[count - 1]; }  /* the lone row's partner */
    memset(acc, 0, sizeof(float) * (count + count % 2) * K * 16);
    FWD[K - 1](s->bf16, s->npad, s->b, csb, rowp, nextp, count, acc, masks, ms);
    for (int64_t i = 0; i < count; i++)
        for (int64_t k = 0; k < K; k++) {
            float v = 0.0f;
            for (int u = 0; u < 16; u++) v += acc[(i * K + k) * 16 + u];
            out[i * K + k] = v + s->c[k];
        }
}
#endif

/* Logits of rows [r0, r1) of the index into out (r1 - r0, K). */
static void forward_rows(const Step *s, const float *csb, int64_t r0, int64_t r1, float *acc, float *out) {
    const int64_t K = s->k, n = r1 - r0;
#if BL_SIMD
    if (use_blocked(K)) {
        for (int64_t g0 = 0; g0 < n; g0 += GROUP) {
            const int64_t count = g0 + GROUP < n ? GROUP : n - g0, next = g0 + GROUP < n ? g0 + GROUP : g0;
            const int64_t next_count = next + GROUP < n ? GROUP : n - next;
            forward_group(s, csb, s->index + r0 + g0, count, s->index + r0 + next, next_count, acc, NULL, 0, out + g0 * K);
        }
        return;
    }
#endif
    (void)csb;
    for (int64_t i = 0; i < n; i++) forward_row_portable(s, row_ptr(s, s->index[r0 + i]), acc, out + i * K);
}

/* Loss and gradients of rows [r0, r1) on the portable path: this thread's accumulators gb (npad),
 * g (K x npad), gc (K). Returns the summed loss. */
static double step_rows(const Step *s, int64_t r0, int64_t r1, float *w, Layout l, float *gc) {
    const int64_t N = s->npad, K = s->k, n = r1 - r0;
    float *out = w + l.dout, *gb = w + l.gb, *g = w + l.g;
    float dout[KLIMIT];
    double loss = 0.0;
    if (s->want_gb) memset(gb, 0, sizeof(float) * N);
    if (s->want_g) memset(g, 0, sizeof(float) * N * K);
    float *h = w + l.hbuf;
    for (int64_t i = 0; i < n; i++) {
        forward_row_portable(s, row_ptr(s, s->index[r0 + i]), h, out);
        loss += row_loss(s, r0 + i, out, dout);
        backward_row_portable(s, h, dout, gb, g);
        for (int64_t k = 0; k < K; k++) gc[k] += dout[k];
    }
    return loss;
}

static void block_readout(const float *cs, float *csb, int64_t npad, int64_t k, int64_t c0, int64_t c1) {
    for (int64_t jb = c0 / 16; jb < c1 / 16; jb++)
        for (int64_t q = 0; q < k; q++)
            memcpy(csb + (jb * k + q) * 16, cs + q * npad + jb * 16, sizeof(float) * 16);
}

#if BL_SIMD
#define BIAS_CHUNK 32 /* column blocks (16 columns) per work item of the bias pass */
#define BIAS_ROWS 128 /* rows per bias sweep (a multiple of GROUP): their tables (K x 4 floats per row) stay in L1 */

/* One step of the register-blocked paths, work shared dynamically: the threads of a (virtual)
 * machine run at unequal speeds (one measured 1.45x slower than the other for minutes), so rows
 * are not split in fixed halves. Forward: groups of GROUP rows taken in turn by whichever thread
 * is free (logits, masks and h accumulators batch-wide). Bias gradient: column chunks taken in
 * turn, each over all rows of the batch, so every thread writes its own columns of gb (no
 * reduction). Readout gradient likewise by column tiles. Returns the summed loss. */
static double step_blocked(const Step *s, const float *csb, float *base, int threads, float *gb, float *g, float *gc) {
    const int64_t N = s->npad, K = s->k, n = s->batch, ms = (n + 1) / 2 * 2;
    const Layout l = layout(n, N, K);
    float *acc = base + l.acc, *out = base + l.dout, *table = base + l.table, *gblk = base + l.g;
    double *row_losses = (double *)(base + l.loss);
    uint16_t *masks = (uint16_t *)(base + l.mask);
    const int64_t groups = (n + GROUP - 1) / GROUP, chunks = (N / 16 + BIAS_CHUNK - 1) / BIAS_CHUNK;
    const int64_t tiles = (N + TILE - 1) / TILE;
    double loss = 0.0;
    float gcs[KLIMIT] = {0.0f};
#pragma omp parallel num_threads(threads)
    {
        const int nt = omp_threads();
#pragma omp for schedule(dynamic, 1)
        for (int64_t q = 0; q < groups; q++) {
            const int64_t g0 = q * GROUP, count = g0 + GROUP < n ? GROUP : n - g0;
            const int64_t next = (q + nt < groups ? q + nt : q) * GROUP;  /* the group this thread likely takes next */
            forward_group(s, csb, s->index + g0, count, s->index + next, next + GROUP < n ? GROUP : n - next,
                          acc + g0 * K * 16, masks + g0, ms, out + g0 * K);
            float dout[KLIMIT];
            for (int64_t i = g0; i < g0 + count; i++) {  /* logits -> dL/dout in place */
                row_losses[i] = row_loss(s, i, out + i * K, dout);
                memcpy(out + i * K, dout, sizeof(float) * K);
            }
            if (count % 2) for (int64_t k = 0; k < K; k++) out[n * K + k] = 0.0f;  /* the lone row's partner */
            /* the group's tables: GROUP is a multiple of 4, so its pairs or quads are its own, and a
             * bias sweep's tables (from a multiple of 16 rows) are those of its groups */
            if (s->want_gb) grad_tables(K, out + g0 * K, count, table + g0 * K * 4);
        }
        if (s->want_gb) {
#pragma omp for schedule(dynamic, 1) nowait
            for (int64_t c = 0; c < chunks; c++) {
                const int64_t jb0 = c * BIAS_CHUNK, jb1 = jb0 + BIAS_CHUNK < N / 16 ? jb0 + BIAS_CHUNK : N / 16;
                memset(gb + jb0 * 16, 0, sizeof(float) * (jb1 - jb0) * 16);
                /* rows in sweeps of BIAS_ROWS (a multiple of 4): a sweep's tables start at row * K * 4 floats
                 * on both paths (pairs of K x 8, quads of K x 16) */
                for (int64_t r = 0; r < n; r += BIAS_ROWS) {
                    const int64_t rows = n - r < BIAS_ROWS ? n - r : BIAS_ROWS;
                    BLK[K - 1](out + r * K, rows, ms, csb, jb0, jb1, masks + r, table + r * K * 4, gb);
                }
            }
        }
        if (s->want_g) {
#pragma omp for schedule(dynamic, 1) nowait
            for (int64_t tq = 0; tq < tiles; tq++) {
                const int64_t j0 = tq * TILE, j1 = j0 + TILE < N ? j0 + TILE : N;
                memset(gblk + j0 * K, 0, sizeof(float) * (j1 - j0) * K);
                for (int64_t i = 0; i < n; i += 2) {
                    const uint16_t *m0 = masks + i, *m1 = i + 1 < n ? masks + i + 1 : m0;
                    const void *p0 = row_ptr(s, s->index[i]);
                    const void *p1 = i + 1 < n ? row_ptr(s, s->index[i + 1]) : p0;
                    READ[K - 1](s->bf16, p0, p1, s->b, out + i * K, out + (i + 1) * K, j0, j1, m0, m1, ms, gblk);
                }
                for (int64_t q = 0; q < K; q++)
                    for (int64_t j = j0; j < j1; j++) g[q * N + j] = gblk[((j >> 4) * K + q) * 16 + (j & 15)];
            }
        }
#pragma omp single nowait
        for (int64_t i = 0; i < n; i++) {  /* sums in row order: the same results whatever the threads */
            loss += row_losses[i];
            for (int64_t k = 0; k < K; k++) gcs[k] += out[i * K + k];
        }
    }
    for (int64_t k = 0; k < K; k++) gc[k] = gcs[k];
    return loss;
}
#endif

/* One training step's loss and gradients over a batch. Outputs are overwritten.
 * work: bl_workspace(batch, npad, k, threads) floats, 64-byte aligned. Returns the summed loss. */
static double step_impl(const void *rows, int64_t ld, int bf16, const int64_t *index, int64_t batch,
                        const float *b, const float *cs, const float *c, int64_t npad, int64_t k,
                        int loss_kind, const int64_t *labels, const float *targets, int want_gb, int want_g,
                        float *gb, float *g, float *gc, float *work, int threads, int readout_ready);

double bl_step(const void *rows, int64_t ld, int bf16, const int64_t *index, int64_t batch,
               const float *b, const float *cs, const float *c, int64_t npad, int64_t k,
               int loss_kind, const int64_t *labels, const float *targets, int want_gb, int want_g,
               float *gb, float *g, float *gc, float *work, int threads) {
    return step_impl(rows, ld, bf16, index, batch, b, cs, c, npad, k, loss_kind, labels, targets, want_gb, want_g,
                     gb, g, gc, work, threads, 0);
}

/* bl_step; readout_ready: the blocked copy of cs at the start of work is current (same cs and
 * npad, k as the previous call with this work) and is not rebuilt. */
static double step_impl(const void *rows, int64_t ld, int bf16, const int64_t *index, int64_t batch,
                        const float *b, const float *cs, const float *c, int64_t npad, int64_t k,
                        int loss_kind, const int64_t *labels, const float *targets, int want_gb, int want_g,
                        float *gb, float *g, float *gc, float *work, int threads, int readout_ready) {
    Step s = {rows, ld, bf16, index, batch, b, cs, c, npad, k, loss_kind, labels, targets, want_gb, want_g};
    if (threads < 1) threads = 1;
    if (threads > 64) threads = 64;
    if (k > KLIMIT || batch < 1) return NAN;
    float *csb = work;
    const Layout l = layout(rows_per_thread(batch, threads), npad, k);
    float *base = work + base_offset(npad, k);
    (void)readout_ready; (void)csb;
#if BL_SIMD
    if (use_blocked(k)) {
        if (!readout_ready) {
#pragma omp parallel num_threads(threads)
            {
                const int t = omp_thread(), nt = omp_threads();
                block_readout(cs, csb, npad, k, npad / 16 * t / nt * 16, npad / 16 * (t + 1) / nt * 16);
            }
        }
        return step_blocked(&s, csb, base, threads, gb, g, gc);
    }
#endif
    double loss = 0.0;
    float gcs[64][KLIMIT];
#pragma omp parallel num_threads(threads) reduction(+ : loss)
    {
        const int t = omp_thread(), nt = omp_threads();
        int64_t c0 = npad / 16 * t / nt * 16, c1 = npad / 16 * (t + 1) / nt * 16;
        float *w = base + t * l.total;
        for (int64_t q = 0; q < k; q++) gcs[t][q] = 0.0f;
        int64_t pairs = (batch + 1) / 2, lo = pairs * t / nt, hi = pairs * (t + 1) / nt;
        int64_t r0 = 2 * lo, r1 = 2 * hi < batch ? 2 * hi : batch;
        if (r1 > r0) loss += step_rows(&s, r0, r1, w, l, gcs[t]);
        else {
            if (want_gb) memset(w + l.gb, 0, sizeof(float) * npad);
            if (want_g) memset(w + l.g, 0, sizeof(float) * npad * k);
        }
#pragma omp barrier
        /* reduce the per-thread accumulators, each thread a slice of the columns */
        if (want_gb)
            for (int64_t j = c0; j < c1; j++) {
                float v = 0.0f;
                for (int u = 0; u < nt; u++) v += base[u * l.total + l.gb + j];
                gb[j] = v;
            }
        if (want_g)
            for (int64_t q = 0; q < k; q++)
                for (int64_t j = c0; j < c1; j++) {
                    float v = 0.0f;
                    for (int u = 0; u < nt; u++) v += base[u * l.total + l.g + q * npad + j];
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

/* Logits of the rows index[0..count): out (count, k). work: bl_workspace(count, npad, k, threads). */
void bl_logits(const void *rows, int64_t ld, int bf16, const int64_t *index, int64_t count,
               const float *b, const float *cs, const float *c, int64_t npad, int64_t k,
               float *out, float *work, int threads) {
    Step s = {rows, ld, bf16, index, count, b, cs, c, npad, k, 0, NULL, NULL, 0, 0};
    if (threads < 1) threads = 1;
    if (threads > 64) threads = 64;
    if (k > KLIMIT || count < 1) return;
    const int blocked = use_blocked(k);
    float *csb = work;
    const Layout l = layout(rows_per_thread(count, threads), npad, k);
    float *base = work + base_offset(npad, k);
#pragma omp parallel num_threads(threads)
    {
        int t = 0, nt = 1;
#ifdef _OPENMP
        t = omp_get_thread_num(); nt = omp_get_num_threads();
#endif
        int64_t c0 = npad / 16 * t / nt * 16, c1 = npad / 16 * (t + 1) / nt * 16;
        if (blocked) block_readout(cs, csb, npad, k, c0, c1);
#pragma omp barrier
        int64_t pairs = (count + 1) / 2, lo = pairs * t / nt, hi = pairs * (t + 1) / nt;
        int64_t r0 = 2 * lo, r1 = 2 * hi < count ? 2 * hi : count;
        float *w = base + t * l.total;
        if (r1 > r0) forward_rows(&s, csb, r0, r1, blocked ? w + l.acc : w + l.hbuf, out + r0 * k);
    }
}

/* One Adam step (torch.optim.Adam semantics: no amsgrad, no maximize, L2 weight decay) on n
 * parameters, in place:  t += 1;  g' = g + wd p;  m += (1 - beta1)(g' - m);
 * v = beta2 v + (1 - beta2) g'^2;  p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps).
 * step is the float32 step counter of the optimizer state; mirror (may be NULL) receives a copy of
 * the updated parameters (the kernel's padded operand). */
void bl_adam(float *param, const float *grad, float *m, float *v, int64_t n, float *step, double lr,
             double beta1, double beta2, double eps, double weight_decay, float *mirror) {
    *step += 1.0f;
    double t = (double)*step;
    const float step_size = (float)(lr / (1.0 - pow(beta1, t)));
    const float bc2 = (float)sqrt(1.0 - pow(beta2, t));
    const float w1 = (float)(1.0 - beta1), b2 = (float)beta2, w2 = (float)(1.0 - beta2), e = (float)eps, wd = (float)weight_decay;
    for (int64_t j = 0; j < n; j++) {
        float g = grad[j];
        if (wd != 0.0f) g += wd * param[j];
        float mj = m[j] + w1 * (g - m[j]);
        float vj = v[j] * b2 + w2 * (g * g);
        m[j] = mj; v[j] = vj;
        float p = param[j] - step_size * (mj / (sqrtf(vj) / bc2 + e));
        param[j] = p;
        if (mirror) mirror[j] = p;
    }
}

/* One network of bl_epoch: its operands, labels, Adam state and outputs. p_b1 / p_c NULL: that
 * parameter is not trained. hyper_* = {lr, beta1, beta2, eps, weight_decay}. labels (loss 0) or
 * targets (loss 1, k per sample) are indexed by sample. losses[i] gets batch i's mean loss; gb
 * and gc hold the last batch's gradients on return. work: bl_workspace(batch, npad, k, threads)
 * floats of its own. */
typedef struct {
    float *b; const float *cs; float *c;
    const int64_t *labels; const float *targets;
    float *p_b1, *m_b1, *v_b1, *t_b1; double hyper_b1[5];
    float *p_c, *m_c, *v_c, *t_c; double hyper_c[5];
    float *gb, *gc; double *losses; float *work;
} Net;

/* Whole training epochs of m networks that share the cached rows (same frozen first layer, same
 * inputs), for methods whose trained parameters are b1 and/or c, Adam done here (bl_adam): for
 * each batch order[s : s + batch] of the count samples, each network in turn takes bl_step and
 * one Adam step on b1 (its first `units` entries; the padded operand b mirrors it) and on c (the
 * operand c mirrors it). With m > 1 the batch's rows are read from memory once and from the CPU
 * cache by the other networks. Returns the number of batches, or -1 when out of memory
 * (nothing trained). */
int64_t bl_epoch(const void *rows, int64_t ld, int bf16, const int64_t *order, int64_t count, int64_t batch,
                 int64_t npad, int64_t k, int64_t units, int loss_kind, Net *nets, int64_t m, int threads) {
    if (batch < 1 || k > KLIMIT || m < 1) return 0;
    int64_t *y = loss_kind == 0 ? malloc(sizeof(int64_t) * batch) : NULL;
    float *t = loss_kind == 0 ? NULL : malloc(sizeof(float) * batch * k);
    if ((loss_kind == 0 && !y) || (loss_kind != 0 && !t)) { free(y); free(t); return -1; }
    int64_t batches = 0;
    for (int64_t s = 0; s < count; s += batch, batches++) {
        int64_t n = count - s < batch ? count - s : batch;
        const int64_t *index = order + s;
        for (int64_t q = 0; q < m; q++) {
            Net *a = nets + q;
            for (int64_t i = 0; i < n; i++) {
                if (y) y[i] = a->labels[index[i]];
                else memcpy(t + i * k, a->targets + index[i] * k, sizeof(float) * k);
            }
            double total = step_impl(rows, ld, bf16, index, n, a->b, a->cs, a->c, npad, k, loss_kind, y, t,
                                     a->p_b1 != NULL, 0, a->gb, NULL, a->gc, a->work, threads, s > 0);  /* cs fixed: blocked once */
            a->losses[batches] = total / (double)(loss_kind == 0 ? n : n * k);
            const double *h = a->hyper_b1;
            if (a->p_b1) bl_adam(a->p_b1, a->gb, a->m_b1, a->v_b1, units, a->t_b1, h[0], h[1], h[2], h[3], h[4], a->b);
            h = a->hyper_c;
            if (a->p_c) bl_adam(a->p_c, a->gc, a->m_c, a->v_c, k, a->t_c, h[0], h[1], h[2], h[3], h[4], a->c);
        }
    }
    free(y); free(t);
    return batches;
}
