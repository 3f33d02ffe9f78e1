/* AVX2 + FMA path of fused.c (CPUs without AVX-512: AMD Zen, Intel before Skylake-X, most laptops).
 * Included by fused.c only; same operands and results (to float tolerance) as the AVX-512 path:
 * 16-column blocks (readout blocked (npad/16, K, 16)), each block taken as two 8-lane halves. The
 * ReLU masks differ in layout: one 32-bit word per row pair and block (the pair's two uint16
 * slots), the two rows' bits interleaved.
 * Forward: rows by pairs (each readout value loaded feeds two FMAs), rows of a group swept tile by
 * tile so the readout tile stays in L1 (group_forward in fused.c). The first pass reads the rows,
 * makes the masks and h = relu(p + b), stashes h in L1 and does KPASS outputs; the later passes do
 * the other outputs from the stash. No accumulator is spilled (a spilled one put a store-load in
 * the FMA chain, measured 1.2x slower).
 * Bias gradient: E_k = sum_r [z_r > 0] d_r[k] by table lookup over row pairs (4-entry tables, one
 * vpermilps per pair, output and 8 columns in place of 2 masked adds); a lane's 2-bit index is the
 * pair word shifted (pair_word interleaves the bits with pdep where it is fast, BMI2 but not
 * Zen 1/2, whose pdep is microcoded, else with shifts and masks). */
#include <immintrin.h>

#ifndef BL_FAST_PDEP /* overridable only so that a test runs the shift variant on any CPU */
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

#define KPASS 5 /* outputs of the first pass of a row pair (the one that reads the rows) */
#define KLATER 5 /* outputs per later pass, from the stashed h (4-6 / 3-6 measured no faster) */

/* The masks of a row pair in one block as one word: bit 2l = lane l of row 0, bit 2l + 1 = lane l
 * of row 1 (16 lanes), so that the bias pass gets each lane's 2-bit table index with one shift. */
static inline uint32_t pair_word(unsigned m0, unsigned m1) {
#if BL_FAST_PDEP
    return _pdep_u32(m0, 0x55555555u) | _pdep_u32(m1, 0xAAAAAAAAu);
#else
    uint32_t x = m0, y = m1;  /* each spread to the even bit positions */
    x = (x | x << 8) & 0x00FF00FFu; x = (x | x << 4) & 0x0F0F0F0Fu; x = (x | x << 2) & 0x33333333u; x = (x | x << 1) & 0x55555555u;
    y = (y | y << 8) & 0x00FF00FFu; y = (y | y << 4) & 0x0F0F0F0Fu; y = (y | y << 2) & 0x33333333u; y = (y | y << 1) & 0x55555555u;
    return x | y << 1;
#endif
}

/* First pass of a row pair over columns [j0, j1): z = p + b, the ReLU masks (when m0 is not NULL:
 * one pair word per block at m0, the two uint16 slots of the pair), h = relu(z) into the stash
 * (2 x 16 floats per block, for the later passes) and the partial logits of outputs [0, KN) in
 * acc0/acc1 (lanes 0-7 of each row's K x 16 block). Each 8-column half is finished before the
 * next: 2 KN accumulators + 4 registers live, none spilled. Prefetches row 0's next tile (n0);
 * the second pass prefetches row 1's, which spreads the requests over the tile's time. */
static inline __attribute__((always_inline)) void pair_first_pass(
    const int KN, const int K, const int bf, const void *p0, const void *p1, const void *n0, const float *b,
    const float *csb, int64_t j0, int64_t j1, float *acc0, float *acc1, uint16_t *m0, int64_t ms, float *stash) {
    __m256 a0[KPASS], a1[KPASS];
    const __m256 zero = _mm256_setzero_ps();
    if (m0) m0 += (j0 >> 4) * ms;
#pragma GCC unroll 16
    for (int k = 0; k < KN; k++) { a0[k] = _mm256_loadu_ps(acc0 + 16 * k); a1[k] = _mm256_loadu_ps(acc1 + 16 * k); }
    for (int64_t j = j0; j < j1; j += 16) {
        _mm_prefetch((const char *)n0 + (bf ? 2 : 4) * j, _MM_HINT_T0);
        const float *cj = csb + (j >> 4) * K * 16;
        float *s = stash + 2 * (j - j0);
        unsigned bits0 = 0, bits1 = 0;
#pragma GCC unroll 2
        for (int half = 0; half < 2; half++) {
            const __m256 bj = _mm256_loadu_ps(b + j + 8 * half);
            const __m256 z0 = _mm256_add_ps(load_row8(p0, bf, j + 8 * half), bj);
            const __m256 z1 = _mm256_add_ps(load_row8(p1, bf, j + 8 * half), bj);
            const __m256 c0 = _mm256_cmp_ps(z0, zero, _CMP_GT_OQ), c1 = _mm256_cmp_ps(z1, zero, _CMP_GT_OQ);
            if (m0) {
                bits0 |= (unsigned)_mm256_movemask_ps(c0) << (8 * half);
                bits1 |= (unsigned)_mm256_movemask_ps(c1) << (8 * half);
            }
            const __m256 h0 = _mm256_and_ps(c0, z0), h1 = _mm256_and_ps(c1, z1);
            _mm256_store_ps(s + 16 * half, h0); _mm256_store_ps(s + 16 * half + 8, h1);
#pragma GCC unroll 16
            for (int k = 0; k < KN; k++) {
                const __m256 ck = _mm256_load_ps(cj + 16 * k + 8 * half);
                a0[k] = _mm256_fmadd_ps(h0, ck, a0[k]);
                a1[k] = _mm256_fmadd_ps(h1, ck, a1[k]);
            }
        }
        if (m0) { const uint32_t word = pair_word(bits0, bits1); memcpy(m0, &word, 4); m0 += ms; }
    }
#pragma GCC unroll 16
    for (int k = 0; k < KN; k++) { _mm256_storeu_ps(acc0 + 16 * k, a0[k]); _mm256_storeu_ps(acc1 + 16 * k, a1[k]); }
}

/* A later pass of a row pair: partial logits of outputs [k0, k0 + KN) from the stashed h (in L1:
 * no row reads, no ReLU). n1: row 1's next tile, prefetched by the second pass (k0 == KPASS). */
static inline __attribute__((always_inline)) void pair_stash_pass(
    const int KN, const int K, const int k0, const int bf, const void *n1, const float *csb, int64_t j0, int64_t j1,
    float *acc0, float *acc1, const float *stash) {
    __m256 a0[KLATER], a1[KLATER];
#pragma GCC unroll 16
    for (int k = 0; k < KN; k++) { a0[k] = _mm256_loadu_ps(acc0 + 16 * (k0 + k)); a1[k] = _mm256_loadu_ps(acc1 + 16 * (k0 + k)); }
    for (int64_t j = j0; j < j1; j += 16) {
        if (k0 == KPASS) _mm_prefetch((const char *)n1 + (bf ? 2 : 4) * j, _MM_HINT_T0);
        const float *cj = csb + ((j >> 4) * K + k0) * 16;
        const float *s = stash + 2 * (j - j0);
#pragma GCC unroll 2
        for (int half = 0; half < 2; half++) {
            const __m256 h0 = _mm256_load_ps(s + 16 * half), h1 = _mm256_load_ps(s + 16 * half + 8);
#pragma GCC unroll 16
            for (int k = 0; k < KN; k++) {
                const __m256 ck = _mm256_load_ps(cj + 16 * k + 8 * half);
                a0[k] = _mm256_fmadd_ps(h0, ck, a0[k]);
                a1[k] = _mm256_fmadd_ps(h1, ck, a1[k]);
            }
        }
    }
#pragma GCC unroll 16
    for (int k = 0; k < KN; k++) { _mm256_storeu_ps(acc0 + 16 * (k0 + k), a0[k]); _mm256_storeu_ps(acc1 + 16 * (k0 + k), a1[k]); }
}

/* Forward of a row pair over columns [j0, j1) (at most TILE): the first pass (outputs 0 to
 * KPASS - 1, masks, h stashed), then the other outputs KLATER at a time from the stash. A row
 * past n (odd n) is its partner's copy: its mask bits meet a zero in the bias pass's tables.
 * Same signature as the AVX-512 pair_forward_tile; m1 is unused (the pair's masks are one word). */
static inline __attribute__((always_inline)) void pair_forward_tile(
    const int K, const int bf, const void *p0, const void *p1, const void *n0, const void *n1, const float *b,
    const float *csb, int64_t j0, int64_t j1, float *acc0, float *acc1, uint16_t *m0, uint16_t *m1, int64_t ms) {
    (void)m1;
    float stash[2 * TILE] __attribute__((aligned(32)));
    const int first = K < KPASS ? K : KPASS;
    pair_first_pass(first, K, bf, p0, p1, n0, b, csb, j0, j1, acc0, acc1, m0, ms, stash);
#pragma GCC unroll 4
    for (int k0 = first; k0 < K; k0 += KLATER)
        pair_stash_pass(K - k0 < KLATER ? K - k0 : KLATER, K, k0, bf, n1, csb, j0, j1, acc0, acc1, stash);
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

/* gb over column blocks [jb0, jb1) (16 columns each) from all n rows of this thread, each block
 * as two 8-column halves: E_k accumulated in registers over the row pairs by table lookup (one
 * in-lane vpermilps per pair and output: 1 per cycle on Zen 3, where the cross-lane vpermps that
 * triples would need is 1 per 2 cycles), then gb += sum_k Cs_k E_k once per half. masks are
 * stored block-major, the pair words at masks + jb * ms + r (r even). Same signature as the
 * AVX-512 bias_blocks. */
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
            const __m256i lane2 = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
            const __m256i shifts = _mm256_add_epi32(lane2, _mm256_set1_epi32(2 * shift));
            const float *t = table;
            for (const uint16_t *w = ma, *end = ma + (n + 1) / 2 * 2; w < end; w += 2, t += K * 8) {
                /* the pair's word, broadcast from memory (one load): vpermilps reads the low 2 bits of each lane */
                const __m256i idx = _mm256_srlv_epi32(_mm256_castps_si256(_mm256_broadcast_ss((const float *)w)), shifts);
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
