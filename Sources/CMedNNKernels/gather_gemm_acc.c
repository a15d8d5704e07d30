// See cmednnkernels.h. Register blocking: 4 rows of `a` × 4 gathered rows (16 accumulators of 16 lanes), reduced
// across lanes once per call, so each call should cover a few hundred samples (a convolution's output row).
// Measured single-threaded on en2's shape (16 → 32 channels, 32² → 16², batch 64): 2 × 8 blocks with the sample
// loop inside the position loop ran at 48–60 GFLOP/s (clang copied the accumulators between registers at every
// position); the loop below with 4 × 4 blocks (8 loads per 16 FMAs instead of 10) runs at 82–89, the forward
// kernel at 91–102. Every c[m, t] in a block of 4 rows is summed in the same order as before; the last M mod 4 rows,
// once scalar (dot_rows), are now summed as in a block.
#include "cmednnkernels.h"
#include "kernel_simd.h"

enum { MB = 4, TB = 4, LANES = 16 };

/// Σ over q and n of a[m·lda + offsets[q] + n] · rows[q·K + t][n] for one (m, t): the last K mod 4 taps.
static inline float dot_rows(const float *a, size_t lda, const size_t *offsets, const float *const *rows, size_t K, size_t N,
                             size_t positions, size_t m, size_t t) {
    float s = 0;
    for (size_t q = 0; q < positions; q++)
        for (size_t n = 0; n < N; n++) s += a[m * lda + offsets[q] + n] * rows[q * K + t][n];
    return s;
}

/// acc[i][j] += a_i[n ..< n + 16] · r[j][n ..< n + 16], lane by lane, for the block's first R rows.
static inline __attribute__((always_inline)) void accumulate(v16 acc[MB][TB], int R, const float *a0, size_t lda,
                                                             const float *const *r, size_t n) {
    v16 x[MB];
    for (int i = 0; i < R; i++) x[i] = load(a0 + i * lda + n);
    for (int j = 0; j < TB; j++) {
        v16 b = load(r[j] + n);
        for (int i = 0; i < R; i++) acc[i][j] += x[i] * b;
    }
}

/// c[m, t] for rows m0 ..< m0 + R and taps t0 ..< t0 + TB. Inlined with R constant: 4 for the blocks, 1–3 for the
/// last M mod 4 rows, which are summed exactly as in a block (so a row's sum never depends on where a caller's
/// split put it, and a 1- or 2-output layer's weight gradient runs vectorised).
static inline __attribute__((always_inline)) void rows_block(int R, size_t m0, size_t t0, size_t K, size_t N, const float *a,
                                                             size_t lda, const size_t *offsets, const float *const *rows,
                                                             size_t positions, float *c) {
    size_t vectorN = N / LANES * LANES;
    v16 acc[MB][TB] = {{0}};
    float tail[MB][TB] = {{0}};
    // One loop level over positions, the samples unrolled, for the common batch of 64: with a loop over the samples
    // inside, clang copied all 16 accumulators between registers at every position (the weight gradients ran at 60%
    // of the forward kernel's speed). Both forms sum in the same order.
    if (vectorN == 4 * LANES) {
        for (size_t q = 0; q < positions; q++) {
            const float *a0 = a + m0 * lda + offsets[q];
            for (int u = 0; u < 4; u++) accumulate(acc, R, a0, lda, rows + q * K + t0, u * LANES);
        }
    } else {
        for (size_t q = 0; q < positions; q++) {
            const float *a0 = a + m0 * lda + offsets[q];
            for (size_t n = 0; n < vectorN; n += LANES) accumulate(acc, R, a0, lda, rows + q * K + t0, n);
        }
    }
    // The samples past the last whole vector, in a loop of their own (inside the ones above, they too made clang copy
    // the accumulators at every position).
    for (size_t q = 0; q < positions && vectorN < N; q++) {
        const float *a0 = a + m0 * lda + offsets[q];
        const float *const *r = rows + q * K + t0;
        for (size_t n = vectorN; n < N; n++)
            for (int j = 0; j < TB; j++)
                for (int i = 0; i < R; i++) tail[i][j] += a0[i * lda + n] * r[j][n];
    }
    for (int i = 0; i < R; i++)
        for (int j = 0; j < TB; j++) {
            float sum = tail[i][j];
            for (int l = 0; l < LANES; l++) sum += acc[i][j][l];
            c[(m0 + i) * K + t0 + j] += sum;
        }
}

MED_FAST void med_gather_gemm_acc(size_t M, size_t K, size_t N, const float *a, size_t lda, const size_t *offsets,
                                  const float *const *rows, size_t positions, float *c) {
    size_t blockedM = M / MB * MB;
    // Tap blocks outside, row blocks inside: a tap block's gathered rows over the call's positions stay in L1 for
    // every block of rows.
    size_t t0 = 0;
    for (; t0 + TB <= K; t0 += TB) {
        for (size_t m0 = 0; m0 < blockedM; m0 += MB) rows_block(MB, m0, t0, K, N, a, lda, offsets, rows, positions, c);
        switch (M - blockedM) {
            case 1: rows_block(1, blockedM, t0, K, N, a, lda, offsets, rows, positions, c); break;
            case 2: rows_block(2, blockedM, t0, K, N, a, lda, offsets, rows, positions, c); break;
            case 3: rows_block(3, blockedM, t0, K, N, a, lda, offsets, rows, positions, c); break;
            default: break;
        }
    }
    for (; t0 < K; t0++)
        for (size_t m = 0; m < M; m++) c[m * K + t0] += dot_rows(a, lda, offsets, rows, K, N, positions, m, t0);
}
