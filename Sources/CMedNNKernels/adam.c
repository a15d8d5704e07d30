// See cmednnkernels.h. As a Swift loop of SIMD8 values the update compiled to SSE2 (the baseline x86-64 target)
// and took 6–8% of a training step; here the AVX-512 clone runs it at memory speed.
#include "cmednnkernels.h"
#include "kernel_simd.h"

#include <math.h>

MED_FAST void med_adam_update(float *restrict theta, const float *restrict grad, float *restrict m, float *restrict v, size_t n,
                              float beta1, float beta2, float stepSize, float root2, float eps, float weightDecay) {
    for (size_t i = 0; i < n; i++) {
        float g = grad[i] + weightDecay * theta[i];
        float m1 = beta1 * m[i] + (1 - beta1) * g;
        float v1 = beta2 * v[i] + (1 - beta2) * g * g;
        m[i] = m1;
        v[i] = v1;
        theta[i] -= stepSize * m1 / (sqrtf(v1) / root2 + eps);
    }
}
