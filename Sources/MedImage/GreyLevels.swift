// Grey-level steps (rescale, window, VOI LUT, MONOCHROME1 inversion, percentile clipping, min–max, equalisation)
// applied as one lookup table over the stored values: each step transforms the table, whatever statistics it
// needs come from the table (and a histogram when a step needs counts), and one pass maps the pixels.
// Exact and fast: a 16-bit radiograph costs one statistics pass and one table lookup per pixel.
import CImageCodecs
import Foundation

public enum GreyLevelStep: String, CaseIterable, Sendable {
    /// Modality LUT: stored × Rescale Slope + Rescale Intercept.
    case rescale
    /// DICOM linear VOI window (centre/width from the recipe, else the header) onto the output range.
    case window
    /// The header's VOI LUT onto the output range.
    case voiLUT = "voi_lut"
    /// MONOCHROME1 only: mirror so that bright means dense (maximum minus value).
    case invertMonochrome1 = "invert_monochrome1"
    /// Clip to the recipe's low and high percentiles (numpy's linear interpolation).
    case clipPercentiles = "clip_percentiles"
    /// Min–max scale onto the output range, truncating as numpy's astype does; skipped for 8-bit input.
    case minmax
    /// Histogram equalisation onto the output range.
    case equalize

    /// Steps after which values lie in the output range (so a later inversion mirrors within it).
    var fixesRange: Bool { [.window, .voiLUT, .minmax, .equalize].contains(self) }
}

/// What the header says about grey levels.
public struct GreyLevelHeader: Sendable {
    public var rescaleSlope = 1.0
    public var rescaleIntercept = 0.0
    public var photometric = "MONOCHROME2"
    public var windowCenter: Double?
    public var windowWidth: Double?
    public var voiLUT: VOILUT?
    public init() {}
}

public struct GreyLevelRecipe: Sendable {
    public var steps: [GreyLevelStep]
    public var outputBits: Int
    /// Overrides the header's window when set.
    public var windowCenter: Double?
    public var windowWidth: Double?
    public var lowPercentile = 0.5
    public var highPercentile = 99.5

    public init(steps: [GreyLevelStep], outputBits: Int) {
        self.steps = steps
        self.outputBits = outputBits
    }

    /// The Med-AD preprocessing: rescale, invert MONOCHROME1, min–max to 8 bits.
    public static let medAD = GreyLevelRecipe(steps: [.rescale, .invertMonochrome1, .minmax], outputBits: 8)
}

/// Statistics of the modality values (after rescale slope and intercept, before any other step).
public struct GreyLevelStatistics: Sendable, Equatable {
    public var min, max, mean, standardDeviation: Double
}

public struct GreyLevelResult: Sendable {
    /// The stored samples and their output levels (`.uint8` or `.uint16` as the recipe asks).
    public var lookup: GreyLookup
    /// Output samples: every stored sample mapped (a full-size pass; a resize reads `lookup` instead).
    public var pixels: Samples { lookup.mapped() }
    /// Names of the steps that changed something, in order.
    public var applied: [String]
    public var statistics: GreyLevelStatistics
}

public enum GreyLevels {
    /// The widest stored-value range the table approach takes (2^24 entries).
    public static let maxSpan = 1 << 24

    /// `stored`: the samples' statistics when the reader took them already (StoredStatistics.Stream); otherwise
    /// one pass here takes them.
    public static func apply(
        _ image: PixelImage, header: GreyLevelHeader, recipe: GreyLevelRecipe, stored: StoredStatistics? = nil
    ) throws -> GreyLevelResult {
        guard image.channels == 1 else { throw ImageError("grey-level steps need one channel, got \(image.channels)") }
        switch image.samples {
        case .uint8(let s): return try apply(s, image: image, header: header, recipe: recipe, stored: stored ?? .of(s))
        case .uint16(let s): return try apply(s, image: image, header: header, recipe: recipe, stored: stored ?? .of(s))
        case .int16(let s): return try apply(s, image: image, header: header, recipe: recipe, stored: stored ?? .of(s))
        case .int32(let s): return try apply(s, image: image, header: header, recipe: recipe, stored: stored ?? .of(s))
        }
    }

    static func apply<T: FixedWidthInteger>(
        _ samples: [T], image: PixelImage, header: GreyLevelHeader,
        recipe: GreyLevelRecipe, stored: StoredStatistics
    ) throws -> GreyLevelResult {
        let (low, high, sum, sumSquares) = (stored.low, stored.high, stored.sum, stored.sumSquares)
        let n = Double(samples.count)
        let base = Int(low)
        let span = Int(high) - base + 1
        guard span <= maxSpan else { throw ImageError("stored values span \(span) levels, more than \(maxSpan)") }
        let storedMean = sum / n
        let storedStd = Swift.max(0, sumSquares / n - storedMean * storedMean).squareRoot()
        let slope = header.rescaleSlope, intercept = header.rescaleIntercept
        let ends = [Double(low) * slope + intercept, Double(high) * slope + intercept]
        let statistics = GreyLevelStatistics(
            min: ends.min()!, max: ends.max()!, mean: storedMean * slope + intercept,
            standardDeviation: storedStd * abs(slope))

        let needsCounts = recipe.steps.contains { [.clipPercentiles, .equalize, .voiLUT].contains($0) }
        var counts: [Int]? = nil
        if needsCounts {
            var c = [Int](repeating: 0, count: span)
            samples.withUnsafeBufferPointer { p in for v in p { c[Int(v) - base] += 1 } }
            counts = c
        }
        var table = GreyTable(
            values: (0..<span).map { Double(base + $0) }, counts: counts,
            outputMax: Double((1 << recipe.outputBits) - 1))
        var applied: [String] = []
        var rangeFixed = false
        for step in recipe.steps {
            if try table.apply(step, header: header, recipe: recipe, isUnsigned8Bit: image.isUnsigned8Bit, rangeFixed: rangeFixed) {
                applied.append(step.rawValue)
                rangeFixed = rangeFixed || step.fixesRange
            }
        }
        let levels: Samples = recipe.outputBits == 8 ? .uint8(table.quantized(UInt8.self)) : .uint16(table.quantized(UInt16.self))
        return GreyLevelResult(
            lookup: GreyLookup(stored: image.samples, base: base, table: levels), applied: applied, statistics: statistics)
    }
}

/// The value each stored level maps to so far, with the level's pixel count when a step needs it.
struct GreyTable {
    var values: [Double]
    var counts: [Int]?
    let outputMax: Double

    /// Extremes over the levels that occur (all levels of the range when counts are unknown, which is
    /// exact because every step before a count-needing one is monotone and the range ends occur).
    var extremes: (Double, Double) {
        var lo = Double.infinity, hi = -Double.infinity
        for i in values.indices where counts.map({ $0[i] > 0 }) ?? true {
            lo = min(lo, values[i]); hi = max(hi, values[i])
        }
        return (lo, hi)
    }

    /// Applies one step; returns false when it does not apply to this image.
    mutating func apply(
        _ step: GreyLevelStep, header: GreyLevelHeader, recipe: GreyLevelRecipe,
        isUnsigned8Bit: Bool, rangeFixed: Bool
    ) throws -> Bool {
        switch step {
        case .rescale:
            let slope = header.rescaleSlope, intercept = header.rescaleIntercept
            guard slope != 1 || intercept != 0 else { return false }
            for i in values.indices { values[i] = values[i] * slope + intercept }
        case .window:
            guard let center = recipe.windowCenter ?? header.windowCenter,
                let width = recipe.windowWidth ?? header.windowWidth, width >= 1
            else { return false }
            // DICOM PS3.3 C.11.2.1.2.1, the linear function.
            let lowEdge = center - 0.5 - (width - 1) / 2, highEdge = center - 0.5 + (width - 1) / 2
            for i in values.indices {
                let x = values[i]
                if x <= lowEdge {
                    values[i] = 0
                } else if x > highEdge {
                    values[i] = outputMax
                } else {
                    values[i] = ((x - (center - 0.5)) / (width - 1) + 0.5) * outputMax
                }
            }
        case .voiLUT:
            guard let lut = header.voiLUT, !lut.table.isEmpty else { return false }
            let scale = outputMax / Double((1 << lut.bits) - 1)
            for i in values.indices {
                let index = min(max(Int(values[i].rounded(.down)) - lut.firstMapped, 0), lut.table.count - 1)
                values[i] = Double(lut.table[index]) * scale
            }
        case .invertMonochrome1:
            guard header.photometric == "MONOCHROME1" else { return false }
            let top = rangeFixed ? outputMax : extremes.1
            for i in values.indices { values[i] = top - values[i] }
        case .clipPercentiles:
            guard let counts else { return false }
            let lo = percentile(recipe.lowPercentile, counts: counts), hi = percentile(recipe.highPercentile, counts: counts)
            for i in values.indices { values[i] = min(max(values[i], lo), hi) }
        case .minmax:
            guard !isUnsigned8Bit || outputMax != 255 else { return false }
            let (lo, hi) = extremes
            // As numpy: (data - min) / max(data - min) * 255, then truncation; a flat image becomes 0.
            for i in values.indices { values[i] = hi > lo ? (values[i] - lo) / (hi - lo) * outputMax : 0 }
        case .equalize:
            guard let counts else { return false }
            let order = values.indices.filter { counts[$0] > 0 }.sorted { values[$0] < values[$1] }
            let total = counts.reduce(0, +)
            let first = order.first.map { counts[$0] } ?? 0
            var cumulative = 0
            var mapped = values
            var i = 0
            while i < order.count {  // equal values share one output level
                var j = i
                while j < order.count, values[order[j]] == values[order[i]] { cumulative += counts[order[j]]; j += 1 }
                let level = total > first ? (Double(cumulative - first) / Double(total - first) * outputMax).rounded() : 0
                for k in i..<j { mapped[order[k]] = level }
                i = j
            }
            values = mapped
        }
        return true
    }

    /// numpy.percentile's default (linear) over the occurring values weighted by their counts.
    func percentile(_ p: Double, counts: [Int]) -> Double {
        let order = values.indices.filter { counts[$0] > 0 }.sorted { values[$0] < values[$1] }
        let total = counts.reduce(0, +)
        let position = Double(total - 1) * p / 100
        let below = Int(position.rounded(.down)), fraction = position - Double(below)
        func valueAt(rank: Int) -> Double {
            var seen = 0
            for index in order {
                seen += counts[index]
                if rank < seen { return values[index] }
            }
            return values[order.last!]
        }
        let a = valueAt(rank: below)
        return fraction > 0 ? a + (valueAt(rank: below + 1) - a) * fraction : a
    }

    /// Truncated and clipped to the output range.
    func quantized<U: FixedWidthInteger>(_ type: U.Type) -> [U] {
        values.map { v in
            guard v.isFinite else { return 0 }
            return U(min(max(v.rounded(.down), 0), outputMax))
        }
    }
}
