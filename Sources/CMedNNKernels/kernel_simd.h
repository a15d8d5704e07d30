// What the kernels share: AVX-512 and AVX2 clones of each kernel chosen at run time on x86-64 with clang
// (plain C elsewhere), and 16-float vectors that load and store at a float's alignment.
#ifndef MED_SIMD_H
#define MED_SIMD_H

#if defined(__x86_64__) && defined(__clang__)
#define MED_FAST __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MED_FAST
#endif

typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4)));
#define load(p) (*(const v16u *)(p))
#define store(p, v) (*(v16u *)(p) = (v))

#endif
