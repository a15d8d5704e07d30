#!/usr/bin/env bash
# Builds bench/kernel_isas/harness.c against the direct convolution kernels for AVX-512, AVX2 and SSE2 with gcc and
# runs each (harness.c says why). Needs gcc; exits non-zero when any build disagrees with the reference.
set -euo pipefail
cd "$(dirname "$0")/../.."
kernels=Sources/CMedNNKernels
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for flags in "-mavx512f -mfma" "-mavx2 -mfma" "-msse2"; do
  gcc -O2 -fno-math-errno -I"$kernels/include" -I"$kernels" $flags bench/kernel_isas/harness.c \
    "$kernels/gather_gemm.c" "$kernels/gather_gemm_acc.c" -o "$out/harness" -lm
  printf '%-16s ' "$flags"
  "$out/harness"
done
