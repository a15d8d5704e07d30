// See cmednnkernels.h: BatchNorm's (with or without the ReLU after it), ReLU's and channel dropout's loops over one
// channel's values (batch-last, a contiguous run).
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

/// The channel's output before ReLU, one expression in one place, so that backward's ReLU mask is forward's bit for bit.
static inline __attribute__((always_inline)) float bn_output(float x, med_bn_channel c) {
    return c.gamma * ((x - c.mean) * c.inverse) + c.beta;
}

/// dy where the ReLU (if any) passed the output of input x, else 0.
static inline __attribute__((always_inline)) float relu_gate(float dy, float x, med_bn_channel c) {
    return !c.relu || bn_output(x, c) > 0 ? dy : 0;
}

MED_FAST void med_bn_sums(const float *dy, const float *x, size_t n, med_bn_channel c, double *sumDy, double *sumDyXhat) {
#pragma clang fp reassociate(on)
    double s = 0, p = 0;
    for (size_t i = 0; i < n; i++) {
        double g = relu_gate(dy[i], x[i], c);
        s += g;
        p += g * (double)((x[i] - c.mean) * c.inverse);
    }
    *sumDy = s;
    *sumDyXhat = p;
}

MED_FAST void med_bn_apply(const float *x, size_t n, med_bn_channel c, float *y) {
    for (size_t i = 0; i < n; i++) {
        float v = bn_output(x[i], c);
        y[i] = !c.relu || v > 0 ? v : 0;
    }
}

MED_FAST void med_bn_backward(const float *dy, const float *x, size_t n, med_bn_channel c, float scale, float meanDy,
                              float meanDyXhat, float *dx) {
    for (size_t i = 0; i < n; i++)
        dx[i] = scale * (relu_gate(dy[i], x[i], c) - meanDy - (x[i] - c.mean) * c.inverse * meanDyXhat);
}

MED_FAST void med_bn_scale(const float *dy, const float *x, size_t n, med_bn_channel c, float scale, float *dx) {
    for (size_t i = 0; i < n; i++) dx[i] = scale * relu_gate(dy[i], x[i], c);
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
