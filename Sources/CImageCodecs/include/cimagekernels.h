// The per-pixel loops of normalize, in C so that x86-64 builds get AVX-512 and AVX2 clones chosen at run time
// (target_clones) while staying runnable on any x86-64 and building on other architectures.
#ifndef CIMAGEKERNELS_H
#define CIMAGEKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Minimum, maximum, sum and sum of squares of n samples.
void med_stats_u16(const uint16_t *p, size_t n, uint16_t *low, uint16_t *high, double *sum, double *sumSquares);

/// med_stats_u16 taken piece by piece while the samples arrive: the same sums in the same blocks of 65,536
/// samples (so the same doubles), each piece masked in place first (bits above Bits Stored cleared) and counted
/// while it is still in cache. Start from med_stats_stream_start, end with med_stats_stream_finish.
typedef struct {
    uint16_t low, high;
    double sum, sumSquares;
    uint64_t blockSum, blockSquares;
    size_t blockFill;
} MedStatsStream;
void med_stats_stream_start(MedStatsStream *s);
void med_mask_stats_u16(uint16_t *p, size_t n, uint16_t mask, MedStatsStream *s);
void med_stats_stream_finish(MedStatsStream *s);

void med_stats_u8(const uint8_t *p, size_t n, uint8_t *low, uint8_t *high, double *sum, double *sumSquares);
/// dst[i] = table[src[i] - base]
void med_map_u8_u8(const uint8_t *src, size_t n, uint32_t base, const uint8_t *table, uint8_t *dst);
void med_map_u16_u8(const uint16_t *src, size_t n, uint32_t base, const uint8_t *table, uint8_t *dst);
void med_map_u16_u16(const uint16_t *src, size_t n, uint32_t base, const uint16_t *table, uint16_t *dst);

/// Pillow's horizontal 8-bit pass over grey levels looked up in a table: `lines` rows of `stride` samples
/// (sampleBytes 1 or 2, unsigned) from `src`, each sample read as table[sample - base] (as itself when `table` is
/// NULL: 8-bit samples only), to rows of `outCount`;
/// output x sums count[x] levels from first[x] with fixed-point weights[x * taps ...] (22 fractional bits).
/// Returns nonzero when its buffers cannot be allocated.
int med_resize_h8_lookup(const void *src, size_t sampleBytes, size_t stride, size_t lines, uint32_t base,
                         const uint8_t *table, size_t outCount, const int32_t *first, const int32_t *count,
                         const int32_t *weights, size_t taps, uint8_t *dst);

/// Pillow's vertical 8-bit pass: output row y sums count[y] rows from first[y] of a `width`-wide image.
void med_resize_v8(const uint8_t *src, size_t width, size_t outRows, const int32_t *first, const int32_t *count,
                   const int32_t *weights, size_t taps, uint8_t *dst);

/// The difference hash's cell sums (MedImage/PerceptualHash.swift): for each row y in order, for each of its
/// rowCount[y] cell rows (rowCell, rowWeight from rowStart[y]), for each step j in order, for each of `cellsX`
/// cells c: cells[cy·cellsX + c] += (pixel[partX[j·cellsX + c]] · wy) · partShare[j·cellsX + c], in IEEE
/// double without contraction, so exactly the sums the Swift loop made. sampleBytes: 1 or 2 (unsigned) or 4 (signed).
/// cellsX must be 17; returns nonzero otherwise.
int med_dhash_cells(const void *pixels, size_t sampleBytes, size_t width, size_t height, const int32_t *rowStart,
                    const int32_t *rowCount, const int32_t *rowCell, const double *rowWeight, const int32_t *partX,
                    const double *partShare, size_t steps, size_t cellsX, double *cells);

#endif
