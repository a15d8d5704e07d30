// The direct convolution kernels (Sources/CMedNNKernels) built for one instruction set at a time and checked against
// a double-precision reference on shapes that reach every block and remainder (6 outputs, 37 taps, 83 samples,
// 5 positions). medad picks its AVX-512, AVX2 or plain clone at run time, and the tests exercise only the one this
// machine picks; gcc (no target_clones in kernel_simd.h) compiles the source for the -m flags given instead.
// Usage: bench/kernel_isas/check.sh
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include "cmednnkernels.h"
// Random O×K weights (rows lda = K + 2 apart) and P positions × K rows of N samples; the forward kernel runs twice,
// storing and then adding (y = 2·a·rows); exits 1 when an error passes 1e-4.
int main(int argc, char **argv) {
    size_t O = 6, K = 37, N = 83, P = 5, lda = K + 2;
    srand(7);
    float *a = malloc(O * lda * sizeof *a), *data = malloc(P * K * N * sizeof *data), *y = calloc(O * P * N, sizeof *y);
    for (size_t i = 0; i < O * lda; i++) a[i] = rand() / (float)RAND_MAX - 0.5f;
    for (size_t i = 0; i < P * K * N; i++) data[i] = rand() / (float)RAND_MAX - 0.5f;
    const float **rows = malloc(P * K * sizeof *rows);
    size_t *offsets = malloc(P * sizeof *offsets);
    for (size_t q = 0; q < P; q++) { offsets[q] = q * N; for (size_t k = 0; k < K; k++) rows[q * K + k] = data + (q * K + k) * N; }
    med_gather_gemm(O, K, N, a, lda, rows, offsets, P, 0, y, P * N);
    med_gather_gemm(O, K, N, a, lda, rows, offsets, P, 1, y, P * N);
    float *c = calloc(O * K, sizeof *c);
    float *g = malloc(O * P * N * sizeof *g);
    for (size_t i = 0; i < O * P * N; i++) g[i] = rand() / (float)RAND_MAX - 0.5f;
    med_gather_gemm_acc(O, K, N, g, P * N, offsets, rows, P, c);
    // reference
    double maxe = 0, maxe2 = 0;
    for (size_t o = 0; o < O; o++) for (size_t q = 0; q < P; q++) for (size_t n = 0; n < N; n++) {
        double s = 0; for (size_t k = 0; k < K; k++) s += 2.0 * a[o * lda + k] * rows[q * K + k][n];
        double e = fabs(s - y[o * P * N + q * N + n]); if (e > maxe) maxe = e; }
    for (size_t o = 0; o < O; o++) for (size_t k = 0; k < K; k++) {
        double s = 0; for (size_t q = 0; q < P; q++) for (size_t n = 0; n < N; n++) s += (double)g[o * P * N + q * N + n] * rows[q * K + k][n];
        double e = fabs(s - c[o * K + k]); if (e > maxe2) maxe2 = e; }
    printf("forward max error %.2e, weight-gradient max error %.2e\n", maxe, maxe2);
    return maxe > 1e-4 || maxe2 > 1e-4;
}
