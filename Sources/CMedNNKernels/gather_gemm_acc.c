// See cmednnkernels.h. Register blocking: 2 rows of `a` × 8 gathered rows (16 accumulators of 16 lanes), reduced
// across lanes once per call, so each call should cover a few hundred samples (a convolution's output row).
#include "cmednnkernels.h"
#include "kernel_simd.h"

enum { MB = 2, TB = 8, LANES = 16 };

/// Σ over q and n of a[m·lda + offsets[q] + n] · rows[q·K + t][n] for one (m, t): the rows and taps left over
/// from the blocks.
static inline float dot_rows(const float *a, size_t lda, const size_t *offsets, const float *const *rows, size_t K, size_t N,
                             size_t positions, size_t m, size_t t) {
    float s = 0;
    for (size_t q = 0; q < positions; q++)
        for (size_t n = 0; n < N; n++) s += a[m * lda + offsets[q] + n] * rows[q * K + t][n];
    return s;
}

MED_FAST void med_gather_gemm_acc(size_t M, size_t K, size_t N, const float *a, size_t lda, const size_t *offsets,
                                  const float *const *rows, size_t positions, float *c) {
    size_t vectorN = N / LANES * LANES;
    size_t m0 = 0;
    for (; m0 + MB <= M; m0 += MB) {
        size_t t0 = 0;
        for (; t0 + TB <= K; t0 += TB) {
            v16 acc[MB][TB] = {{0}};
            float tail[MB][TB] = {{0}};
            for (size_t q = 0; q < positions; q++) {
                const float *a0 = a + m0 * lda + offsets[q], *a1 = a0 + lda;
                const float *const *r = rows + q * K + t0;
                for (size_t n = 0; n < vectorN; n += LANES) {
                    v16 x0 = load(a0 + n), x1 = load(a1 + n);
                    for (int j = 0; j < TB; j++) {
                        v16 b = load(r[j] + n);
                        acc[0][j] += x0 * b;
                        acc[1][j] += x1 * b;
                    }
                }
                for (size_t n = vectorN; n < N; n++)
                    for (int j = 0; j < TB; j++) {
                        tail[0][j] += a0[n] * r[j][n];
                        tail[1][j] += a1[n] * r[j][n];
                    }
            }
            for (int i = 0; i < MB; i++)
                for (int j = 0; j < TB; j++) {
                    float sum = tail[i][j];
                    for (int l = 0; l < LANES; l++) sum += acc[i][j][l];
                    c[(m0 + i) * K + t0 + j] += sum;
                }
        }
        for (; t0 < K; t0++)
            for (size_t m = m0; m < m0 + MB; m++) c[m * K + t0] += dot_rows(a, lda, offsets, rows, K, N, positions, m, t0);
    }
    for (; m0 < M; m0++)
        for (size_t t = 0; t < K; t++) c[m0 * K + t] += dot_rows(a, lda, offsets, rows, K, N, positions, m0, t);
}
