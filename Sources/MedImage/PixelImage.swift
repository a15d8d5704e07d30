// The decoded image every reader returns: samples kept at their stored width, so a 16-bit radiograph
// costs 2 bytes a pixel and grey-level work can use lookup tables over the stored values.
import Foundation

/// Samples in the narrowest type that holds them, interleaved when there are several channels.
public enum Samples: Sendable {
    case uint8([UInt8])
    case uint16([UInt16])
    case int16([Int16])
    case int32([Int32])

    public var count: Int {
        switch self {
        case .uint8(let s): return s.count
        case .uint16(let s): return s.count
        case .int16(let s): return s.count
        case .int32(let s): return s.count
        }
    }
}

public struct PixelImage: Sendable {
    public let width: Int
    public let height: Int
    public let channels: Int
    /// Meaningful bits per sample (Bits Stored for DICOM; 8 or 16 for PNG; the precision for JPEG 2000).
    public let bitsStored: Int
    public let samples: Samples

    public init(width: Int, height: Int, channels: Int, bitsStored: Int, samples: Samples) {
        precondition(samples.count == width * height * channels, "sample count does not match the size")
        self.width = width
        self.height = height
        self.channels = channels
        self.bitsStored = bitsStored
        self.samples = samples
    }

    /// Whether samples are unsigned 8-bit (the Med-AD recipe skips min–max scaling for these).
    public var isUnsigned8Bit: Bool {
        if case .uint8 = samples { return true }
        return false
    }

    /// Every sample widened to Int32 (for tests and inspection; the hot paths use `samples`).
    public var values: [Int32] {
        switch samples {
        case .uint8(let s): return s.map(Int32.init)
        case .uint16(let s): return s.map(Int32.init)
        case .int16(let s): return s.map(Int32.init)
        case .int32(let s): return s
        }
    }

    /// One channel of grey: the image itself, or colour reduced as Pillow's `convert('L')` does
    /// (ITU-R 601-2 luma, L = (19595 R + 38470 G + 7471 B + 32768) >> 16) for 8-bit RGB.
    public func grayscale() throws -> PixelImage {
        if channels == 1 { return self }
        guard channels == 3, case .uint8(let rgb) = samples else {
            throw ImageError("cannot reduce \(channels) channels of \(bitsStored)-bit samples to grey (8-bit RGB only)")
        }
        let count = width * height
        let gray = [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            rgb.withUnsafeBufferPointer { p in
                for i in 0..<count {
                    let r = UInt32(p[3 * i]), g = UInt32(p[3 * i + 1]), b = UInt32(p[3 * i + 2])
                    out[i] = UInt8(truncatingIfNeeded: (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16)
                }
            }
            initialized = count
        }
        return PixelImage(width: width, height: height, channels: 1, bitsStored: 8, samples: .uint8(gray))
    }
}

public struct ImageError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
