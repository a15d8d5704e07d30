// MedNN's hot loops (direct convolution, BatchNorm, ReLU, Adam), in C so that x86-64 builds get AVX-512 and AVX2
// clones chosen at run time (target_clones) while staying runnable on any x86-64 and building elsewhere.
#ifndef CMEDNNKERNELS_H
#define CMEDNNKERNELS_H
#include <stddef.h>

/// A product whose right-hand rows are gathered by pointer: for each of `positions` output positions q,
///   y[o·ldy + offsets[q] + n] (+)= Σ_k a[o·lda + k] · rows[q·K + k][n],   o < O, n < N,
/// adding to what y holds when `accumulate` is set, else storing. Batch-last images make every row a contiguous
/// run of the N samples of one input pixel and channel, so a convolution needs no im2col copy: rows point into
/// the input (or at N zeros outside it). Each output is summed over k in order, by one call: results do not
/// depend on how callers split the positions or the outputs.
void med_gather_gemm(size_t O, size_t K, size_t N, const float *a, size_t lda, const float *const *rows, const size_t *offsets,
                     size_t positions, int accumulate, float *y, size_t ldy);

/// The weight gradient's counterpart, a reduction over positions and samples into a small M × K matrix:
///   c[m·K + t] += Σ_q Σ_n a[m·lda + offsets[q] + n] · rows[q·K + t][n],   m < M, t < K, n < N.
/// Each c[m, t] is summed in a fixed order whatever the other rows are (rows go in blocks of 4, the last M mod 4
/// summed the same way), so callers may split the rows m anywhere; splitting at multiples of 4 keeps the blocks full.
void med_gather_gemm_acc(size_t M, size_t K, size_t N, const float *a, size_t lda, const size_t *offsets,
                         const float *const *rows, size_t positions, float *c);

/// One channel of a BatchNorm: xhat = (x − mean)·inverse, y = gamma·xhat + beta, and with `relu` set the ReLU
/// after it fused in: forward writes max(y, 0), backward recomputes y from x for ReLU's mask (so the BatchNorm's
/// input is all either keeps) and passes dy where y > 0, else 0.
typedef struct {
    float mean, inverse, gamma, beta;
    int relu;
} med_bn_channel;

/// BatchNorm over one channel's n values (x its input), sums in double: Σx and Σx²; Σg and Σg·xhat (g = dy after
/// ReLU's mask, if any); y; training's dx = scale·(g − meanDy − xhat·meanDyXhat); eval's dx = scale·g.
void med_sum_squares(const float *x, size_t n, double *sum, double *squares);
void med_bn_sums(const float *dy, const float *x, size_t n, med_bn_channel c, double *sumDy, double *sumDyXhat);
void med_bn_apply(const float *x, size_t n, med_bn_channel c, float *y);
void med_bn_backward(const float *dy, const float *x, size_t n, med_bn_channel c, float scale, float meanDy, float meanDyXhat,
                     float *dx);
void med_bn_scale(const float *dy, const float *x, size_t n, med_bn_channel c, float scale, float *dx);

/// ReLU: y = max(x, 0); dx = dy where y > 0, else 0.
void med_relu(const float *x, size_t n, float *y);

/// y[p·n + i] = x[p·n + i] · row[i] for `runs` runs of n values (channel dropout: one channel's pixels, each a run of
/// the batch's samples, times the channel's mask over the samples).
void med_multiply_runs(const float *x, size_t runs, size_t n, const float *row, float *y);

/// dst[c·rows + r] = src[r·columns + c] for columns firstColumn ..< lastColumn (a thread's band) and every row.
void med_transpose(const float *src, size_t rows, size_t columns, size_t firstColumn, size_t lastColumn, float *dst);
void med_relu_backward(const float *dy, const float *y, size_t n, float *dx);

/// Runs body(context, w) for every w < workers, concurrently, and returns when all are done (Parallel.swift's
/// fork-join). med_parallel_setup sets the threads' idle spinning; call it once, before the first region.
void med_parallel_setup(void);
void med_parallel(int workers, void (*body)(void *context, int worker), void *context);

/// One step of torch.optim.Adam over n parameters (Adam.swift states the update): m and v are the moments,
/// stepSize = lr / (1 − β₁ᵗ), root2 = √(1 − β₂ᵗ).
void med_adam_update(float *theta, const float *grad, float *m, float *v, size_t n, float beta1, float beta2, float stepSize,
                     float root2, float eps, float weightDecay);
#endif
