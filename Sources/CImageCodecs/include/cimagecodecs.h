// Plain-C wrappers over libpng, libjpeg-turbo and OpenJPEG. All three report errors through longjmp or
// callbacks, which must not cross Swift frames; these wrappers catch them and return a message instead.
#ifndef CIMAGECODECS_H
#define CIMAGECODECS_H

#include <stddef.h>
#include <stdint.h>

#include "cimagekernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/// A decoded image owned by C: samples interleaved, row-major; `bytesPerSample` is 1 or 2 (native
/// byte order) for PNG and JPEG, 4 (int32) for JPEG 2000. Free with med_decoded_free.
typedef struct {
    uint32_t width;
    uint32_t height;
    uint32_t channels;
    uint32_t bitsPerSample;   // precision of the samples (e.g. 8, 12, 16)
    uint32_t bytesPerSample;
    uint32_t isSigned;
    void *pixels;
} MedDecoded;

void med_decoded_free(MedDecoded *image);

/// Reads a PNG: palette and low-bit grey expanded to 8 bits, alpha dropped, 16-bit kept.
/// `maxPixels` bounds width × height before anything is allocated. Returns 0 on success.
int med_png_read(const char *path, uint64_t maxPixels, MedDecoded *out, char *err, size_t errlen);

/// Writes a grey (channels 1) or RGB (channels 3, interleaved) PNG of 8 or 16 bits (16-bit samples in native
/// byte order), tuned for speed.
int med_png_write(const char *path, const void *pixels, uint32_t width, uint32_t height, int bitDepth, int channels,
                  char *err, size_t errlen);

/// Decodes a JPEG stream (8-bit baseline or progressive; grey or colour, colour converted to RGB as
/// libjpeg does for Pillow) into `pixels`: `capacity` bytes, at least width × height × channels as
/// med_jpeg_header reports them (an error otherwise). Returns 0 on success.
int med_jpeg_decode(const uint8_t *data, size_t size, uint64_t maxPixels, uint8_t *pixels, size_t capacity, char *err,
                    size_t errlen);

/// Reads a JPEG stream's header only: its width, height and components, with the same refusals as decoding
/// (too many pixels, more blocks than the stream could code, components other than 1 or 3). Entropy-coded damage
/// is not seen. Returns 0 on success.
int med_jpeg_header(const uint8_t *data, size_t size, uint64_t maxPixels, uint32_t *width, uint32_t *height,
                    uint32_t *channels, char *err, size_t errlen);

/// Decodes a JPEG 2000 codestream or JP2 file held in memory. Returns 0 on success.
int med_j2k_decode(const uint8_t *data, size_t size, uint64_t maxPixels, MedDecoded *out, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
