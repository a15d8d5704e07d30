// See cimagekernels.h. Measured on 1955×1841 radiographs: with AVX2 the grey-level and resize passes take
// about 60% of the SSE2 time (2.5 → 1.5 ms for the resize, 2.0 → 1.2 ms for statistics and mapping). Reading the
// grey-level table inside the horizontal pass, 16 rows per vector, took mapping + horizontal pass from 2.85 to
// 1.8 ms (AVX-512, 1955 → 512 columns), with the same bytes.
#include "cimagekernels.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#define MED_FAST __attribute__((target_clones("avx512bw", "avx2", "default")))
#else
#define MED_FAST
#endif

enum { PRECISION_BITS = 32 - 8 - 2 };

static inline uint8_t clip8(int32_t v) {
    if (v >= (255 << PRECISION_BITS)) return 255;
    if (v <= 0) return 0;
    return (uint8_t)(v >> PRECISION_BITS);
}

// One block's worth (at most 65,536 samples) of med_stats_u16's integer sums, exact; with `dst` the samples are
// masked and written back first. Inlined into each caller, so the read-only and masking loops each get their own code.
static inline __attribute__((always_inline)) void stats_block_u16(const uint16_t *p, uint16_t *dst, size_t n,
                                                                  uint16_t mask, uint16_t *lo, uint16_t *hi,
                                                                  uint64_t *sum, uint64_t *squares) {
    // The sum fits 32 bits (65,536 × 65,535 < 2^32), which spares widening it: 0.43 → 0.35 ms a radiograph.
    uint32_t blockSum = 0;
    uint64_t blockSquares = 0;
    uint16_t blockLo = 0xFFFF, blockHi = 0;
    for (size_t i = 0; i < n; i++) {
        uint16_t v = p[i] & mask;
        if (dst) dst[i] = v;
        blockLo = v < blockLo ? v : blockLo;
        blockHi = v > blockHi ? v : blockHi;
        blockSum += v;
        blockSquares += (uint64_t)((uint32_t)v * v);
    }
    *lo = blockLo < *lo ? blockLo : *lo;
    *hi = blockHi > *hi ? blockHi : *hi;
    *sum += blockSum;
    *squares += blockSquares;
}

MED_FAST void med_stats_u16(const uint16_t *p, size_t n, uint16_t *low, uint16_t *high, double *sum, double *sumSquares) {
    uint16_t lo = 0xFFFF, hi = 0;
    double total = 0, squares = 0;
    // Integer sums over blocks of 65,536 stay exact (squares below 2^32 each, block sums below 2^48).
    for (size_t start = 0; start < n; start += 65536) {
        uint64_t blockSum = 0, blockSquares = 0;
        stats_block_u16(p + start, NULL, n - start < 65536 ? n - start : 65536, 0xFFFF, &lo, &hi, &blockSum, &blockSquares);
        total += (double)blockSum;
        squares += (double)blockSquares;
    }
    *low = lo;
    *high = hi;
    *sum = total;
    *sumSquares = squares;
}

void med_stats_stream_start(MedStatsStream *s) {
    memset(s, 0, sizeof *s);
    s->low = 0xFFFF;
}

static void stats_stream_flush(MedStatsStream *s) {
    s->sum += (double)s->blockSum;
    s->sumSquares += (double)s->blockSquares;
    s->blockSum = s->blockSquares = 0;
    s->blockFill = 0;
}

MED_FAST void med_mask_stats_u16(uint16_t *p, size_t n, uint16_t mask, MedStatsStream *s) {
    while (n > 0) {
        size_t take = 65536 - s->blockFill < n ? 65536 - s->blockFill : n;
        stats_block_u16(p, p, take, mask, &s->low, &s->high, &s->blockSum, &s->blockSquares);
        s->blockFill += take;
        if (s->blockFill == 65536) stats_stream_flush(s);
        p += take;
        n -= take;
    }
}

void med_stats_stream_finish(MedStatsStream *s) {
    if (s->blockFill > 0) stats_stream_flush(s);
}

MED_FAST void med_stats_u8(const uint8_t *p, size_t n, uint8_t *low, uint8_t *high, double *sum, double *sumSquares) {
    uint8_t lo = 0xFF, hi = 0;
    uint64_t total = 0, squares = 0;  // exact: below 2^16 per value, 2^64 for any image that fits in memory
    for (size_t i = 0; i < n; i++) {
        uint8_t v = p[i];
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        total += v;
        squares += (uint32_t)v * v;
    }
    *low = lo;
    *high = hi;
    *sum = (double)total;
    *sumSquares = (double)squares;
}

MED_FAST void med_map_u8_u8(const uint8_t *src, size_t n, uint32_t base, const uint8_t *table, uint8_t *dst) {
    for (size_t i = 0; i < n; i++) dst[i] = table[(uint32_t)src[i] - base];
}

MED_FAST void med_map_u16_u8(const uint16_t *src, size_t n, uint32_t base, const uint8_t *table, uint8_t *dst) {
    for (size_t i = 0; i < n; i++) dst[i] = table[(uint32_t)src[i] - base];
}

MED_FAST void med_map_u16_u16(const uint16_t *src, size_t n, uint32_t base, const uint16_t *table, uint16_t *dst) {
    for (size_t i = 0; i < n; i++) dst[i] = table[(uint32_t)src[i] - base];
}

enum { LANES = 16 };  // rows resampled together: one 512-bit vector of int32 sums (two with AVX2)
// Vector extensions, so that each clone uses its own instruction set (clang left the lane loops half-vectorised).
typedef int32_t lanes_i32 __attribute__((vector_size(LANES * sizeof(int32_t))));
typedef uint8_t lanes_u8 __attribute__((vector_size(LANES)));

// Transposes LANES rows of LANES bytes: four rounds of interleaving row i with row i + 8 (a perfect shuffle each).
// Inlined into each clone: compiled for plain x86-64 on its own, it spilled and cost 1 ms a radiograph.
static inline __attribute__((always_inline)) void transpose16(lanes_u8 v[LANES]) {
    for (int round = 0; round < 4; round++) {
        lanes_u8 t[LANES];
        for (int i = 0; i < 8; i++) {
            t[2 * i] = __builtin_shufflevector(v[i], v[i + 8], 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
            t[2 * i + 1] = __builtin_shufflevector(v[i], v[i + 8], 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        }
        for (int i = 0; i < 16; i++) v[i] = t[i];
    }
}

// Looks up `columns` columns of `rows` rows (the last repeated up to LANES) into cols[x * LANES + r]: each row
// is looked up in sequence into `levels` (LANES rows of `padded` bytes, padded ≥ columns, a multiple of 16), then
// 16×16 blocks are transposed. Looking up straight into the column layout was 1.5× slower (16 read streams).
static inline __attribute__((always_inline)) void lookup_columns(const void *src, size_t sampleBytes, size_t stride,
                                                                size_t rows, size_t columns, size_t padded, uint32_t base,
                                                                const uint8_t *table, uint8_t *levels, uint8_t *cols) {
    for (size_t r = 0; r < LANES; r++) {
        size_t y = r < rows ? r : rows - 1;
        uint8_t *out = levels + r * padded;
        if (table == NULL) {  // 8-bit samples that are their own levels (JPEG, 8-bit PNG): no lookups
            memcpy(out, (const uint8_t *)src + y * stride, columns);
        } else if (sampleBytes == 2) {
            const uint16_t *row = (const uint16_t *)src + y * stride;
#pragma clang loop vectorize(disable)  // vectorised, the lookups become lane inserts: 1.5× slower
            for (size_t x = 0; x < columns; x++) out[x] = table[(uint32_t)row[x] - base];
        } else {
            const uint8_t *row = (const uint8_t *)src + y * stride;
#pragma clang loop vectorize(disable)
            for (size_t x = 0; x < columns; x++) out[x] = table[(uint32_t)row[x] - base];
        }
        memset(out + columns, 0, padded - columns);
    }
    for (size_t x0 = 0; x0 < padded; x0 += 16) {
        lanes_u8 v[LANES];
        for (size_t r = 0; r < LANES; r++) memcpy(&v[r], levels + r * padded + x0, 16);
        transpose16(v);
        memcpy(cols + x0 * LANES, v, sizeof v);
    }
}

MED_FAST int med_resize_h8_lookup(const void *src, size_t sampleBytes, size_t stride, size_t lines, uint32_t base,
                                  const uint8_t *table, size_t outCount, const int32_t *first, const int32_t *count,
                                  const int32_t *weights, size_t taps, uint8_t *dst) {
    const int32_t half = 1 << (PRECISION_BITS - 1);
    size_t columns = 0;
    for (size_t x = 0; x < outCount; x++) {
        size_t end = (size_t)first[x] + (size_t)count[x];
        columns = end > columns ? end : columns;
    }
    size_t padded = (columns + 15) / 16 * 16;
    uint8_t *cols = malloc(LANES * (padded > 0 ? padded : 16));
    uint8_t *levels = malloc(LANES * (padded > 0 ? padded : 16));
    uint8_t *sums = malloc(LANES * (outCount > 0 ? outCount : 1));
    if (cols == NULL || levels == NULL || sums == NULL) {
        free(cols);
        free(levels);
        free(sums);
        return 1;
    }
    for (size_t y0 = 0; y0 < lines; y0 += LANES) {
        size_t rows = lines - y0 < LANES ? lines - y0 : LANES;
        lookup_columns((const uint8_t *)src + y0 * stride * sampleBytes, sampleBytes, stride, rows, columns, padded, base,
                       table, levels, cols);
        for (size_t x = 0; x < outCount; x++) {
            lanes_i32 acc = (lanes_i32){0} + half;
            const int32_t *w = weights + x * taps;
            const uint8_t *c = cols + (size_t)first[x] * LANES;
            for (int32_t t = 0; t < count[x]; t++, c += LANES) {
                lanes_u8 v;
                memcpy(&v, c, sizeof v);
                acc += w[t] * __builtin_convertvector(v, lanes_i32);
            }
            // clip8 on every lane: below 0 → 0, from 255 << PRECISION_BITS → 255.
            acc = __builtin_elementwise_max(acc, (lanes_i32){0});
            acc = __builtin_elementwise_min(acc, (lanes_i32){0} + (255 << PRECISION_BITS));
            lanes_u8 bytes = __builtin_convertvector(acc >> PRECISION_BITS, lanes_u8);
            memcpy(sums + x * LANES, &bytes, LANES);
        }
        // Back to rows: 16×16 blocks transposed, the last columns one by one.
        size_t whole = outCount / 16 * 16;
        for (size_t x0 = 0; x0 < whole; x0 += 16) {
            lanes_u8 v[LANES];
            memcpy(v, sums + x0 * LANES, sizeof v);
            transpose16(v);
            for (size_t r = 0; r < rows; r++) memcpy(dst + (y0 + r) * outCount + x0, &v[r], 16);
        }
        for (size_t r = 0; r < rows; r++) {
            for (size_t x = whole; x < outCount; x++) dst[(y0 + r) * outCount + x] = sums[x * LANES + r];
        }
    }
    free(cols);
    free(levels);
    free(sums);
    return 0;
}

MED_FAST void med_resize_v8(const uint8_t *src, size_t width, size_t outRows, const int32_t *first, const int32_t *count,
                            const int32_t *weights, size_t taps, uint8_t *dst) {
    const int32_t half = 1 << (PRECISION_BITS - 1);
    int32_t *sums = malloc(sizeof(int32_t) * (width > 0 ? width : 1));
    if (sums == NULL) return;  // caller's output stays as allocated; cannot happen for sizes that passed max_pixels
    for (size_t y = 0; y < outRows; y++) {
        for (size_t x = 0; x < width; x++) sums[x] = half;
        // Row by row keeps the inner loop contiguous; integer sums do not depend on the order.
        for (int32_t k = 0; k < count[y]; k++) {
            const uint8_t *row = src + (size_t)(first[y] + k) * width;
            int32_t w = weights[y * taps + k];
            for (size_t x = 0; x < width; x++) sums[x] += (int32_t)row[x] * w;
        }
        for (size_t x = 0; x < width; x++) dst[y * width + x] = clip8(sums[x]);
    }
    free(sums);
}

// One row's terms, as the Swift loop added them (cell sums side by side, step by step), for one sample type; the
// 17 sums of a cell row stay in registers across the steps.
#define DHASH_CELLS 17
#define DHASH_ROW(T)                                                                                               \
    do {                                                                                                           \
        const T *px = (const T *)pixels + y * width;                                                               \
        for (int32_t k = rowStart[y]; k < rowStart[y] + rowCount[y]; k++) {                                        \
            double *row = cells + (size_t)rowCell[k] * DHASH_CELLS, wy = rowWeight[k], sums[DHASH_CELLS];          \
            for (size_t c = 0; c < DHASH_CELLS; c++) sums[c] = row[c];                                             \
            for (size_t j = 0; j < steps; j++) {                                                                   \
                const int32_t *x = partX + j * DHASH_CELLS;                                                        \
                const double *share = partShare + j * DHASH_CELLS;                                                 \
                for (size_t c = 0; c < DHASH_CELLS; c++) sums[c] = sums[c] + ((double)px[x[c]] * wy) * share[c];  \
            }                                                                                                      \
            for (size_t c = 0; c < DHASH_CELLS; c++) row[c] = sums[c];                                             \
        }                                                                                                          \
    } while (0)

// The terms are independent across cells, so they overlap; the Swift loop's lane inserts into a SIMD16<Double>
// took 0.39 ms of a 512² image. cellsX must be 17 (16 bits a row and the cell to the right of the last).
MED_FAST int med_dhash_cells(const void *pixels, size_t sampleBytes, size_t width, size_t height, const int32_t *rowStart,
                             const int32_t *rowCount, const int32_t *rowCell, const double *rowWeight, const int32_t *partX,
                             const double *partShare, size_t steps, size_t cellsX, double *cells) {
#pragma clang fp contract(off)  // (p · wy) · share, then the addition: no fused multiply-add, as in Swift
    if (cellsX != DHASH_CELLS) return 1;
    for (size_t y = 0; y < height; y++) {
        if (sampleBytes == 1) DHASH_ROW(uint8_t);
        else if (sampleBytes == 2) DHASH_ROW(uint16_t);
        else DHASH_ROW(int32_t);
    }
    return 0;
}
