// A small plain-C API over DCMTK, so that Swift never sees C++.
// Every function that can fail takes (err, errlen) and writes DCMTK's message there;
// DCMTK's own logger is switched off so nothing reaches stderr.
#ifndef CDCMTK_H
#define CDCMTK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct MedDcm MedDcm;

/// Pixel module attributes, as stored in the dataset.
typedef struct {
    uint32_t rows;
    uint32_t columns;
    uint32_t frames;
    uint16_t samplesPerPixel;
    uint16_t bitsAllocated;
    uint16_t bitsStored;
    uint16_t highBit;
    uint16_t pixelRepresentation;
    uint16_t planarConfiguration;
} MedDcmPixelInfo;

/// Transfer syntaxes medad writes (the synthesize stage spreads its files over these).
typedef enum {
    MED_DCM_IMPLICIT_LITTLE = 0,
    MED_DCM_EXPLICIT_LITTLE = 1,
    MED_DCM_EXPLICIT_BIG = 2,
    MED_DCM_DEFLATED = 3,
    MED_DCM_JPEG_BASELINE = 4,
    MED_DCM_JPEG_LOSSLESS_SV1 = 5,
    MED_DCM_JPEGLS_LOSSLESS = 6,
    MED_DCM_RLE = 7
} MedDcmSyntax;

/// Registers DCMTK's decoders and encoders (JPEG, JPEG-LS, RLE) once and turns its logging off.
/// Thread-safe; every other function calls it.
void med_dcm_initialize(void);

/// Opens and parses a file, with or without the 128-byte preamble. NULL on failure.
MedDcm *med_dcm_open(const char *path, char *err, size_t errlen);
/// An empty dataset to fill with med_dcm_put_* and save.
MedDcm *med_dcm_new(void);
void med_dcm_close(MedDcm *dcm);

/// A tag's value as text (multiple values joined by '\'). Returns 1 when present, 0 when absent.
/// Only the top-level dataset is searched; the meta header's (0002,xxxx) tags are read from the meta header.
int med_dcm_get_string(MedDcm *dcm, uint16_t group, uint16_t element, char *buf, size_t buflen);
/// The UID of the transfer syntax the file was read in; empty when unknown.
void med_dcm_transfer_syntax(MedDcm *dcm, char *buf, size_t buflen);
/// Returns 1 when the dataset holds Pixel Data.
int med_dcm_has_pixel_data(MedDcm *dcm);
/// Reads the pixel module. Returns 0 on success.
int med_dcm_pixel_info(MedDcm *dcm, MedDcmPixelInfo *info, char *err, size_t errlen);
/// Returns 1 when Pixel Data is stored uncompressed (native) and its value holds at least `bytes` bytes, so
/// that every frame can be read without decoding; 0 otherwise.
int med_dcm_native_pixels_complete(MedDcm *dcm, uint64_t bytes);
/// Size in bytes of one decoded frame (rows × columns × samples × bitsAllocated/8, rounded up to even).
/// Pixel Data as stored: native (its length in bytes) or encapsulated (the fragments' total bytes and count,
/// the offset table left out). 1 when there is no Pixel Data.
int med_dcm_pixel_layout(MedDcm *dcm, int *encapsulated, uint64_t *bytes, uint32_t *fragments);
int med_dcm_frame_size(MedDcm *dcm, uint32_t *size, char *err, size_t errlen);
/// Where native Pixel Data's value starts in the file, when its bytes there are the samples as read: a little
/// endian syntax (not deflated) and a value DCMTK has not loaded yet (so it reads it from that offset). 1 otherwise.
int med_dcm_native_pixel_offset(MedDcm *dcm, uint64_t *offset);
/// Decodes one frame (0-based) into the caller's buffer: raw stored values in native byte order,
/// one uint8 / uint16 / uint32 per sample according to bitsAllocated. Returns 0 on success.
int med_dcm_decode_frame(MedDcm *dcm, uint32_t frame, void *buffer, size_t buflen, char *err, size_t errlen);

/// A copy of native (uncompressed) Pixel Data's bytes as the file stores them (little endian), for what DCMTK
/// does not unpack by frame (Bits Allocated 1: frames packed bit after bit). Free with free().
int med_dcm_native_pixel_bytes(MedDcm *dcm, uint8_t **data, size_t *size, char *err, size_t errlen);

/// The compressed bytes of one frame of encapsulated Pixel Data (its fragments joined), for codecs DCMTK
/// lacks (JPEG 2000) or that are faster outside it. Returns 0 and a malloc'ed buffer to free() on success.
int med_dcm_encapsulated_frame(MedDcm *dcm, uint32_t frame, uint8_t **data, size_t *size, char *err, size_t errlen);

/// The first VOI LUT of the VOI LUT Sequence (0028,3010): returns 1 and fills the descriptor when present,
/// 0 when absent, -1 when malformed (message in err). `data` receives up to `capacity` entries.
int med_dcm_voi_lut(MedDcm *dcm, uint32_t *entries, int32_t *firstMapped, uint16_t *bits, uint16_t *data,
                    size_t capacity, char *err, size_t errlen);

/// Sets a top-level attribute from text; the VR comes from DCMTK's dictionary.
int med_dcm_put_string(MedDcm *dcm, uint16_t group, uint16_t element, const char *value, char *err, size_t errlen);
int med_dcm_put_uint16(MedDcm *dcm, uint16_t group, uint16_t element, uint16_t value, char *err, size_t errlen);
/// Sets Pixel Data: OB with 8-bit samples, OW with 16-bit samples (native byte order).
int med_dcm_put_pixels(MedDcm *dcm, const void *pixels, size_t count, uint16_t bitsAllocated, char *err, size_t errlen);
/// Encodes into the syntax and writes a file with preamble and meta header.
int med_dcm_save(MedDcm *dcm, const char *path, MedDcmSyntax syntax, int jpegQuality, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
