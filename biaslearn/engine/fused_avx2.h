/* AVX2 + FMA path of fused.c (CPUs without AVX-512: AMD Zen, Intel before Skylake-X, most laptops).
 * Included by fused.c only; same operands, layouts and results (to float tolerance) as the AVX-512
 * path: 16-column blocks (readout blocked (npad/16, K, 16), one uint16 ReLU mask per row and block),
 * each block taken as two 8-lane halves.
 * Forward: rows by pairs, outputs in passes of KPASS (each readout value loaded feeds two FMAs; gcc
 * keeps 8 of the 2 x 5 accumulators in registers and 2 on the stack: a spill-free variant, half a
 * block at a time, was faster in cache but slower from memory, docs/benchmarks.md), rows of a group
 * swept tile by tile so the readout tile stays in L1 (group_forward in fused.c).
 * Bias gradient: E_k = sum_r [z_r > 0] d_r[k] by table lookup over row pairs (4-entry tables, one
 * vpermilps per pair, output and 8 columns in place of 2 masked adds). The per-lane 2-bit index is
 * made from the two rows' mask bytes with pdep where it is fast (BMI2, not Zen 1/2, whose pdep is
 * microcoded), else with vector shifts. */
#include <immintrin.h>

#ifndef BL_FAST_PDEP
#if defined(__BMI2__) && !defined(__znver1__) && !defined(__znver2__)
#define BL_FAST_PDEP 1
#else
#define BL_FAST_PDEP 0
#endif
#endif

static inline __m256 load_row8(const void *p, int bf16, int64_t j) {
    if (bf16) {
        __m128i v = _mm_loadu_si128((const __m128i *)((const uint16_t *)p + j));
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(v), 16));
    }
    return _mm256_loadu_ps((const float *)p + j);
}

#ifndef KPASS
#define KPASS 5 /* outputs per pass of a row pair (3 or 4 measured 1.02-1.04x slower) */
#endif

/* One pass of a row pair over columns [j0, j1) for outputs [k0, k0 + KN): partial logits (lanes
 * 0-7 of each row's K x 16 accumulator block) kept in acc0/acc1 between tiles. The first pass
 * (m0 not NULL) stores the ReLU masks of each 16-column block; later passes recompute z from the
 * rows, now in L1. n0/n1: where to prefetch (the rows' next tile), first pass only. */
static inline __attribute__((always_inline)) void pair_pass(
    const int KN, const int K, const int k0, const int bf, const void *p0, const void *p1, const void *n0,
    const void *n1, const float *b, const float *csb, int64_t j0, int64_t j1, float *acc0, float *acc1,
    uint16_t *m0, uint16_t *m1, int64_t ms) {
    __m256 a0[KPASS], a1[KPASS];
    const __m256 zero = _mm256_setzero_ps();
    const int first = k0 == 0;
    if (m0) { m0 += (j0 >> 4) * ms; m1 += (j0 >> 4) * ms; }
#pragma GCC unroll 16
    for (int k = 0; k < KN; k++) { a0[k] = _mm256_loadu_ps(acc0 + 16 * (k0 + k)); a1[k] = _mm256_loadu_ps(acc1 + 16 * (k0 + k)); }
    for (int64_t j = j0; j < j1; j += 16) {
        if (first) { _mm_prefetch((const char *)n0 + (bf ? 2 : 4) * j, PF_HINT); _mm_prefetch((const char *)n1 + (bf ? 2 : 4) * j, PF_HINT); }
        const __m256 bl = _mm256_loadu_ps(b + j), bh = _mm256_loadu_ps(b + j + 8);
        __m256 z0l = _mm256_add_ps(load_row8(p0, bf, j), bl), z0h = _mm256_add_ps(load_row8(p0, bf, j + 8), bh);
        __m256 z1l = _mm256_add_ps(load_row8(p1, bf, j), bl), z1h = _mm256_add_ps(load_row8(p1, bf, j + 8), bh);
        __m256 c0l = _mm256_cmp_ps(z0l, zero, _CMP_GT_OQ), c0h = _mm256_cmp_ps(z0h, zero, _CMP_GT_OQ);
        __m256 c1l = _mm256_cmp_ps(z1l, zero, _CMP_GT_OQ), c1h = _mm256_cmp_ps(z1h, zero, _CMP_GT_OQ);
        if (m0) {
            *m0 = (uint16_t)(_mm256_movemask_ps(c0l) | _mm256_movemask_ps(c0h) << 8); m0 += ms;
            *m1 = (uint16_t)(_mm256_movemask_ps(c1l) | _mm256_movemask_ps(c1h) << 8); m1 += ms;
        }
        __m256 h0l = _mm256_and_ps(c0l, z0l), h0h = _mm256_and_ps(c0h, z0h);
        __m256 h1l = _mm256_and_ps(c1l, z1l), h1h = _mm256_and_ps(c1h, z1h);
        const float *cj = csb + ((j >> 4) * K + k0) * 16;
#pragma GCC unroll 16
        for (int k = 0; k < KN; k++) {
            const __m256 cl = _mm256_load_ps(cj + 16 * k), ch = _mm256_load_ps(cj + 16 * k + 8);
            a0[k] = _mm256_fmadd_ps(h0h, ch, _mm256_fmadd_ps(h0l, cl, a0[k]));
            a1[k] = _mm256_fmadd_ps(h1h, ch, _mm256_fmadd_ps(h1l, cl, a1[k]));
        }
    }
#pragma GCC unroll 16
    for (int k = 0; k < KN; k++) { _mm256_storeu_ps(acc0 + 16 * (k0 + k), a0[k]); _mm256_storeu_ps(acc1 + 16 * (k0 + k), a1[k]); }
}

/* Forward of a row pair over columns [j0, j1), all outputs in passes of KPASS; the ReLU masks
 * stored in the first pass (m0 not NULL). Same signature as the AVX-512 pair_forward_tile. */
static inline __attribute__((always_inline)) void pair_forward_tile(
    const int K, const int bf, const void *p0, const void *p1, const void *n0, const void *n1, const float *b,
    const float *csb, int64_t j0, int64_t j1, float *acc0, float *acc1, uint16_t *m0, uint16_t *m1, int64_t ms) {
#pragma GCC unroll 4
    for (int k0 = 0; k0 < K; k0 += KPASS)
        pair_pass(K - k0 < KPASS ? K - k0 : KPASS, K, k0, bf, p0, p1, n0, n1, b, csb, j0, j1, acc0, acc1,
                  k0 == 0 ? m0 : NULL, k0 == 0 ? m1 : NULL, ms);
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

/* Lookup tables for the bias gradient: rows are taken in pairs (a row past n counts as zero);
 * for pair q and output k, table[(q * K + k) * 8 + s] (and + 4 + s, the same, for the upper
 * 128-bit lane) = sum over the rows i of the pair with bit i of s set of d_i[k]. */
static void grad_tables(const int64_t K, const float *dout, int64_t n, float *table) {
    for (int64_t q = 0; 2 * q < n; q++)
        for (int64_t k = 0; k < K; k++) {
            float *t = table + (q * K + k) * 8;
            const float d0 = dout[2 * q * K + k], d1 = 2 * q + 1 < n ? dout[(2 * q + 1) * K + k] : 0.0f;
            t[0] = t[4] = 0.0f; t[1] = t[5] = d0; t[2] = t[6] = d1; t[3] = t[7] = d0 + d1;
        }
}

/* Per lane of one 8-column half, the 2-bit pattern of a pair's ReLU masks (bit i: row i active),
 * from the rows' mask bytes m0, m1 of that half. */
static inline __m256i pair_index(unsigned m0, unsigned m1) {
#if BL_FAST_PDEP
    uint64_t x = _pdep_u64(m0, 0x0101010101010101ull) | _pdep_u64(m1, 0x0202020202020202ull);
    return _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)x));
#else
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i v = _mm256_set1_epi32((int)(m0 | m1 << 8));
    __m256i i0 = _mm256_and_si256(_mm256_srlv_epi32(v, lane), _mm256_set1_epi32(1));
    __m256i i1 = _mm256_and_si256(_mm256_srlv_epi32(v, _mm256_add_epi32(lane, _mm256_set1_epi32(7))), _mm256_set1_epi32(2));
    return _mm256_or_si256(i0, i1);
#endif
}

/* gb over column blocks [jb0, jb1) (16 columns each) from all n rows of this thread, each block
 * as two 8-column halves: E_k accumulated in registers over the row pairs by table lookup (one
 * in-lane vpermilps per pair and output: 1 per cycle on Zen 3, where the cross-lane vpermps that
 * triples would need is 1 per 2 cycles), then gb += sum_k Cs_k E_k once per half. masks are
 * stored block-major: masks[jb * ms + r]. Same signature as the AVX-512 bias_blocks. */
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
            for (int64_t r = 0; r < n; r += 2) {
                unsigned m0 = (ma[r] >> shift) & 0xff, m1 = r + 1 < n ? (ma[r + 1] >> shift) & 0xff : 0;
                __m256i idx = pair_index(m0, m1);
                const float *t = table + (r / 2) * K * 8;
#pragma GCC unroll 16
                for (int k = 0; k < K; k++)
                    e[k] = _mm256_add_ps(e[k], _mm256_permutevar_ps(_mm256_load_ps(t + 8 * k), idx));
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
