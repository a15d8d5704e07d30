// PNG, JPEG and JPEG 2000 through the C wrappers over libpng, libjpeg-turbo and OpenJPEG.
import CImageCodecs
import Foundation

/// What a file's first bytes say it is.
public enum FileSignature: String, Sendable {
    case dicom, png, jpeg, jpeg2000, unknown

    /// Recognises PNG, JPEG, JPEG 2000 and DICOM with its preamble; `unknown` may still be a preamble-less
    /// DICOM dataset, which only a parse can tell.
    public static func of(_ head: [UInt8]) -> FileSignature {
        if head.count >= 8, head[0..<8] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] { return .png }
        if head.count >= 3, head[0] == 0xFF, head[1] == 0xD8, head[2] == 0xFF { return .jpeg }
        if head.count >= 12, head[0..<12] == [0, 0, 0, 12, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A] { return .jpeg2000 }
        if head.count >= 4, head[0..<4] == [0xFF, 0x4F, 0xFF, 0x51] { return .jpeg2000 }
        if head.count >= 132, head[128..<132] == [0x44, 0x49, 0x43, 0x4D] { return .dicom }
        return .unknown
    }
}

private let errorCapacity = 512

/// Runs a C decoder and turns its result into a PixelImage.
private func decode(_ body: (UnsafeMutablePointer<MedDecoded>, UnsafeMutablePointer<CChar>) -> Int32) throws -> PixelImage {
    var decoded = MedDecoded()
    var message = [CChar](repeating: 0, count: errorCapacity)
    let status = message.withUnsafeMutableBufferPointer { body(&decoded, $0.baseAddress!) }
    guard status == 0 else { throw ImageError(String(nulTerminated: message)) }
    defer { med_decoded_free(&decoded) }
    let width = Int(decoded.width), height = Int(decoded.height), channels = Int(decoded.channels)
    let count = width * height * channels
    let bits = Int(decoded.bitsPerSample)
    func copy<T>(_ type: T.Type) -> [T] {
        Array(UnsafeBufferPointer(start: decoded.pixels.assumingMemoryBound(to: T.self), count: count))
    }
    let samples: Samples
    switch decoded.bytesPerSample {
    case 1: samples = .uint8(copy(UInt8.self))
    case 2: samples = .uint16(copy(UInt16.self))
    default: samples = narrowed(copy(Int32.self), bits: bits, signed: decoded.isSigned != 0)
    }
    return PixelImage(width: width, height: height, channels: channels, bitsStored: bits, samples: samples)
}

/// Int32 samples (JPEG 2000) moved to the narrowest storage their precision allows.
func narrowed(_ values: [Int32], bits: Int, signed: Bool) -> Samples {
    switch (bits, signed) {
    case (...8, false): return .uint8(values.map { UInt8(clamping: $0) })
    case (...16, false): return .uint16(values.map { UInt16(clamping: $0) })
    case (...16, true): return .int16(values.map { Int16(clamping: $0) })
    default: return .int32(values)
    }
}

public enum PNGCodec {
    /// Reads a PNG of any colour type; alpha is dropped, palettes expanded, 16 bits kept for grey.
    public static func read(path: String, maxPixels: Int = 100_000_000) throws -> PixelImage {
        try decode { med_png_read(path, UInt64(maxPixels), $0, $1, errorCapacity) }
    }

    /// Writes a grey PNG; `pixels` holds width × height samples of 8 or 16 bits.
    public static func writeGray(path: String, pixels: Samples, width: Int, height: Int) throws {
        var message = [CChar](repeating: 0, count: errorCapacity)
        let status: Int32 = message.withUnsafeMutableBufferPointer { err in
            switch pixels {
            case .uint8(let p):
                return p.withUnsafeBytes {
                    med_png_write(path, $0.baseAddress, UInt32(width), UInt32(height), 8, 1, err.baseAddress!, errorCapacity)
                }
            case .uint16(let p):
                return p.withUnsafeBytes {
                    med_png_write(path, $0.baseAddress, UInt32(width), UInt32(height), 16, 1, err.baseAddress!, errorCapacity)
                }
            default:
                _ = strncpy(err.baseAddress!, "PNG output takes unsigned 8- or 16-bit samples", errorCapacity - 1)
                return 1
            }
        }
        guard status == 0 else { throw ImageError(String(nulTerminated: message)) }
    }
}

extension PNGCodec {
    /// Writes an 8-bit RGB PNG; `rgb` holds width × height × 3 interleaved samples (charts).
    public static func writeRGB(path: String, rgb: [UInt8], width: Int, height: Int) throws {
        precondition(rgb.count == width * height * 3, "RGB PNG: \(rgb.count) samples for \(width)×\(height)")
        var message = [CChar](repeating: 0, count: errorCapacity)
        let status = message.withUnsafeMutableBufferPointer { err in
            rgb.withUnsafeBytes {
                med_png_write(path, $0.baseAddress, UInt32(width), UInt32(height), 8, 3, err.baseAddress!, errorCapacity)
            }
        }
        guard status == 0 else { throw ImageError(String(nulTerminated: message)) }
    }
}

public enum JPEGCodec {
    /// Decodes an 8-bit JPEG stream; colour comes back as RGB, as Pillow sees it. The header is read first, so that
    /// libjpeg writes straight into the array (copying a decoded 1024² image out of a C buffer took 0.2 ms).
    public static func decode(_ data: [UInt8], maxPixels: Int = 100_000_000) throws -> PixelImage {
        let (width, height, channels) = try header(data, maxPixels: maxPixels)
        var message = [CChar](repeating: 0, count: errorCapacity)
        var status: Int32 = 0
        let pixels = [UInt8](unsafeUninitializedCapacity: width * height * channels) { buffer, initialized in
            status = data.withUnsafeBufferPointer { bytes in
                message.withUnsafeMutableBufferPointer {
                    med_jpeg_decode(
                        bytes.baseAddress, bytes.count, UInt64(maxPixels), buffer.baseAddress, buffer.count, $0.baseAddress!,
                        errorCapacity)
                }
            }
            initialized = status == 0 ? buffer.count : 0
        }
        guard status == 0 else { throw ImageError(String(nulTerminated: message)) }
        return PixelImage(width: width, height: height, channels: channels, bitsStored: 8, samples: .uint8(pixels))
    }
}

extension JPEGCodec {
    /// Reads a stream's header only: its width, height and channels, refusing what decoding would refuse before
    /// it starts (too many pixels, a size the stream is too short to code, components other than 1 or 3).
    /// Damage in the entropy-coded data is not seen; `decode` finds it.
    public static func header(_ data: some ContiguousBytes, maxPixels: Int = 100_000_000) throws -> (width: Int, height: Int, channels: Int)
    {
        var width: UInt32 = 0, height: UInt32 = 0, channels: UInt32 = 0
        var message = [CChar](repeating: 0, count: errorCapacity)
        let status = data.withUnsafeBytes { bytes in
            message.withUnsafeMutableBufferPointer {
                med_jpeg_header(
                    bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, UInt64(maxPixels), &width, &height, &channels,
                    $0.baseAddress!, errorCapacity)
            }
        }
        guard status == 0 else { throw ImageError(String(nulTerminated: message)) }
        return (Int(width), Int(height), Int(channels))
    }
}

public enum JPEG2000Codec {
    /// Decodes a JPEG 2000 codestream or JP2 file (lossless or lossy) through OpenJPEG.
    public static func decode(_ data: [UInt8], maxPixels: Int = 100_000_000) throws -> PixelImage {
        try data.withUnsafeBufferPointer { buffer in
            try MedImage.decode { med_j2k_decode(buffer.baseAddress, buffer.count, UInt64(maxPixels), $0, $1, errorCapacity) }
        }
    }
}
