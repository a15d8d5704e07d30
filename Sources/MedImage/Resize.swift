// Bilinear resizing with Pillow's sampling, so medad's PNGs match `Image.resize(size, BILINEAR)`:
// separable passes (horizontal first, over only the rows the vertical pass needs), a triangle filter
// widened by the scale when shrinking (antialiasing), weights normalised per output pixel, and for
// 8-bit images Pillow's fixed-point arithmetic (22 fractional bits, rounding offset, clipping).
import CImageCodecs
import Foundation

public enum PillowBilinear {
    /// A source region, in source pixels (Pillow's `box`); nil means the whole image.
    public struct Box: Equatable, Sendable {
        public var x0, y0, x1, y1: Double
        public init(x0: Double, y0: Double, x1: Double, y1: Double) {
            self.x0 = x0; self.y0 = y0; self.x1 = x1; self.y1 = y1
        }
    }

    /// Weights of each output sample: the first source index and one weight per source sample used.
    struct Coefficients {
        var first: [Int]
        var count: [Int]
        var weights: [Double]  // outSize × taps, row-major
        var taps: Int
    }

    static func coefficients(inSize: Int, from in0: Double, to in1: Double, outSize: Int) -> Coefficients {
        // Pillow keeps the box in single precision.
        let in0 = Double(Float(in0)), in1 = Double(Float(in1))
        let scale = (in1 - in0) / Double(outSize)
        let filterScale = max(scale, 1.0)
        let support = 1.0 * filterScale  // bilinear support is 1
        let taps = Int(support.rounded(.up)) * 2 + 1
        var c = Coefficients(
            first: [Int](repeating: 0, count: outSize), count: [Int](repeating: 0, count: outSize),
            weights: [Double](repeating: 0, count: outSize * taps), taps: taps)
        let inverse = 1.0 / filterScale
        for xx in 0..<outSize {
            let center = in0 + (Double(xx) + 0.5) * scale
            let xmin = max(Int(center - support + 0.5), 0)  // Int() truncates toward zero, as C's (int) cast
            let xmax = min(Int(center + support + 0.5), inSize) - xmin
            var total = 0.0
            for x in 0..<max(xmax, 0) {
                let w = max(0, 1 - abs((Double(x + xmin) - center + 0.5) * inverse))
                c.weights[xx * taps + x] = w
                total += w
            }
            if total != 0 { for x in 0..<max(xmax, 0) { c.weights[xx * taps + x] /= total } }
            c.first[xx] = xmin
            c.count[xx] = max(xmax, 0)
        }
        return c
    }

    static let precisionBits = 32 - 8 - 2

    /// Pillow's conversion of a weight to fixed point.
    static func fixed(_ w: Double) -> Int32 {
        Int32(w < 0 ? -0.5 + w * Double(1 << precisionBits) : 0.5 + w * Double(1 << precisionBits))
    }

    /// Resizes an 8-bit grey image, byte for byte as Pillow does.
    public static func resize(
        _ pixels: [UInt8], _ width: Int, _ height: Int, _ outWidth: Int, _ outHeight: Int,
        _ box: Box? = nil
    ) -> [UInt8] {
        resize(GreyLookup.identity(pixels), width, height, outWidth, outHeight, box)
    }

    /// Resizes the 8-bit image that `lookup` maps its stored samples to, byte for byte as Pillow resizes that
    /// image, reading the levels through the table in the horizontal pass instead of mapping the image first.
    public static func resize(
        _ lookup: GreyLookup, _ width: Int, _ height: Int, _ outWidth: Int, _ outHeight: Int,
        _ box: Box? = nil
    ) -> [UInt8] {
        guard case .uint8(let table) = lookup.table else { preconditionFailure("an 8-bit table") }
        let box = box ?? Box(x0: 0, y0: 0, x1: Double(width), y1: Double(height))
        if outWidth == width, outHeight == height, box == Box(x0: 0, y0: 0, x1: Double(width), y1: Double(height)) {
            return levels(lookup)
        }
        let horizontal = coefficients(inSize: width, from: box.x0, to: box.x1, outSize: outWidth)
        let vertical = coefficients(inSize: height, from: box.y0, to: box.y1, outSize: outHeight)
        let needHorizontal = outWidth != width || box.x0 != 0 || box.x1 != Double(outWidth)
        let needVertical = outHeight != height || box.y0 != 0 || box.y1 != Double(outHeight)
        let rowFirst = vertical.first[0]
        let rowLast = vertical.first[outHeight - 1] + vertical.count[outHeight - 1]

        var source: [UInt8], sourceWidth = width, rowOffset = 0
        if needHorizontal {
            source = horizontalPass(
                lookup, table: table, width: width, lines: rowFirst..<rowLast, outCount: outWidth, coefficients: horizontal)
            sourceWidth = outWidth
            rowOffset = rowFirst
        } else {
            source = levels(lookup)
        }
        guard needVertical else { return source }
        var shifted = vertical
        for i in 0..<outHeight { shifted.first[i] -= rowOffset }
        return verticalPass(source, width: sourceWidth, outRows: outHeight, coefficients: shifted)
    }

    /// Pillow's horizontal pass in fixed point over rows `lines` (in C: cimagekernels.h), reading each level as
    /// table[stored − base]. Integer sums do not depend on their order, so the result is Pillow's.
    private static func horizontalPass(
        _ lookup: GreyLookup, table: [UInt8], width: Int, lines: Range<Int>, outCount: Int, coefficients c: Coefficients
    ) -> [UInt8] {
        // A nil table: the samples are their own levels (GreyLookup.isIdentity), read without lookups (the scalar
        // lookups were half of this pass for a 1024² JPEG).
        func run(_ stored: UnsafeRawPointer, sampleBytes: Int, base: Int, table: UnsafePointer<UInt8>?) -> [UInt8] {
            [UInt8](unsafeUninitializedCapacity: lines.count * outCount) { out, initialized in
                let failed = med_resize_h8_lookup(
                    stored + lines.lowerBound * width * sampleBytes, sampleBytes, width, lines.count, UInt32(base), table,
                    outCount, c.first.map(Int32.init), c.count.map(Int32.init), c.weights.map(fixed), c.taps,
                    out.baseAddress!)
                precondition(failed == 0, "out of memory resizing")
                initialized = lines.count * outCount
            }
        }
        let identity = lookup.isIdentity
        return table.withUnsafeBufferPointer { t in
            switch lookup.stored {
            case .uint8(let s):
                return s.withUnsafeBytes { run($0.baseAddress!, sampleBytes: 1, base: lookup.base, table: identity ? nil : t.baseAddress) }
            case .uint16(let s): return s.withUnsafeBytes { run($0.baseAddress!, sampleBytes: 2, base: lookup.base, table: t.baseAddress) }
            default:  // signed stored values: map first (rare; the table is indexed from the minimum)
                return lookup.mapped(table).withUnsafeBytes { run($0.baseAddress!, sampleBytes: 1, base: 0, table: nil) }
            }
        }
    }

    /// The 8-bit levels of every stored sample (`lookup`'s table is 8-bit here).
    private static func levels(_ lookup: GreyLookup) -> [UInt8] {
        guard case .uint8(let levels) = lookup.mapped() else { preconditionFailure("an 8-bit table") }
        return levels
    }

    /// Pillow's vertical pass in fixed point: output row y sums count[y] rows from first[y] (in C).
    private static func verticalPass(_ input: [UInt8], width: Int, outRows: Int, coefficients c: Coefficients) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: width * outRows) { out, initialized in
            med_resize_v8(
                input, width, outRows, c.first.map(Int32.init), c.count.map(Int32.init), c.weights.map(fixed), c.taps,
                out.baseAddress!)
            initialized = width * outRows
        }
    }

    /// Resizes a 16-bit grey image with the same sampling in double precision, rounding to nearest.
    public static func resize(
        _ pixels: [UInt16], _ width: Int, _ height: Int, _ outWidth: Int, _ outHeight: Int,
        _ box: Box? = nil
    ) -> [UInt16] {
        let box = box ?? Box(x0: 0, y0: 0, x1: Double(width), y1: Double(height))
        let horizontal = coefficients(inSize: width, from: box.x0, to: box.x1, outSize: outWidth)
        let vertical = coefficients(inSize: height, from: box.y0, to: box.y1, outSize: outHeight)
        var temp = [Double](repeating: 0, count: outWidth * height)
        for y in 0..<height {
            for xx in 0..<outWidth {
                var sum = 0.0
                for x in 0..<horizontal.count[xx] {
                    sum += Double(pixels[y * width + horizontal.first[xx] + x]) * horizontal.weights[xx * horizontal.taps + x]
                }
                temp[y * outWidth + xx] = sum
            }
        }
        var out = [UInt16](repeating: 0, count: outWidth * outHeight)
        for yy in 0..<outHeight {
            for x in 0..<outWidth {
                var sum = 0.0
                for y in 0..<vertical.count[yy] {
                    sum += temp[(vertical.first[yy] + y) * outWidth + x] * vertical.weights[yy * vertical.taps + y]
                }
                out[yy * outWidth + x] = UInt16(min(max(sum.rounded(), 0), 65535))
            }
        }
        return out
    }
}

/// How a non-square image meets a square output, as Pillow's helpers do it.
public enum AspectHandling: String, CaseIterable, Sendable {
    /// `resize((s, s))`: the Med-AD default; proportions change.
    case stretch
    /// `ImageOps.pad`: fit inside, centred on black.
    case pad
    /// `ImageOps.fit`: centre crop to the output's proportions, then resize.
    case crop
}

public enum Geometry {
    /// Resizes grey samples (8- or 16-bit) to size × size with the given aspect handling.
    public static func square(_ samples: Samples, width: Int, height: Int, size: Int, aspect: AspectHandling) throws -> Samples {
        switch samples {
        case .uint8(let p):
            return .uint8(
                square(width: width, height: height, size: size, aspect: aspect) { PillowBilinear.resize(p, width, height, $0, $1, $2) })
        case .uint16(let p):
            return .uint16(
                square(width: width, height: height, size: size, aspect: aspect) { PillowBilinear.resize(p, width, height, $0, $1, $2) })
        default: throw ImageError("resizing takes unsigned 8- or 16-bit samples")
        }
    }

    /// Resizes the grey levels `lookup` gives to size × size: an 8-bit table is read through during the resize
    /// (no full-size mapped copy; see med_resize_h8_lookup), a 16-bit one is applied first.
    public static func square(_ lookup: GreyLookup, width: Int, height: Int, size: Int, aspect: AspectHandling) throws -> Samples {
        guard case .uint8 = lookup.table else {
            return try square(lookup.mapped(), width: width, height: height, size: size, aspect: aspect)
        }
        return .uint8(
            square(width: width, height: height, size: size, aspect: aspect) { PillowBilinear.resize(lookup, width, height, $0, $1, $2) })
    }

    /// The aspect handling around `resize(outWidth, outHeight, box)`, which resizes the width × height source.
    static func square<T: FixedWidthInteger>(
        width: Int, height: Int, size: Int, aspect: AspectHandling, resize: (Int, Int, PillowBilinear.Box?) -> [T]
    ) -> [T] {
        let w = Double(width), h = Double(height)
        switch aspect {
        case .stretch:
            return resize(size, size, nil)
        case .crop:
            let side = min(w, h)
            let left = (w - side) * 0.5, top = (h - side) * 0.5
            return resize(size, size, PillowBilinear.Box(x0: left, y0: top, x1: left + side, y1: top + side))
        case .pad:
            var outWidth = size, outHeight = size
            if width > height {
                outHeight = Int((h / w * Double(size)).rounded(.toNearestOrEven))
            } else if height > width {
                outWidth = Int((w / h * Double(size)).rounded(.toNearestOrEven))
            }
            let resized = resize(max(outWidth, 1), max(outHeight, 1), nil)
            if outWidth == size, outHeight == size { return resized }
            let x = Int((Double(size - outWidth) * 0.5).rounded(.toNearestOrEven))
            let y = Int((Double(size - outHeight) * 0.5).rounded(.toNearestOrEven))
            var canvas = [T](repeating: 0, count: size * size)
            for row in 0..<outHeight {
                for column in 0..<outWidth { canvas[(row + y) * size + column + x] = resized[row * outWidth + column] }
            }
            return canvas
        }
    }
}
