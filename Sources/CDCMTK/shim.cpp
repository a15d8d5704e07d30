// The DCMTK shim behind cdcmtk.h. Pixels are read from the dataset (getUncompressedFrame), never through
// DicomImage: DESIGN.md measured the dataset route several times faster, and grey-level work is ours.
#include "cdcmtk.h"

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dccodec.h"
#include "dcmtk/dcmdata/dctk.h"
#include "dcmtk/dcmdata/dcistrmf.h"
#include "dcmtk/dcmdata/dcpxitem.h"
#include "dcmtk/dcmdata/dcrledrg.h"
#include "dcmtk/dcmdata/dcrleerg.h"
#include "dcmtk/dcmdata/dcrlerp.h"
#include "dcmtk/dcmjpeg/djdecode.h"
#include "dcmtk/dcmjpeg/djencode.h"
#include "dcmtk/dcmjpeg/djrplol.h"
#include "dcmtk/dcmjpeg/djrploss.h"
#include "dcmtk/dcmjpls/djdecode.h"
#include "dcmtk/dcmjpls/djencode.h"
#include "dcmtk/dcmjpls/djrparam.h"
#include "dcmtk/oflog/appender.h"
#include "dcmtk/oflog/logger.h"
#include "dcmtk/oflog/oflog.h"
#include "dcmtk/oflog/spi/logevent.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

struct MedDcm {
    DcmFileFormat file;
};

static void set_error(char *err, size_t errlen, const std::string &message) {
    if (err == nullptr || errlen == 0) return;
    std::strncpy(err, message.c_str(), errlen - 1);
    err[errlen - 1] = '\0';
}

static int fail(char *err, size_t errlen, const std::string &context, const OFCondition &cond) {
    set_error(err, errlen, context + ": " + cond.text());
    return 1;
}

// DCMTK's decoders report damaged data they recovered from (libjpeg's "premature end of data", RLE segments
// that run short) only as log warnings and return success with made-up pixels. Nothing is printed: warnings
// are collected per thread, and a decode that warned is a failure whose reason is the first warning.
static thread_local std::string capturedWarnings;

class WarningCapture : public dcmtk::log4cplus::Appender {
  public:
    ~WarningCapture() override { destructorImpl(); }
    void close() override {}

  protected:
    void append(const dcmtk::log4cplus::spi::InternalLoggingEvent &event) override {
        if (event.getLogLevel() < dcmtk::log4cplus::WARN_LOG_LEVEL) return;
        if (!capturedWarnings.empty()) capturedWarnings += "; ";
        if (capturedWarnings.size() < 512) capturedWarnings += event.getMessage().c_str();
    }
};

extern "C" void med_dcm_initialize(void) {
    static std::once_flag once;
    std::call_once(once, [] {
        dcmtk::log4cplus::Logger root = dcmtk::log4cplus::Logger::getRoot();
        root.removeAllAppenders();
        root.addAppender(dcmtk::log4cplus::SharedAppenderPtr(new WarningCapture()));
        root.setLogLevel(dcmtk::log4cplus::WARN_LOG_LEVEL);
        DJDecoderRegistration::registerCodecs();
        DJLSDecoderRegistration::registerCodecs();
        DcmRLEDecoderRegistration::registerCodecs();
        // Keep the SOP Instance UID on lossy encoding: it is the image's identity downstream.
        DJEncoderRegistration::registerCodecs(ECC_lossyYCbCr, EUC_never);
        // Raw, not "cooked", JPEG-LS encoding: DCMTK 3.6.7's cooked path writes past its compression buffer when
        // the stream outgrows its estimate (tiny images, noisy 16-bit ones), corrupting the heap (valgrind).
        DJLSEncoderRegistration::registerCodecs(0, 0, 0, 0, OFFalse, 0, OFTrue, EJLSUC_never);
        DcmRLEEncoderRegistration::registerCodecs();
    });
}

extern "C" MedDcm *med_dcm_open(const char *path, char *err, size_t errlen) {
    med_dcm_initialize();
    MedDcm *dcm = new MedDcm();
    OFCondition cond = dcm->file.loadFile(OFFilename(path), EXS_Unknown, EGL_noChange, DCM_MaxReadLength, ERM_autoDetect);
    if (cond.bad()) {
        set_error(err, errlen, cond.text());
        delete dcm;
        return nullptr;
    }
    return dcm;
}

extern "C" MedDcm *med_dcm_new(void) {
    med_dcm_initialize();
    return new MedDcm();
}

extern "C" void med_dcm_close(MedDcm *dcm) { delete dcm; }

extern "C" int med_dcm_get_string(MedDcm *dcm, uint16_t group, uint16_t element, char *buf, size_t buflen) {
    DcmItem *item = group == 0x0002 ? static_cast<DcmItem *>(dcm->file.getMetaInfo())
                                    : static_cast<DcmItem *>(dcm->file.getDataset());
    OFString value;
    if (item == nullptr || item->findAndGetOFStringArray(DcmTagKey(group, element), value, OFFalse).bad()) {
        if (buflen > 0) buf[0] = '\0';
        return 0;
    }
    set_error(buf, buflen, std::string(value.c_str()));
    return 1;
}

extern "C" void med_dcm_transfer_syntax(MedDcm *dcm, char *buf, size_t buflen) {
    DcmXfer xfer(dcm->file.getDataset()->getOriginalXfer());
    set_error(buf, buflen, xfer.getXfer() == EXS_Unknown ? std::string() : std::string(xfer.getXferID()));
}

extern "C" int med_dcm_has_pixel_data(MedDcm *dcm) {
    return dcm->file.getDataset()->tagExists(DCM_PixelData) ? 1 : 0;
}

extern "C" int med_dcm_pixel_info(MedDcm *dcm, MedDcmPixelInfo *info, char *err, size_t errlen) {
    DcmDataset *ds = dcm->file.getDataset();
    std::memset(info, 0, sizeof(*info));
    Uint16 rows = 0, columns = 0;
    OFCondition cond = ds->findAndGetUint16(DCM_Rows, rows);
    if (cond.bad()) return fail(err, errlen, "Rows (0028,0010)", cond);
    cond = ds->findAndGetUint16(DCM_Columns, columns);
    if (cond.bad()) return fail(err, errlen, "Columns (0028,0011)", cond);
    cond = ds->findAndGetUint16(DCM_BitsAllocated, info->bitsAllocated);
    if (cond.bad()) return fail(err, errlen, "Bits Allocated (0028,0100)", cond);
    cond = ds->findAndGetUint16(DCM_PixelRepresentation, info->pixelRepresentation);
    if (cond.bad()) return fail(err, errlen, "Pixel Representation (0028,0103)", cond);
    if (ds->findAndGetUint16(DCM_BitsStored, info->bitsStored).bad()) info->bitsStored = info->bitsAllocated;
    if (ds->findAndGetUint16(DCM_HighBit, info->highBit).bad()) info->highBit = info->bitsStored - 1;
    if (ds->findAndGetUint16(DCM_SamplesPerPixel, info->samplesPerPixel).bad()) info->samplesPerPixel = 1;
    if (ds->findAndGetUint16(DCM_PlanarConfiguration, info->planarConfiguration).bad()) info->planarConfiguration = 0;
    Sint32 frames = 1;
    if (ds->tagExists(DCM_NumberOfFrames)) {
        OFString text;
        ds->findAndGetOFString(DCM_NumberOfFrames, text);
        if (ds->findAndGetSint32(DCM_NumberOfFrames, frames).bad() || frames < 1) {
            set_error(err, errlen, std::string("Number of Frames (0028,0008) is '") + text.c_str() + "', not a count of at least 1");
            return 1;
        }
    }
    info->rows = rows;
    info->columns = columns;
    info->frames = static_cast<uint32_t>(frames);
    return 0;
}

static DcmPixelData *pixel_data(MedDcm *dcm, char *err, size_t errlen) {
    DcmElement *element = nullptr;
    OFCondition cond = dcm->file.getDataset()->findAndGetElement(DCM_PixelData, element);
    if (cond.bad() || element == nullptr) {
        set_error(err, errlen, "no Pixel Data (7FE0,0010) in the dataset");
        return nullptr;
    }
    return OFstatic_cast(DcmPixelData *, element);
}

extern "C" int med_dcm_native_pixels_complete(MedDcm *dcm, uint64_t bytes) {
    DcmXfer xfer(dcm->file.getDataset()->getOriginalXfer());
    if (xfer.isEncapsulated() || xfer.getXfer() == EXS_Unknown) return 0;
    DcmElement *element = nullptr;
    if (dcm->file.getDataset()->findAndGetElement(DCM_PixelData, element).bad() || element == nullptr) return 0;
    return static_cast<uint64_t>(element->getLength()) >= bytes ? 1 : 0;
}

extern "C" int med_dcm_pixel_layout(MedDcm *dcm, int *encapsulated, uint64_t *bytes, uint32_t *fragments) {
    *encapsulated = 0;
    *bytes = 0;
    *fragments = 0;
    DcmDataset *ds = dcm->file.getDataset();
    DcmElement *element = nullptr;
    if (ds->findAndGetElement(DCM_PixelData, element).bad() || element == nullptr) return 1;
    DcmXfer xfer(ds->getOriginalXfer());
    if (!xfer.isEncapsulated()) {
        *bytes = element->getLength();
        return 0;
    }
    *encapsulated = 1;
    DcmPixelSequence *sequence = nullptr;
    if (OFstatic_cast(DcmPixelData *, element)->getEncapsulatedRepresentation(xfer.getXfer(), nullptr, sequence).bad() ||
        sequence == nullptr)
        return 1;
    unsigned long count = sequence->card();
    for (unsigned long i = 1; i < count; ++i) {  // item 0 is the offset table
        DcmPixelItem *item = nullptr;
        if (sequence->getItem(item, i).good() && item != nullptr) *bytes += item->getLength();
    }
    *fragments = count > 0 ? static_cast<uint32_t>(count - 1) : 0;
    return 0;
}

extern "C" int med_dcm_frame_size(MedDcm *dcm, uint32_t *size, char *err, size_t errlen) {
    DcmPixelData *pixels = pixel_data(dcm, err, errlen);
    if (pixels == nullptr) return 1;
    Uint32 frameSize = 0;
    OFCondition cond = pixels->getUncompressedFrameSize(dcm->file.getDataset(), frameSize);
    if (cond.bad()) return fail(err, errlen, "frame size", cond);
    *size = frameSize + (frameSize & 1);
    return 0;
}

extern "C" int med_dcm_native_pixel_offset(MedDcm *dcm, uint64_t *offset) {
    *offset = 0;
    DcmDataset *ds = dcm->file.getDataset();
    DcmXfer xfer(ds->getOriginalXfer());
    if (xfer.isEncapsulated() || xfer.getXfer() == EXS_Unknown || xfer.getByteOrder() != EBO_LittleEndian ||
        xfer.getStreamCompression() != ESC_none)
        return 1;
    DcmElement *element = nullptr;
    if (ds->findAndGetElement(DCM_PixelData, element).bad() || element == nullptr) return 1;
    const DcmInputStreamFactory *factory = element->getInputStream();
    if (factory == nullptr || factory->ident() != DFT_DcmInputFileStreamFactory) return 1;
    *offset = static_cast<uint64_t>(OFstatic_cast(const DcmInputFileStreamFactory *, factory)->getOffset());
    return 0;
}

extern "C" int med_dcm_decode_frame(MedDcm *dcm, uint32_t frame, void *buffer, size_t buflen, char *err, size_t errlen) {
    DcmPixelData *pixels = pixel_data(dcm, err, errlen);
    if (pixels == nullptr) return 1;
    DcmXfer original(dcm->file.getDataset()->getOriginalXfer());
    if (original.isEncapsulated() && !DcmCodecList::canChangeCoding(original.getXfer(), EXS_LittleEndianExplicit)) {
        set_error(err, errlen, std::string("unsupported transfer syntax ") + original.getXferID() + " (" + original.getXferName() + "): no decoder for it");
        return 1;
    }
    Uint32 startFragment = 0;
    OFString colorModel;
    capturedWarnings.clear();
    OFCondition cond = pixels->getUncompressedFrame(dcm->file.getDataset(), frame, startFragment, buffer,
                                                    static_cast<Uint32>(buflen), colorModel, nullptr);
    if (cond.good() && !capturedWarnings.empty()) {
        set_error(err, errlen, "the decoder warned about the data (a damaged stream it padded or guessed): " + capturedWarnings);
        capturedWarnings.clear();
        return 1;
    }
    capturedWarnings.clear();
    if (cond.bad()) {
        DcmXfer xfer(dcm->file.getDataset()->getOriginalXfer());
        return fail(err, errlen, std::string("decoding frame ") + std::to_string(frame) + " (" + xfer.getXferName() + ", " + xfer.getXferID() + ")", cond);
    }
    return 0;
}

extern "C" int med_dcm_native_pixel_bytes(MedDcm *dcm, uint8_t **data, size_t *size, char *err, size_t errlen) {
    *data = nullptr;
    *size = 0;
    DcmXfer xfer(dcm->file.getDataset()->getOriginalXfer());
    if (xfer.isEncapsulated()) {
        set_error(err, errlen, "Pixel Data is encapsulated, not native");
        return 1;
    }
    if (xfer.getByteOrder() == EBO_BigEndian) {
        set_error(err, errlen, std::string("packed bits in a big endian syntax (") + xfer.getXferName() + ") are not read here");
        return 1;
    }
    DcmPixelData *pixels = pixel_data(dcm, err, errlen);
    if (pixels == nullptr) return 1;
    Uint8 *bytes = nullptr;
    OFCondition cond = pixels->getUint8Array(bytes);
    if (cond.bad() || bytes == nullptr) return fail(err, errlen, "reading Pixel Data", cond.bad() ? cond : EC_IllegalCall);
    size_t length = pixels->getLength();
    *data = static_cast<uint8_t *>(std::malloc(length > 0 ? length : 1));
    if (*data == nullptr) {
        set_error(err, errlen, "out of memory");
        return 1;
    }
    std::memcpy(*data, bytes, length);
    *size = length;
    return 0;
}

extern "C" int med_dcm_encapsulated_frame(MedDcm *dcm, uint32_t frame, uint8_t **data, size_t *size, char *err, size_t errlen) {
    *data = nullptr;
    *size = 0;
    DcmPixelData *pixels = pixel_data(dcm, err, errlen);
    if (pixels == nullptr) return 1;
    DcmDataset *ds = dcm->file.getDataset();
    DcmXfer xfer(ds->getOriginalXfer());
    DcmPixelSequence *sequence = nullptr;
    if (!xfer.isEncapsulated() || pixels->getEncapsulatedRepresentation(xfer.getXfer(), nullptr, sequence).bad() || sequence == nullptr) {
        set_error(err, errlen, "Pixel Data is not encapsulated");
        return 1;
    }
    Sint32 frames = 1;
    if (ds->findAndGetSint32(DCM_NumberOfFrames, frames).bad() || frames < 1) frames = 1;
    unsigned long fragments = sequence->card() > 0 ? sequence->card() - 1 : 0;  // item 0 is the offset table
    if (fragments == 0 || frame >= static_cast<Uint32>(frames)) {
        set_error(err, errlen, fragments == 0 ? "encapsulated Pixel Data without fragments" : "frame out of range");
        return 1;
    }
    // Which fragments hold the frame: all of them for one frame, one each when they match the frame count,
    // otherwise as the Basic Offset Table says.
    unsigned long first = 1, last = fragments;
    if (frames > 1) {
        if (fragments == static_cast<unsigned long>(frames)) {
            first = last = frame + 1;
        } else {
            DcmPixelItem *table = nullptr;
            Uint32 *offsets = nullptr;
            if (sequence->getItem(table, 0).bad() || table->getLength() < 4 * static_cast<Uint32>(frames) ||
                table->getUint32Array(offsets).bad() || offsets == nullptr) {
                set_error(err, errlen, "multi-frame Pixel Data whose fragments cannot be mapped to frames (no offset table)");
                return 1;
            }
            Uint32 start = offsets[frame], end = frame + 1 < static_cast<Uint32>(frames) ? offsets[frame + 1] : 0xFFFFFFFFu;
            Uint32 position = 0;
            first = 0;
            last = 0;
            for (unsigned long i = 1; i <= fragments; ++i) {
                DcmPixelItem *item = nullptr;
                if (sequence->getItem(item, i).bad()) break;
                if (position >= start && position < end) {
                    if (first == 0) first = i;
                    last = i;
                }
                position += item->getLength() + 8;
            }
            if (first == 0) {
                set_error(err, errlen, "the offset table points past the fragments");
                return 1;
            }
        }
    }
    size_t total = 0;
    for (unsigned long i = first; i <= last; ++i) {
        DcmPixelItem *item = nullptr;
        if (sequence->getItem(item, i).bad()) return fail(err, errlen, "fragment", EC_IllegalCall);
        total += item->getLength();
    }
    uint8_t *buffer = static_cast<uint8_t *>(std::malloc(total > 0 ? total : 1));
    if (buffer == nullptr) {
        set_error(err, errlen, "out of memory");
        return 1;
    }
    size_t offset = 0;
    for (unsigned long i = first; i <= last; ++i) {
        DcmPixelItem *item = nullptr;
        Uint8 *bytes = nullptr;
        sequence->getItem(item, i);
        Uint32 length = item->getLength();
        if (length == 0) continue;
        OFCondition cond = item->getUint8Array(bytes);
        if (cond.bad() || bytes == nullptr) {
            std::free(buffer);
            return fail(err, errlen, "reading fragment " + std::to_string(i), cond.bad() ? cond : EC_IllegalCall);
        }
        std::memcpy(buffer + offset, bytes, length);
        offset += length;
    }
    *data = buffer;
    *size = offset;
    return 0;
}

extern "C" int med_dcm_voi_lut(MedDcm *dcm, uint32_t *entries, int32_t *firstMapped, uint16_t *bits, uint16_t *data,
                               size_t capacity, char *err, size_t errlen) {
    DcmItem *item = nullptr;
    if (dcm->file.getDataset()->findAndGetSequenceItem(DCM_VOILUTSequence, item, 0).bad() || item == nullptr) return 0;
    Uint16 descriptor[3] = {0, 0, 0};
    for (unsigned long i = 0; i < 3; ++i) {
        if (item->findAndGetUint16(DCM_LUTDescriptor, descriptor[i], i).bad()) {
            set_error(err, errlen, "VOI LUT without a three-value LUT Descriptor (0028,3002)");
            return -1;
        }
    }
    const Uint16 *values = nullptr;
    unsigned long count = 0;
    if (item->findAndGetUint16Array(DCM_LUTData, values, &count).bad() || values == nullptr) {
        set_error(err, errlen, "VOI LUT without LUT Data (0028,3006)");
        return -1;
    }
    *entries = descriptor[0] == 0 ? 65536 : descriptor[0];
    *firstMapped = descriptor[1];
    *bits = descriptor[2];
    if (count < *entries || *entries > capacity || *bits < 8 || *bits > 16) {
        set_error(err, errlen, "VOI LUT Descriptor does not match its LUT Data (" + std::to_string(*entries) + " entries of " +
                                   std::to_string(*bits) + " bits, " + std::to_string(count) + " values)");
        return -1;
    }
    std::memcpy(data, values, *entries * sizeof(Uint16));
    return 1;
}

extern "C" int med_dcm_put_string(MedDcm *dcm, uint16_t group, uint16_t element, const char *value, char *err, size_t errlen) {
    OFCondition cond = dcm->file.getDataset()->putAndInsertString(DcmTag(group, element), value);
    return cond.bad() ? fail(err, errlen, "put string", cond) : 0;
}

extern "C" int med_dcm_put_uint16(MedDcm *dcm, uint16_t group, uint16_t element, uint16_t value, char *err, size_t errlen) {
    OFCondition cond = dcm->file.getDataset()->putAndInsertUint16(DcmTag(group, element), value);
    return cond.bad() ? fail(err, errlen, "put uint16", cond) : 0;
}

extern "C" int med_dcm_put_pixels(MedDcm *dcm, const void *pixels, size_t count, uint16_t bitsAllocated, char *err, size_t errlen) {
    DcmDataset *ds = dcm->file.getDataset();
    OFCondition cond;
    if (bitsAllocated == 8) {
        cond = ds->putAndInsertUint8Array(DCM_PixelData, static_cast<const Uint8 *>(pixels), static_cast<unsigned long>(count));
    } else if (bitsAllocated == 16) {
        cond = ds->putAndInsertUint16Array(DCM_PixelData, static_cast<const Uint16 *>(pixels), static_cast<unsigned long>(count));
    } else {
        set_error(err, errlen, "bits allocated must be 8 or 16, not " + std::to_string(bitsAllocated));
        return 1;
    }
    return cond.bad() ? fail(err, errlen, "put pixel data", cond) : 0;
}

// DCMTK 3.6.7 pads odd-length JPEG-LS streams with one uninitialised byte after the EOI marker, so the same
// image encoded twice gave different files. Zero that byte: outputs become reproducible, decoders ignore it.
static void zero_padding_after_eoi(DcmDataset *ds, E_TransferSyntax xfer) {
    DcmElement *element = nullptr;
    if (ds->findAndGetElement(DCM_PixelData, element).bad() || element == nullptr) return;
    DcmPixelData *pixels = OFstatic_cast(DcmPixelData *, element);
    E_TransferSyntax current = EXS_Unknown;
    const DcmRepresentationParameter *parameter = nullptr;
    pixels->getCurrentRepresentationKey(current, parameter);
    DcmPixelSequence *sequence = nullptr;
    if (current != xfer || pixels->getEncapsulatedRepresentation(xfer, parameter, sequence).bad() || sequence == nullptr) return;
    for (unsigned long i = 1; i < sequence->card(); ++i) {  // item 0 is the offset table
        DcmPixelItem *item = nullptr;
        Uint8 *bytes = nullptr;
        if (sequence->getItem(item, i).bad() || item->getUint8Array(bytes).bad() || bytes == nullptr) continue;
        Uint32 length = item->getLength();
        if (length >= 3 && bytes[length - 3] == 0xFF && bytes[length - 2] == 0xD9) bytes[length - 1] = 0;
    }
}

extern "C" int med_dcm_save(MedDcm *dcm, const char *path, MedDcmSyntax syntax, int jpegQuality, char *err, size_t errlen) {
    DcmDataset *ds = dcm->file.getDataset();
    E_TransferSyntax xfer = EXS_LittleEndianExplicit;
    OFCondition cond = EC_Normal;
    switch (syntax) {
    case MED_DCM_IMPLICIT_LITTLE: xfer = EXS_LittleEndianImplicit; break;
    case MED_DCM_EXPLICIT_LITTLE: xfer = EXS_LittleEndianExplicit; break;
    case MED_DCM_EXPLICIT_BIG: xfer = EXS_BigEndianExplicit; break;
    case MED_DCM_DEFLATED: xfer = EXS_DeflatedLittleEndianExplicit; break;
    case MED_DCM_JPEG_BASELINE: {
        xfer = EXS_JPEGProcess1;
        DJ_RPLossy parameter(jpegQuality);
        cond = ds->chooseRepresentation(xfer, &parameter);
        break;
    }
    case MED_DCM_JPEG_LOSSLESS_SV1: {
        xfer = EXS_JPEGProcess14SV1;
        DJ_RPLossless parameter;
        cond = ds->chooseRepresentation(xfer, &parameter);
        break;
    }
    case MED_DCM_JPEGLS_LOSSLESS: {
        xfer = EXS_JPEGLSLossless;
        DJLSRepresentationParameter parameter(2, OFTrue);
        cond = ds->chooseRepresentation(xfer, &parameter);
        break;
    }
    case MED_DCM_RLE: {
        xfer = EXS_RLELossless;
        DcmRLERepresentationParameter parameter;
        cond = ds->chooseRepresentation(xfer, &parameter);
        break;
    }
    default:
        set_error(err, errlen, "unknown transfer syntax code " + std::to_string(static_cast<int>(syntax)));
        return 1;
    }
    if (cond.bad()) return fail(err, errlen, std::string("encoding to ") + DcmXfer(xfer).getXferName(), cond);
    if (DcmXfer(xfer).isEncapsulated()) zero_padding_after_eoi(ds, xfer);
    if (!ds->canWriteXfer(xfer)) {
        set_error(err, errlen, std::string("cannot encode to ") + DcmXfer(xfer).getXferName());
        return 1;
    }
    cond = dcm->file.saveFile(OFFilename(path), xfer, EET_ExplicitLength, EGL_recalcGL, EPD_noChange);
    return cond.bad() ? fail(err, errlen, std::string("writing ") + path, cond) : 0;
}
