// See cmednnkernels.h: BatchNorm's, ReLU's and channel dropout's loops over one channel's values (batch-last, a
// contiguous run).
// As Swift SIMD loops they compiled to SSE2 (the baseline x86-64 target) and with the xhat array BatchNorm wrote
// in forward took 9% of scoring; the sums stay in double (a channel holds up to 64 × 32² values).
#include "cmednnkernels.h"
#include "kernel_simd.h"

MED_FAST void med_sum_squares(const float *x, size_t n, double *sum, double *squares) {
#pragma clang fp reassociate(on)  // lets the sums vectorise (the order is fixed by the build, not by the data)
    double s = 0, q = 0;
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        s += v;
        q += v * v;
    }
    *sum = s;
    *squares = q;
}

MED_FAST void med_bn_sums(const float *dy, const float *x, size_t n, float mean, float inverse, double *sumDy, double *sumDyXhat) {
#pragma clang fp reassociate(on)
    double s = 0, p = 0;
    for (size_t i = 0; i < n; i++) {
        double g = dy[i];
        s += g;
        p += g * (double)((x[i] - mean) * inverse);
    }
    *sumDy = s;
    *sumDyXhat = p;
}

MED_FAST void med_bn_apply(const float *x, size_t n, float mean, float inverse, float gamma, float beta, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = gamma * ((x[i] - mean) * inverse) + beta;
}

MED_FAST void med_bn_backward(const float *dy, const float *x, size_t n, float mean, float inverse, float scale, float meanDy,
                              float meanDyXhat, float *dx) {
    for (size_t i = 0; i < n; i++) dx[i] = scale * (dy[i] - meanDy - (x[i] - mean) * inverse * meanDyXhat);
}

MED_FAST void med_scale(const float *x, size_t n, float scale, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = scale * x[i];
}

MED_FAST void med_relu(const float *x, size_t n, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

MED_FAST void med_relu_backward(const float *dy, const float *y, size_t n, float *dx) {
    for (size_t i = 0; i < n; i++) dx[i] = y[i] > 0 ? dy[i] : 0;
}

MED_FAST void med_multiply_runs(const float *x, size_t runs, size_t n, const float *row, float *y) {
    for (size_t p = 0; p < runs; p++)
        for (size_t i = 0; i < n; i++) y[p * n + i] = x[p * n + i] * row[i];
}
