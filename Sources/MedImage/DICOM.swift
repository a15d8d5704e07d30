// DICOM files through the DCMTK shim: tags, the pixel module, decoded frames, and writing.
import CDCMTK
import Foundation

/// A DICOM attribute tag (group, element).
public struct DICOMTag: Hashable, Sendable, CustomStringConvertible {
    public let group: UInt16
    public let element: UInt16
    public init(_ group: UInt16, _ element: UInt16) {
        self.group = group
        self.element = element
    }
    public var description: String { String(format: "(%04X,%04X)", group, element) }

    public static let sopClassUID = DICOMTag(0x0008, 0x0016)
    public static let sopInstanceUID = DICOMTag(0x0008, 0x0018)
    public static let studyDate = DICOMTag(0x0008, 0x0020)
    public static let modality = DICOMTag(0x0008, 0x0060)
    public static let manufacturer = DICOMTag(0x0008, 0x0070)
    public static let patientName = DICOMTag(0x0010, 0x0010)
    public static let patientID = DICOMTag(0x0010, 0x0020)
    public static let patientBirthDate = DICOMTag(0x0010, 0x0030)
    public static let patientSex = DICOMTag(0x0010, 0x0040)
    public static let patientAddress = DICOMTag(0x0010, 0x1040)
    public static let bodyPartExamined = DICOMTag(0x0018, 0x0015)
    public static let viewPosition = DICOMTag(0x0018, 0x5101)
    public static let studyInstanceUID = DICOMTag(0x0020, 0x000D)
    public static let seriesInstanceUID = DICOMTag(0x0020, 0x000E)
    public static let instanceNumber = DICOMTag(0x0020, 0x0013)
    public static let samplesPerPixel = DICOMTag(0x0028, 0x0002)
    public static let photometricInterpretation = DICOMTag(0x0028, 0x0004)
    public static let numberOfFrames = DICOMTag(0x0028, 0x0008)
    public static let rows = DICOMTag(0x0028, 0x0010)
    public static let columns = DICOMTag(0x0028, 0x0011)
    public static let pixelSpacing = DICOMTag(0x0028, 0x0030)
    public static let bitsAllocated = DICOMTag(0x0028, 0x0100)
    public static let bitsStored = DICOMTag(0x0028, 0x0101)
    public static let highBit = DICOMTag(0x0028, 0x0102)
    public static let pixelRepresentation = DICOMTag(0x0028, 0x0103)
    public static let windowCenter = DICOMTag(0x0028, 0x1050)
    public static let windowWidth = DICOMTag(0x0028, 0x1051)
    public static let rescaleIntercept = DICOMTag(0x0028, 0x1052)
    public static let rescaleSlope = DICOMTag(0x0028, 0x1053)

    /// Attributes that identify a person; never printed or written unless a manifest asks.
    public static let patientIdentifying: Set<DICOMTag> = [patientName, patientID, patientBirthDate, patientAddress]
}

/// The transfer syntaxes medad can write; any syntax DCMTK decodes can be read.
public enum DICOMTransferSyntax: String, CaseIterable, Sendable {
    case implicitLittleEndian = "implicit_le"
    case explicitLittleEndian = "explicit_le"
    case explicitBigEndian = "explicit_be"
    case deflated = "deflated"
    case jpegBaseline = "jpeg_baseline"
    case jpegLossless = "jpeg_lossless"
    case jpegLS = "jpeg_ls"
    case rle = "rle"

    public var uid: String {
        switch self {
        case .implicitLittleEndian: return "1.2.840.10008.1.2"
        case .explicitLittleEndian: return "1.2.840.10008.1.2.1"
        case .explicitBigEndian: return "1.2.840.10008.1.2.2"
        case .deflated: return "1.2.840.10008.1.2.1.99"
        case .jpegBaseline: return "1.2.840.10008.1.2.4.50"
        case .jpegLossless: return "1.2.840.10008.1.2.4.70"
        case .jpegLS: return "1.2.840.10008.1.2.4.80"
        case .rle: return "1.2.840.10008.1.2.5"
        }
    }

    /// JPEG 2000 lossless and lossy, and High-Throughput JPEG 2000 (HTJ2K lossless, lossless RPCL, lossy): read,
    /// never written, by medad (decoded through OpenJPEG, which reads HT codestreams since 2.5).
    public static let jpeg2000UIDs: Set<String> = [
        "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202",
        "1.2.840.10008.1.2.4.203",
    ]

    /// Whether decoding returns exactly the stored values.
    public var isLossless: Bool { self != .jpegBaseline }

    /// Largest Bits Stored the encoder accepts.
    public var maxBitsStored: Int { self == .jpegBaseline ? 8 : 16 }

    var code: MedDcmSyntax {
        switch self {
        case .implicitLittleEndian: return MED_DCM_IMPLICIT_LITTLE
        case .explicitLittleEndian: return MED_DCM_EXPLICIT_LITTLE
        case .explicitBigEndian: return MED_DCM_EXPLICIT_BIG
        case .deflated: return MED_DCM_DEFLATED
        case .jpegBaseline: return MED_DCM_JPEG_BASELINE
        case .jpegLossless: return MED_DCM_JPEG_LOSSLESS_SV1
        case .jpegLS: return MED_DCM_JPEGLS_LOSSLESS
        case .rle: return MED_DCM_RLE
        }
    }
}

public struct DICOMError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The pixel module of a dataset.
public struct DICOMPixelInfo: Equatable, Sendable {
    public var rows: Int
    public var columns: Int
    public var frames: Int
    public var samplesPerPixel: Int
    public var bitsAllocated: Int
    public var bitsStored: Int
    public var highBit: Int
    public var pixelRepresentation: Int
}

private let errorCapacity = 1024

private func withErrorBuffer<T>(_ body: (UnsafeMutablePointer<CChar>) -> T) -> (T, String) {
    var buffer = [CChar](repeating: 0, count: errorCapacity)
    let result = buffer.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    return (result, String(nulTerminated: buffer))
}

/// A parsed DICOM file. Not thread-safe; use one per thread.
public final class DICOMFile {
    private let handle: OpaquePointer

    /// Parses `path`, with or without the preamble. Throws DCMTK's reason when it is not DICOM or unreadable.
    public init(path: String) throws {
        let (handle, error) = withErrorBuffer { med_dcm_open(path, $0, errorCapacity) }
        guard let handle else { throw DICOMError(error.isEmpty ? "not a readable DICOM file" : error) }
        self.handle = handle
    }

    deinit { med_dcm_close(handle) }

    /// The attribute's value as text, or nil when absent.
    public func string(_ tag: DICOMTag) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let found = buffer.withUnsafeMutableBufferPointer {
            med_dcm_get_string(handle, tag.group, tag.element, $0.baseAddress!, 4096)
        }
        return found == 1 ? String(nulTerminated: buffer) : nil
    }

    /// A numeric attribute (the first of several values), or nil when absent or not a number.
    public func double(_ tag: DICOMTag) -> Double? {
        guard let text = string(tag)?.split(separator: "\\").first else { return nil }
        return Double(text.trimmingCharacters(in: .whitespaces))
    }

    public var transferSyntaxUID: String {
        var buffer = [CChar](repeating: 0, count: 128)
        buffer.withUnsafeMutableBufferPointer { med_dcm_transfer_syntax(handle, $0.baseAddress!, 128) }
        return String(nulTerminated: buffer)
    }

    public var hasPixelData: Bool { med_dcm_has_pixel_data(handle) == 1 }

    public func pixelInfo() throws -> DICOMPixelInfo {
        var info = MedDcmPixelInfo()
        let (status, error) = withErrorBuffer { med_dcm_pixel_info(handle, &info, $0, errorCapacity) }
        guard status == 0 else { throw DICOMError(error) }
        return DICOMPixelInfo(
            rows: Int(info.rows), columns: Int(info.columns), frames: Int(info.frames),
            samplesPerPixel: Int(info.samplesPerPixel), bitsAllocated: Int(info.bitsAllocated),
            bitsStored: Int(info.bitsStored), highBit: Int(info.highBit),
            pixelRepresentation: Int(info.pixelRepresentation))
    }

    /// Photometric Interpretations medad decodes, by Samples per Pixel.
    static let photometrics: [Int: Set<String>] = [
        1: ["MONOCHROME1", "MONOCHROME2"],
        3: ["RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT", "YBR_PARTIAL_420"],
    ]

    /// The pixel module, checked before anything is allocated: every value inside the standard's (PS3.3 C.7.6.3)
    /// and medad's range, the samples of the frames to be decoded (`allFrames`: every frame; else the first) within
    /// `maxPixels`, and the claimed frames present in the file: native Pixel Data at least frames × frame bytes
    /// long (and no longer, but for the pad byte), encapsulated Pixel Data with a fragment for every frame (a fragment never holds two frames).
    public func checkedPixelInfo(allFrames: Bool, maxPixels: Int) throws -> DICOMPixelInfo {
        try checkedPixelModule(allFrames: allFrames, maxPixels: maxPixels).info
    }

    /// checkedPixelInfo, and whether Pixel Data is encapsulated (when it is not, the check proved it complete).
    private func checkedPixelModule(allFrames: Bool, maxPixels: Int) throws -> (info: DICOMPixelInfo, encapsulated: Bool) {
        // DCMTK 3.6.7 (Debian 12) predates HTJ2K: it parses such a file as if native, finds no pixels, and the
        // message would blame the header. Say what it is.
        let declared = string(DICOMTag(0x0002, 0x0010))?.trimmingCharacters(in: CharacterSet(charactersIn: " \0")) ?? ""
        if declared.hasPrefix("1.2.840.10008.1.2.4.20"), declared != transferSyntaxUID {
            throw DICOMError(
                "transfer syntax \(declared) is High-Throughput JPEG 2000 (HTJ2K), newer than the DCMTK medad reads DICOM with (3.6.7), which cannot find its encapsulated Pixel Data; convert the file to JPEG 2000 (e.g. with OpenJPH's ojph_expand and opj_compress) or another syntax"
            )
        }
        let info = try pixelInfo()
        guard info.rows > 0, info.columns > 0 else { throw DICOMError("empty image (Rows \(info.rows), Columns \(info.columns))") }
        guard let allowed = Self.photometrics[info.samplesPerPixel] else {
            throw DICOMError("Samples per Pixel \(info.samplesPerPixel) is not 1 or 3")
        }
        let photometric = string(.photometricInterpretation)?.trimmingCharacters(in: .whitespaces) ?? ""
        guard allowed.contains(photometric) else {
            let shown = photometric.isEmpty ? "missing" : "'\(photometric)'"
            throw DICOMError(
                "Photometric Interpretation \(shown) is not one of \(allowed.sorted().joined(separator: ", ")) for \(info.samplesPerPixel) sample(s) per pixel"
            )
        }
        guard [8, 16, 32].contains(info.bitsAllocated) || info.bitsAllocated == 1 && info.samplesPerPixel == 1 else {
            throw DICOMError("unsupported Bits Allocated \(info.bitsAllocated) (1 for one sample per pixel, 8, 16 or 32)")
        }
        guard info.bitsStored >= 1, info.bitsStored <= info.bitsAllocated else {
            throw DICOMError("Bits Stored \(info.bitsStored) does not fit Bits Allocated \(info.bitsAllocated)")
        }
        guard info.highBit == info.bitsStored - 1 else {
            throw DICOMError("High Bit \(info.highBit) is not Bits Stored − 1 (\(info.bitsStored - 1)), as image pixel data requires")
        }
        guard info.pixelRepresentation == 0 || info.pixelRepresentation == 1 else {
            throw DICOMError("Pixel Representation \(info.pixelRepresentation) is not 0 (unsigned) or 1 (signed)")
        }
        let perFrame = UInt64(info.rows) * UInt64(info.columns) * UInt64(info.samplesPerPixel)
        let decoded = perFrame * UInt64(allFrames ? info.frames : 1)
        guard decoded <= UInt64(maxPixels) else {
            let frames = allFrames && info.frames > 1 ? " × \(info.frames) frames" : ""
            throw DICOMError(
                "dimensions \(info.columns)×\(info.rows)×\(info.samplesPerPixel)\(frames) = \(decoded) samples exceed the limit of \(maxPixels) (max_pixels)"
            )
        }
        var encapsulated: Int32 = 0, bytes: UInt64 = 0, fragments: UInt32 = 0
        guard med_dcm_pixel_layout(handle, &encapsulated, &bytes, &fragments) == 0 else {
            throw DICOMError("Pixel Data (7FE0,0010) is missing or unreadable")
        }
        if encapsulated == 1 {
            guard info.bitsAllocated > 1 else {
                throw DICOMError("Bits Allocated 1 in a compressed transfer syntax, which the standard does not allow")
            }
            guard UInt64(fragments) >= UInt64(info.frames) else {
                throw DICOMError(
                    "Number of Frames \(info.frames) but the encapsulated Pixel Data holds \(fragments) fragment(s); each frame needs at least one"
                )
            }
        } else {
            // YBR_FULL_422 stores two luminance and two chrominance samples for every two pixels.
            let samplesStored = photometric == "YBR_FULL_422" ? UInt64(info.rows) * UInt64(info.columns) * 2 : perFrame
            // Bits Allocated 1: every frame's bits one after another, the last byte padded.
            let needed =
                info.bitsAllocated == 1
                ? (perFrame * UInt64(info.frames) + 7) / 8 : samplesStored * UInt64(info.bitsAllocated / 8) * UInt64(info.frames)
            // Exactly that many, plus the pad byte of an odd length: more data than the header accounts for
            // means its Rows, Columns or Bits Allocated are wrong, and reading it would shear the image.
            guard bytes == needed || bytes == needed + 1 && needed % 2 == 1 else {
                throw DICOMError(
                    "the header claims \(info.frames) frame(s) of \(info.columns)×\(info.rows)×\(info.samplesPerPixel) at \(info.bitsAllocated) bits (\(needed) bytes), Pixel Data holds \(bytes)"
                )
            }
        }
        return (info, encapsulated == 1)
    }

    /// Decodes frame `index` (0-based) to stored values: bits above Bits Stored masked off, signed values
    /// sign-extended, samples interleaved. `maxPixels` guards against absurd dimensions before allocating.
    /// JPEG 2000 goes through OpenJPEG and grey JPEG baseline through libjpeg-turbo (the encapsulated
    /// fragments); every other syntax through DCMTK.
    public func decodeFrame(_ index: Int = 0, maxPixels: Int = 100_000_000) throws -> PixelImage {
        guard hasPixelData else { throw DICOMError("no pixel data (for example a structured report)") }
        let (info, encapsulated) = try checkedPixelModule(allFrames: false, maxPixels: maxPixels)
        guard index >= 0, index < info.frames else { throw DICOMError("frame \(index) out of range (\(info.frames) frames)") }
        let samples = info.rows * info.columns * info.samplesPerPixel
        let syntax = transferSyntaxUID
        if DICOMTransferSyntax.jpeg2000UIDs.contains(syntax) {
            let codec = syntax.hasPrefix("1.2.840.10008.1.2.4.20") ? "HTJ2K" : "JPEG 2000"
            let image: PixelImage
            do { image = try JPEG2000Codec.decode(encapsulatedFrame(index), maxPixels: maxPixels) } catch {
                throw DICOMError("\(codec) (\(syntax)): \(error)")
            }
            return try Self.twosComplementIfSigned(checked(image, info, codec), info)
        }
        if syntax == DICOMTransferSyntax.jpegBaseline.uid, info.samplesPerPixel == 1, info.bitsAllocated == 8 {
            return try checked(JPEGCodec.decode(encapsulatedFrame(index), maxPixels: maxPixels), info, "JPEG")
        }
        // What DCMTK hands back as stored, unpacked or converted here: packed bits, native YBR colour.
        if info.bitsAllocated == 1 { return try NativePixels.bits(nativePixelBytes(), frame: index, info) }
        let photometric = string(.photometricInterpretation)?.trimmingCharacters(in: .whitespaces) ?? ""
        if ["YBR_FULL", "YBR_FULL_422"].contains(photometric), !encapsulated {
            let planes = Int(string(DICOMTag(0x0028, 0x0006)) ?? "") ?? 0
            return try NativePixels.ybr(nativePixelBytes(), frame: index, info, photometric: photometric, planar: planes == 1)
        }
        if syntax == DICOMTransferSyntax.rle.uid {
            try RLEFrame.check(
                encapsulatedFrame(index), rows: info.rows, columns: info.columns,
                segments: info.samplesPerPixel * info.bitsAllocated / 8)
        } else if syntax.hasPrefix("1.2.840.10008.1.2.4.") {  // the JPEG family DCMTK decodes (lossless, extended, JPEG-LS)
            let bytes = try encapsulatedFrame(index)
            let stream = try JPEGFrameHeader.dimensions(bytes)
            // A JPEG stream's height may be 0 when a DNL marker gives it later; then the decoder's own check stands.
            guard stream.width == info.columns, stream.height == info.rows || stream.height == 0, stream.components == info.samplesPerPixel
            else {
                throw DICOMError(
                    "JPEG stream holds \(stream.width)×\(stream.height)×\(stream.components), the header says \(info.columns)×\(info.rows)×\(info.samplesPerPixel)"
                )
            }
            if let minimum = JPEGFrameHeader.minimumBytes(
                height: info.rows, width: info.columns, components: info.samplesPerPixel, marker: stream.marker),
                bytes.count < minimum
            {
                throw DICOMError(
                    "JPEG stream of \(bytes.count) bytes cannot hold \(info.columns)×\(info.rows)×\(info.samplesPerPixel) (at least \(minimum) bytes); the data is missing"
                )
            }
        }
        var frameSize: UInt32 = 0
        let (sizeStatus, sizeError) = withErrorBuffer { med_dcm_frame_size(handle, &frameSize, $0, errorCapacity) }
        guard sizeStatus == 0 else { throw DICOMError(sizeError) }
        guard Int(frameSize) >= samples * (info.bitsAllocated / 8) else {
            throw DICOMError("frame size \(frameSize) is smaller than \(samples) samples of \(info.bitsAllocated / 8) bytes")
        }
        // DCMTK writes the whole (even-padded) frame; decode into words of the stored width directly.
        return try Self.storedFrame(info, bytes: Int(frameSize)) { buffer in
            let (status, message) = withErrorBuffer { err in
                med_dcm_decode_frame(handle, UInt32(index), buffer.baseAddress!, buffer.count, err, errorCapacity)
            }
            guard status == 0 else { throw DICOMError(message) }
        }
    }

    /// The checked pixel module (as decodeFrame checks it), and where frame `index`'s samples start in the file when
    /// they may be read there directly, as they are stored: native Pixel Data in a little endian syntax that DCMTK
    /// has not loaded (med_dcm_native_pixel_offset), one sample per pixel, 8, 16 or 32 bits allocated; a nil
    /// offset when the frame needs decodeFrame. When there is an offset, the frame's bytes are all in the file.
    public func nativeFrameOffset(_ index: Int, maxPixels: Int = 100_000_000) throws -> (info: DICOMPixelInfo, offset: UInt64?) {
        guard hasPixelData else { throw DICOMError("no pixel data (for example a structured report)") }
        let (info, encapsulated) = try checkedPixelModule(allFrames: false, maxPixels: maxPixels)
        guard index >= 0, index < info.frames else { throw DICOMError("frame \(index) out of range (\(info.frames) frames)") }
        var offset: UInt64 = 0
        guard !encapsulated, info.samplesPerPixel == 1, [8, 16, 32].contains(info.bitsAllocated),
            med_dcm_native_pixel_offset(handle, &offset) == 0
        else { return (info, nil) }
        let frameBytes = UInt64(info.rows) * UInt64(info.columns) * UInt64(info.bitsAllocated / 8)
        return (info, offset + UInt64(index) * frameBytes)
    }

    /// One frame's stored values from its raw words, which `fill` writes (`bytes` bytes, at least the frame's
    /// samples, in native byte order): bits above Bits Stored masked off, signed values sign-extended.
    public static func storedFrame(
        _ info: DICOMPixelInfo, bytes: Int, fill: (UnsafeMutableRawBufferPointer) throws -> Void
    ) throws -> PixelImage {
        let samples = info.rows * info.columns * info.samplesPerPixel
        func words<T: FixedWidthInteger>(_ type: T.Type) throws -> [T] {
            let capacity = (bytes + MemoryLayout<T>.size - 1) / MemoryLayout<T>.size
            var words = try [T](unsafeUninitializedCapacity: capacity) { buffer, initialized in
                try fill(UnsafeMutableRawBufferPointer(start: buffer.baseAddress, count: bytes))
                initialized = capacity
            }
            words.removeLast(capacity - samples)
            return words
        }
        let image: Samples
        switch info.bitsAllocated {
        case 8:
            let bytes = try words(UInt8.self)
            image =
                info.pixelRepresentation == 1
                ? .int16(bytes.map { Int16((Int8(bitPattern: $0) << (8 - info.bitsStored)) >> (8 - info.bitsStored)) })
                : .uint8(info.bitsStored == 8 ? bytes : bytes.map { $0 & UInt8((1 << info.bitsStored) - 1) })
        case 16:
            var words = try words(UInt16.self)
            if info.pixelRepresentation == 1 {
                let shift = UInt16(16 - info.bitsStored)
                image = .int16(words.map { Int16(bitPattern: $0 << shift) >> Int16(shift) })
            } else {
                if info.bitsStored < 16 {
                    let mask = UInt16((1 << info.bitsStored) - 1)
                    words.withUnsafeMutableBufferPointer { w in for i in w.indices { w[i] &= mask } }
                }
                image = .uint16(words)
            }
        default:
            let words = try words(UInt32.self)
            let shift = UInt32(32 - info.bitsStored)
            image = .int32(
                words.map {
                    info.pixelRepresentation == 1
                        ? Int32(bitPattern: $0 << shift) >> Int32(shift)
                        : Int32(bitPattern: ($0 << shift) >> shift)
                })
        }
        return PixelImage(
            width: info.columns, height: info.rows, channels: info.samplesPerPixel,
            bitsStored: info.bitsStored, samples: image)
    }

    /// A JPEG 2000 codestream that says unsigned under Pixel Representation 1 (signed): its values are read as
    /// two's complement at the codestream's precision, as pydicom does (an encoder that wrote the stored bit
    /// patterns without their sign). Read as unsigned, a 13-bit image's negative half lands 8192 too high.
    static func twosComplementIfSigned(_ image: PixelImage, _ info: DICOMPixelInfo) -> PixelImage {
        guard info.pixelRepresentation == 1 else { return image }
        let bits = image.bitsStored
        let patterns: [Int32]
        switch image.samples {
        case .uint8(let s): patterns = s.map(Int32.init)
        case .uint16(let s): patterns = s.map(Int32.init)
        default: return image  // the codestream is signed already
        }
        let shift = Int32(32 - bits)
        let values = patterns.map { ($0 << shift) >> shift }
        return PixelImage(
            width: image.width, height: image.height, channels: image.channels, bitsStored: bits,
            samples: bits <= 16 ? .int16(values.map { Int16($0) }) : .int32(values))
    }

    /// What decoding this file changes from its header's word, in a sentence for the log; nil when nothing.
    public func decodingNote() throws -> String? {
        guard DICOMTransferSyntax.jpeg2000UIDs.contains(transferSyntaxUID), try pixelInfo().pixelRepresentation == 1,
            let component = JPEG2000Header.firstComponent(try encapsulatedFrame(0)), !component.signed
        else { return nil }
        return
            "the JPEG 2000 codestream says unsigned \(component.precision)-bit, Pixel Representation signed: read as \(component.precision)-bit two's complement, as pydicom does"
    }

    /// A codec's output must match the header it came with.
    private func checked(_ image: PixelImage, _ info: DICOMPixelInfo, _ codec: String) throws -> PixelImage {
        guard image.width == info.columns, image.height == info.rows, image.channels == info.samplesPerPixel else {
            throw DICOMError(
                "\(codec) stream holds \(image.width)×\(image.height)×\(image.channels), the header says \(info.columns)×\(info.rows)×\(info.samplesPerPixel)"
            )
        }
        // The header's Bits Stored, as for every other syntax (encoders often record a wider precision).
        return PixelImage(
            width: image.width, height: image.height, channels: image.channels,
            bitsStored: min(info.bitsStored, image.bitsStored), samples: image.samples)
    }

    /// Checks frame `index` as far as ingest must before normalize decodes it in-process: uncompressed pixels
    /// must be all there; grey JPEG baseline, which normalize decodes with libjpeg-turbo (it reports damage as an
    /// error, it does not abort), needs a stream header that matches the dataset's; everything else is decoded,
    /// since DCMTK's and OpenJPEG's decoders may abort or hang on hostile bytes.
    public func verifyFrame(_ index: Int, maxPixels: Int = 100_000_000) throws {
        let (info, encapsulated) = try checkedPixelModule(allFrames: false, maxPixels: maxPixels)
        guard index >= 0, index < info.frames else { throw DICOMError("frame \(index) out of range (\(info.frames) frames)") }
        // Native Pixel Data of exactly the claimed length (checked above) in a known syntax: every frame is there.
        if !encapsulated && !transferSyntaxUID.isEmpty { return }
        if transferSyntaxUID == DICOMTransferSyntax.jpegBaseline.uid, info.samplesPerPixel == 1, info.bitsAllocated == 8 {
            let size = try JPEGCodec.header(encapsulatedFrame(index), maxPixels: maxPixels)
            guard size == (info.columns, info.rows, 1) else {
                throw DICOMError(
                    "JPEG stream holds \(size.width)×\(size.height)×\(size.channels), the header says \(info.columns)×\(info.rows)×1")
            }
            return
        }
        _ = try decodeFrame(index, maxPixels: maxPixels)
    }

    /// Whether the pixels are stored uncompressed and complete for every frame: then a frame "decodes"
    /// by being read, and checking costs no pixel copy.
    public var hasCompleteNativePixels: Bool {
        guard let info = try? pixelInfo() else { return false }
        let bytes =
            UInt64(info.rows) * UInt64(info.columns) * UInt64(info.samplesPerPixel) * UInt64(info.bitsAllocated / 8) * UInt64(info.frames)
        return bytes > 0 && [8, 16, 32].contains(info.bitsAllocated) && med_dcm_native_pixels_complete(handle, bytes) == 1
    }

    /// Native Pixel Data's bytes as stored (little endian syntaxes).
    func nativePixelBytes() throws -> [UInt8] {
        var data: UnsafeMutablePointer<UInt8>?
        var size = 0
        let (status, error) = withErrorBuffer { med_dcm_native_pixel_bytes(handle, &data, &size, $0, errorCapacity) }
        guard status == 0, let data else { throw DICOMError(error) }
        defer { free(data) }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// The compressed bytes of one frame of encapsulated Pixel Data.
    public func encapsulatedFrame(_ index: Int) throws -> [UInt8] {
        var data: UnsafeMutablePointer<UInt8>?
        var size = 0
        let (status, error) = withErrorBuffer { med_dcm_encapsulated_frame(handle, UInt32(index), &data, &size, $0, errorCapacity) }
        guard status == 0, let data else { throw DICOMError(error) }
        defer { free(data) }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// The first VOI LUT of the VOI LUT Sequence, or nil when the file has none.
    public func voiLUT() throws -> VOILUT? {
        var entries: UInt32 = 0, first: Int32 = 0, bits: UInt16 = 0
        var data = [UInt16](repeating: 0, count: 65536)
        let (status, error) = withErrorBuffer { err in
            data.withUnsafeMutableBufferPointer {
                med_dcm_voi_lut(handle, &entries, &first, &bits, $0.baseAddress!, 65536, err, errorCapacity)
            }
        }
        switch status {
        case 0: return nil
        case 1:
            let signedInput = (try? pixelInfo().pixelRepresentation) == 1
            return VOILUT(
                firstMapped: signedInput ? Int(Int16(truncatingIfNeeded: first)) : Int(UInt16(truncatingIfNeeded: first)),
                bits: Int(bits), table: Array(data[0..<Int(entries)]))
        default: throw DICOMError(error)
        }
    }
}

/// A VOI lookup table: input values from `firstMapped` on map to `table`; values outside take the end entries.
public struct VOILUT: Sendable, Equatable {
    public let firstMapped: Int
    public let bits: Int
    public let table: [UInt16]
}

/// A single-frame grayscale image to write as DICOM.
public struct DICOMWriteRequest: Sendable {
    public var attributes: [(DICOMTag, String)]
    public var rows: Int
    public var columns: Int
    public var bitsAllocated: Int
    public var bitsStored: Int
    public var pixelRepresentation: Int
    public var photometric: String
    /// Stored values, row-major; two's complement bit patterns when signed.
    public var pixels: [UInt16]

    public init(
        attributes: [(DICOMTag, String)], rows: Int, columns: Int, bitsAllocated: Int, bitsStored: Int,
        pixelRepresentation: Int, photometric: String, pixels: [UInt16]
    ) {
        self.attributes = attributes
        self.rows = rows
        self.columns = columns
        self.bitsAllocated = bitsAllocated
        self.bitsStored = bitsStored
        self.pixelRepresentation = pixelRepresentation
        self.photometric = photometric
        self.pixels = pixels
    }
}

public enum DICOMWriter {
    /// Writes `request` to `path` in `syntax`. Throws DCMTK's reason on failure.
    public static func write(
        _ request: DICOMWriteRequest, to path: String, syntax: DICOMTransferSyntax,
        jpegQuality: Int = 90
    ) throws {
        guard request.pixels.count == request.rows * request.columns else {
            throw DICOMError("\(request.pixels.count) pixels for a \(request.columns)×\(request.rows) image")
        }
        guard request.bitsStored <= syntax.maxBitsStored else {
            throw DICOMError("\(syntax.rawValue) cannot hold \(request.bitsStored)-bit pixels")
        }
        // DCMTK's bundled CharLS aborts the process (an assertion) on signed samples narrower than 16 bits.
        guard !(syntax == .jpegLS && request.pixelRepresentation == 1 && request.bitsStored < 16) else {
            throw DICOMError("jpeg_ls cannot encode signed \(request.bitsStored)-bit pixels here (DCMTK 3.6.7's CharLS asserts)")
        }
        guard let handle = med_dcm_new() else { throw DICOMError("out of memory") }
        defer { med_dcm_close(handle) }
        func check(_ body: (UnsafeMutablePointer<CChar>) -> Int32) throws {
            let (status, error) = withErrorBuffer(body)
            if status != 0 { throw DICOMError(error) }
        }
        for (tag, value) in request.attributes {
            try check { med_dcm_put_string(handle, tag.group, tag.element, value, $0, errorCapacity) }
        }
        try check { med_dcm_put_string(handle, 0x0028, 0x0004, request.photometric, $0, errorCapacity) }
        let module: [(DICOMTag, Int)] = [
            (.samplesPerPixel, 1), (.rows, request.rows), (.columns, request.columns),
            (.bitsAllocated, request.bitsAllocated), (.bitsStored, request.bitsStored),
            (.highBit, request.bitsStored - 1), (.pixelRepresentation, request.pixelRepresentation),
        ]
        for (tag, value) in module {
            try check { med_dcm_put_uint16(handle, tag.group, tag.element, UInt16(value), $0, errorCapacity) }
        }
        // Only Bits Stored bits are written: JPEG-LS rejects sign-extended words, and readers mask anyway.
        let mask = UInt16(truncatingIfNeeded: (1 << request.bitsStored) - 1)
        let pixels = request.pixels.map { $0 & mask }
        if request.bitsAllocated == 8 {
            let bytes = pixels.map { UInt8(truncatingIfNeeded: $0) }
            try check { err in bytes.withUnsafeBytes { med_dcm_put_pixels(handle, $0.baseAddress, bytes.count, 8, err, errorCapacity) } }
        } else {
            try check { err in pixels.withUnsafeBytes { med_dcm_put_pixels(handle, $0.baseAddress, pixels.count, 16, err, errorCapacity) } }
        }
        try check { med_dcm_save(handle, path, syntax.code, Int32(jpegQuality), $0, errorCapacity) }
    }
}
