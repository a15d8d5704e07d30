// The range, sum and sum of squares of an image's stored samples: what the grey-level steps start from (the
// table spans low...high; min–max, mean and standard deviation follow). GreyLevels takes them in one pass over
// the image; a reader that has the samples in cache anyway can take them as they arrive (StoredStatistics.Stream,
// used by normalize for uncompressed 16-bit DICOM frames), with the same sums in the same order, so the same
// doubles.
import CImageCodecs

public struct StoredStatistics: Sendable, Equatable {
    public var low: Int
    public var high: Int
    public var sum: Double
    public var sumSquares: Double

    /// One pass over `samples`. Integer sums over blocks stay exact: 65,536 squares of 16-bit values stay below
    /// 2^48; 32-bit values go one at a time into the double sums.
    public static func of<T: FixedWidthInteger>(_ samples: [T]) -> StoredStatistics {
        var sum = 0.0, sumSquares = 0.0
        if T.self == UInt16.self {
            var lo: UInt16 = 0, hi: UInt16 = 0
            samples.withUnsafeBytes { p in
                let words = p.bindMemory(to: UInt16.self)
                med_stats_u16(words.baseAddress, words.count, &lo, &hi, &sum, &sumSquares)
            }
            return StoredStatistics(low: Int(lo), high: Int(hi), sum: sum, sumSquares: sumSquares)
        }
        if T.self == UInt8.self {  // 8-bit JPEG and PNG sources, in C as well
            var lo: UInt8 = 0, hi: UInt8 = 0
            samples.withUnsafeBytes { p in
                med_stats_u8(p.baseAddress?.assumingMemoryBound(to: UInt8.self), p.count, &lo, &hi, &sum, &sumSquares)
            }
            return StoredStatistics(low: Int(lo), high: Int(hi), sum: sum, sumSquares: sumSquares)
        }
        var low = T.max, high = T.min
        samples.withUnsafeBufferPointer { p in
            let block = T.bitWidth <= 16 ? 65536 : 1
            var start = 0
            while start < p.count {
                let end = Swift.min(start + block, p.count)
                var blockSum: Int64 = 0, blockSquares: Int64 = 0
                var blockLow = T.max, blockHigh = T.min
                for i in start..<end {
                    let v = p[i]
                    blockLow = Swift.min(blockLow, v)
                    blockHigh = Swift.max(blockHigh, v)
                    let w = Int64(v)
                    blockSum &+= w
                    blockSquares &+= w &* w
                }
                low = Swift.min(low, blockLow)
                high = Swift.max(high, blockHigh)
                sum += Double(blockSum)
                sumSquares += Double(blockSquares)
                start = end
            }
        }
        return StoredStatistics(low: Int(low), high: Int(high), sum: sum, sumSquares: sumSquares)
    }

    /// 16-bit unsigned samples counted piece by piece, each first masked in place to `bitsStored` bits (what
    /// decoding does to a DICOM frame), while the piece is in cache: reading a radiograph, masking it and counting
    /// it had taken three passes over 7 MB.
    public struct Stream {
        private var state = MedStatsStream()
        private let mask: UInt16

        public init(bitsStored: Int) {
            mask = UInt16(truncatingIfNeeded: (1 << bitsStored) - 1)
            med_stats_stream_start(&state)
        }

        /// Masks and counts `piece` (whole samples).
        public mutating func add(_ piece: UnsafeMutableBufferPointer<UInt16>) {
            med_mask_stats_u16(piece.baseAddress, piece.count, mask, &state)
        }

        public mutating func finish() -> StoredStatistics {
            med_stats_stream_finish(&state)
            return StoredStatistics(low: Int(state.low), high: Int(state.high), sum: state.sum, sumSquares: state.sumSquares)
        }
    }
}
