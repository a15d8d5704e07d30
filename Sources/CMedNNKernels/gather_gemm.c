// See cmednnkernels.h. Register blocking: 4 outputs × 64 samples (16 accumulators of 16 lanes), so each
// gathered row is loaded once per 4 outputs and each weight broadcast once per 64 samples.
#include "cmednnkernels.h"
#include "kernel_simd.h"

enum { OB = 4, NB = 64, LANES = 16, PB = 4 };

/// Stores c at p, or adds it to what p holds (the caller's `accumulate`); macros, since a 16-float vector cannot be a
/// function argument in the clones without AVX-512.
#define put(p, c, accumulate) store((p), (accumulate) ? load(p) + (c) : (c))
#define put1(p, c, accumulate) (*(p) = (accumulate) ? *(p) + (c) : (c))

/// out[n] (+)= Σ_k a[k] · r[k][n] for n from `first`: blocks of NB samples, then one by one.
static inline __attribute__((always_inline)) void one_output(const float *a, const float *const *r, size_t K, size_t N, size_t first,
                                                             int accumulate, float *out) {
    size_t n0 = first;
    for (; n0 + NB <= N; n0 += NB) {
        v16 c[NB / LANES] = {0};
        for (size_t k = 0; k < K; k++) {
            const float *b = r[k] + n0;
            float w = a[k];
            c[0] += w * load(b);
            c[1] += w * load(b + 16);
            c[2] += w * load(b + 32);
            c[3] += w * load(b + 48);
        }
        for (int j = 0; j < NB / LANES; j++) put(out + n0 + j * LANES, c[j], accumulate);
    }
    for (; n0 < N; n0++) {
        float c = 0;
        for (size_t k = 0; k < K; k++) c += a[k] * r[k][n0];
        put1(out + n0, c, accumulate);
    }
}

MED_FAST void med_gather_gemm(size_t O, size_t K, size_t N, const float *a, size_t lda, const float *const *rows,
                              const size_t *offsets, size_t positions, int accumulate, float *y, size_t ldy) {
    for (size_t q = 0; q < positions; q++) {
        const float *const *r = rows + q * K;
        float *out = y + offsets[q];
        size_t o0 = 0;
        for (; o0 + OB <= O; o0 += OB) {
            const float *a0 = a + o0 * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
            size_t n0 = 0;
            for (; n0 + NB <= N; n0 += NB) {
                v16 c[OB][NB / LANES] = {{0}};
                for (size_t k = 0; k < K; k++) {
                    const float *b = r[k] + n0;
                    v16 b0 = load(b), b1 = load(b + 16), b2 = load(b + 32), b3 = load(b + 48);
                    float w[OB] = {a0[k], a1[k], a2[k], a3[k]};
                    for (int o = 0; o < OB; o++) {
                        c[o][0] += w[o] * b0;
                        c[o][1] += w[o] * b1;
                        c[o][2] += w[o] * b2;
                        c[o][3] += w[o] * b3;
                    }
                }
                for (int o = 0; o < OB; o++)
                    for (int j = 0; j < NB / LANES; j++) put(out + (o0 + o) * ldy + n0 + j * LANES, c[o][j], accumulate);
            }
            for (; n0 + LANES <= N; n0 += LANES) {
                v16 c[OB] = {0};
                for (size_t k = 0; k < K; k++) {
                    v16 b = load(r[k] + n0);
                    c[0] += a0[k] * b;
                    c[1] += a1[k] * b;
                    c[2] += a2[k] * b;
                    c[3] += a3[k] * b;
                }
                for (int o = 0; o < OB; o++) put(out + (o0 + o) * ldy + n0, c[o], accumulate);
            }
            for (; n0 < N; n0++) {
                float c[OB] = {0};
                for (size_t k = 0; k < K; k++) {
                    float b = r[k][n0];
                    c[0] += a0[k] * b;
                    c[1] += a1[k] * b;
                    c[2] += a2[k] * b;
                    c[3] += a3[k] * b;
                }
                for (int o = 0; o < OB; o++) put1(out + (o0 + o) * ldy + n0, c[o], accumulate);
            }
        }
    }
    // The last O mod 4 outputs (a 1-channel layer's only one), PB positions at a time: 16 independent sums as in the
    // blocks above. One position at a time left 4 sums, each FMA waiting on the last: de4's forward and en1's data
    // gradient ran at 34 GFLOP/s with their rows in L1. Each output is summed over k in the same order either way.
    for (size_t o = O / OB * OB; o < O; o++) {
        const float *ao = a + o * lda;
        size_t whole = N / NB * NB, q = 0;
        for (; q + PB <= positions; q += PB) {
            const float *const *r = rows + q * K;
            for (size_t n0 = 0; n0 < whole; n0 += NB) {
                v16 c[PB][NB / LANES] = {{0}};
                for (size_t k = 0; k < K; k++) {
                    float w = ao[k];
                    for (int p = 0; p < PB; p++) {
                        const float *b = r[p * K + k] + n0;
                        for (int j = 0; j < NB / LANES; j++) c[p][j] += w * load(b + j * LANES);
                    }
                }
                for (int p = 0; p < PB; p++)
                    for (int j = 0; j < NB / LANES; j++) put(y + offsets[q + p] + o * ldy + n0 + j * LANES, c[p][j], accumulate);
            }
            for (int p = 0; p < PB; p++) one_output(ao, r + p * K, K, N, whole, accumulate, y + offsets[q + p] + o * ldy);
        }
        for (; q < positions; q++) one_output(ao, rows + q * K, K, N, 0, accumulate, y + offsets[q] + o * ldy);
    }
}
