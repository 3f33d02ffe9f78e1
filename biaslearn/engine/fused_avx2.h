/* AVX2 + FMA path of fused.c (CPUs without AVX-512: AMD Zen, Intel before Skylake-X, most laptops).
 * Included by fused.c only; same operands, layouts and results (to float tolerance) as the AVX-512
 * path: 16-column blocks (readout blocked (npad/16, K, 16), one uint16 ReLU mask per row and block),
 * each block taken as two 8-lane halves.
 * Forward: one row at a time (K accumulators of 8 lanes fit the 16 ymm registers; two rows would
 * not), rows of a group swept tile by tile so the readout tile stays in L1.
 * Bias gradient: E_k = sum_r [z_r > 0] d_r[k] by table lookup over row triples (8-entry tables, one
 * vpermps per triple, output and 8 columns in place of 3 masked adds). The per-lane 3-bit index is
 * made from the three rows' mask bytes with pdep where it is fast (BMI2, not Zen 1/2, whose pdep is
 * microcoded), else with vector shifts. */
#include <immintrin.h>

#if defined(__BMI2__) && !defined(__znver1__) && !defined(__znver2__)
#define BL_FAST_PDEP 1
#else
#define BL_FAST_PDEP 0
#endif

static inline __m256 load_row8(const void *p, int bf16, int64_t j) {
    if (bf16) {
        __m128i v = _mm_loadu_si128((const __m128i *)((const uint16_t *)p + j));
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(v), 16));
    }
    return _mm256_loadu_ps((const float *)p + j);
}

/* Forward of one row over columns [j0, j1): partial logits (lanes 0-7 of the row's K x 16
 * accumulator block) kept in acc between tiles; the ReLU mask of each 16-column block stored at m
 * (stride ms) when m is not NULL. n: where to prefetch (the row's next tile). */
static inline __attribute__((always_inline)) void row_forward_tile(
    const int K, const int bf, const void *p, const void *n, const float *b, const float *csb,
    int64_t j0, int64_t j1, float *acc, uint16_t *m, int64_t ms) {
    __m256 a[KMAX];
    const __m256 zero = _mm256_setzero_ps();
    if (m) m += (j0 >> 4) * ms;
#pragma GCC unroll 16
    for (int k = 0; k < K; k++) a[k] = _mm256_loadu_ps(acc + 16 * k);
    for (int64_t j = j0; j < j1; j += 16) {
        _mm_prefetch((const char *)n + (bf ? 2 : 4) * j, _MM_HINT_T0);
        __m256 zl = _mm256_add_ps(load_row8(p, bf, j), _mm256_loadu_ps(b + j));
        __m256 zh = _mm256_add_ps(load_row8(p, bf, j + 8), _mm256_loadu_ps(b + j + 8));
        __m256 ml = _mm256_cmp_ps(zl, zero, _CMP_GT_OQ), mh = _mm256_cmp_ps(zh, zero, _CMP_GT_OQ);
        if (m) { *m = (uint16_t)(_mm256_movemask_ps(ml) | _mm256_movemask_ps(mh) << 8); m += ms; }
        __m256 hl = _mm256_and_ps(ml, zl), hh = _mm256_and_ps(mh, zh);
        const float *cj = csb + (j >> 4) * K * 16;
#pragma GCC unroll 16
        for (int k = 0; k < K; k++) {
            a[k] = _mm256_fmadd_ps(hl, _mm256_load_ps(cj + 16 * k), a[k]);
            a[k] = _mm256_fmadd_ps(hh, _mm256_load_ps(cj + 16 * k + 8), a[k]);
        }
    }
#pragma GCC unroll 16
    for (int k = 0; k < K; k++) _mm256_storeu_ps(acc + 16 * k, a[k]);
}

/* Forward of one group of `count` rows (row pointers rowp), all tiles: each tile is swept by every
 * row of the group while its readout block is in L1. nextp: the next group's rows, whose first
 * tile is prefetched during this group's last tile. Same signature as the AVX-512 group_forward. */
static inline __attribute__((always_inline)) void group_forward(
    const int K, const int bf, int64_t N, const float *b, const float *csb, const char *const *rowp,
    const char *const *nextp, int64_t count, float *acc, uint16_t *masks, int64_t ms) {
    const int64_t esz = bf ? 2 : 4;
    for (int64_t j0 = 0; j0 < N; j0 += TILE) {
        const int64_t j1 = j0 + TILE < N ? j0 + TILE : N;
        for (int64_t i = 0; i < count; i++) {
            const char *p = rowp[i];
            const char *n = j1 < N ? p + esz * TILE : (const char *)((uintptr_t)nextp[i] - (uintptr_t)(esz * j0));
            row_forward_tile(K, bf, p, n, b, csb, j0, j1, acc + i * K * 16, masks ? masks + i : NULL, ms);
        }
    }
}

/* G (blocked like csb) += d0 (x) h0 + d1 (x) h1 over columns [j0, j1); h recomputed from P (the
 * mask is z > 0, so recomputing it gives the stored one). Same signature as the AVX-512 version. */
static inline __attribute__((always_inline)) void pair_readout_tile(
    const int K, int bf, const void *p0, const void *p1, const float *b, const float *d0, const float *d1,
    int64_t j0, int64_t j1, const uint16_t *m0, const uint16_t *m1, int64_t ms, float *gblk) {
    (void)m0; (void)m1; (void)ms;
    const __m256 zero = _mm256_setzero_ps();
    for (int64_t j = j0; j < j1; j += 8) {
        __m256 bj = _mm256_loadu_ps(b + j);
        __m256 z0 = _mm256_add_ps(load_row8(p0, bf, j), bj), z1 = _mm256_add_ps(load_row8(p1, bf, j), bj);
        __m256 h0 = _mm256_and_ps(_mm256_cmp_ps(z0, zero, _CMP_GT_OQ), z0);
        __m256 h1 = _mm256_and_ps(_mm256_cmp_ps(z1, zero, _CMP_GT_OQ), z1);
        float *gj = gblk + (j >> 4) * K * 16 + (j & 15);
#pragma GCC unroll 16
        for (int k = 0; k < K; k++) {
            __m256 acc = _mm256_load_ps(gj + 16 * k);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d0[k]), h0, acc);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d1[k]), h1, acc);
            _mm256_store_ps(gj + 16 * k, acc);
        }
    }
}

/* Lookup tables for the bias gradient: rows are taken in triples (rows past n count as zero);
 * for triple q and output k, table[(q * K + k) * 8 + s] = sum over the rows i of the triple with
 * bit i of s set of d_i[k]. */
static void grad_tables(const int64_t K, const float *dout, int64_t n, float *table) {
    for (int64_t q = 0; 3 * q < n; q++)
        for (int64_t k = 0; k < K; k++) {
            float *t = table + (q * K + k) * 8;
            t[0] = 0.0f;
            for (int s = 1; s < 8; s++) {
                int hi = 31 - __builtin_clz((unsigned)s);
                int64_t r = 3 * q + hi;
                t[s] = t[s ^ (1 << hi)] + (r < n ? dout[r * K + k] : 0.0f);
            }
        }
}

/* Per lane of one 8-column half, the 3-bit pattern of a triple's ReLU masks (bit i: row i active),
 * from the rows' mask bytes m0, m1, m2 of that half. */
static inline __m256i triple_index(unsigned m0, unsigned m1, unsigned m2) {
#if BL_FAST_PDEP
    uint64_t x = _pdep_u64(m0, 0x0101010101010101ull) | _pdep_u64(m1, 0x0202020202020202ull) |
                 _pdep_u64(m2, 0x0404040404040404ull);
    return _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)x));
#else
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), one = _mm256_set1_epi32(1);
    __m256i v = _mm256_set1_epi32((int)(m0 | m1 << 8 | m2 << 16));
    __m256i i0 = _mm256_and_si256(_mm256_srlv_epi32(v, lane), one);
    __m256i i1 = _mm256_and_si256(_mm256_srlv_epi32(v, _mm256_add_epi32(lane, _mm256_set1_epi32(7))), _mm256_set1_epi32(2));
    __m256i i2 = _mm256_and_si256(_mm256_srlv_epi32(v, _mm256_add_epi32(lane, _mm256_set1_epi32(14))), _mm256_set1_epi32(4));
    return _mm256_or_si256(_mm256_or_si256(i0, i1), i2);
#endif
}

/* gb over column blocks [jb0, jb1) (16 columns each) from all n rows of this thread, each block
 * as two 8-column halves: E_k accumulated in registers over the row triples by table lookup, then
 * gb += sum_k Cs_k E_k once per half. masks are stored block-major: masks[jb * ms + r]. Same
 * signature as the AVX-512 bias_blocks. */
static inline __attribute__((always_inline)) void bias_blocks(
    const int K, const float *dout, int64_t n, int64_t ms, const float *csb, int64_t jb0, int64_t jb1,
    const uint16_t *masks, const float *table, float *gb) {
    (void)dout;
    for (int64_t jb = jb0; jb < jb1; jb++) {
        const uint16_t *ma = masks + jb * ms;
        for (int half = 0; half < 2; half++) {
            const int shift = 8 * half;
            __m256 e[KMAX];
#pragma GCC unroll 16
            for (int k = 0; k < K; k++) e[k] = _mm256_setzero_ps();
            for (int64_t r = 0; r < n; r += 3) {
                unsigned m0 = (ma[r] >> shift) & 0xff;
                unsigned m1 = r + 1 < n ? (ma[r + 1] >> shift) & 0xff : 0;
                unsigned m2 = r + 2 < n ? (ma[r + 2] >> shift) & 0xff : 0;
                __m256i idx = triple_index(m0, m1, m2);
                const float *t = table + (r / 3) * K * 8;
#pragma GCC unroll 16
                for (int k = 0; k < K; k++)
                    e[k] = _mm256_add_ps(e[k], _mm256_permutevar8x32_ps(_mm256_load_ps(t + 8 * k), idx));
            }
            const float *c = csb + jb * K * 16 + shift;
            float *g = gb + jb * 16 + shift;
            __m256 s = _mm256_loadu_ps(g);
#pragma GCC unroll 16
            for (int k = 0; k < K; k++) s = _mm256_fmadd_ps(_mm256_load_ps(c + 16 * k), e[k], s);
            _mm256_storeu_ps(g, s);
        }
    }
}
