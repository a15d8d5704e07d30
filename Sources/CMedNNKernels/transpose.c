// See cmednnkernels.h. 16×16 blocks through a shuffle network (four rounds of interleaving row i with row i + 8):
// the Swift loop of 8×8 scalar blocks took 1–2% of a training step and 2% of scoring at the models' input and output.
#include "cmednnkernels.h"
#include "kernel_simd.h"

#include <string.h>

enum { B = 16 };

MED_FAST void med_transpose(const float *src, size_t rows, size_t columns, size_t firstColumn, size_t lastColumn, float *dst) {
    size_t fullRows = rows / B * B;
    size_t c0 = firstColumn;
    for (; c0 + B <= lastColumn; c0 += B) {
        for (size_t r0 = 0; r0 < fullRows; r0 += B) {
            v16 v[B];
            for (int i = 0; i < B; i++) v[i] = load(src + (r0 + i) * columns + c0);
            for (int round = 0; round < 4; round++) {
                v16 t[B];
                for (int i = 0; i < B / 2; i++) {
                    t[2 * i] = __builtin_shufflevector(v[i], v[i + 8], 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
                    t[2 * i + 1] =
                        __builtin_shufflevector(v[i], v[i + 8], 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
                }
                memcpy(v, t, sizeof v);
            }
            for (int i = 0; i < B; i++) store(dst + (c0 + i) * rows + r0, v[i]);
        }
        for (size_t r = fullRows; r < rows; r++)
            for (size_t c = c0; c < c0 + B; c++) dst[c * rows + r] = src[r * columns + c];
    }
    for (size_t c = c0; c < lastColumn; c++)
        for (size_t r = 0; r < rows; r++) dst[c * rows + r] = src[r * columns + c];
}
