import XCTest

@testable import MedImage

final class StoredStatisticsTests: XCTestCase {
    /// Counted piece by piece as a reader hands them over (pieces of any size, across the 65,536-sample blocks),
    /// the statistics are the one-pass ones to the last bit, on values whose sum of squares passes 2^53 (where the
    /// grouping of the double additions would show), and each piece is masked to Bits Stored in place.
    func testStreamInPiecesEqualsOnePassAndMasksInPlace() {
        var state: UInt64 = 42
        let count = 6_000_001  // 12 MB: the last 60% of the block sums are added above 2^53, where they round
        let full = (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt16(50_000 + (state >> 33) % 15_536)
        }
        XCTAssertGreaterThan(full.reduce(0.0) { $0 + Double($1) * Double($1) }, 0x1p54)
        for bits in [16, 12] {
            var samples = full
            var stream = StoredStatistics.Stream(bitsStored: bits)
            samples.withUnsafeMutableBufferPointer { p in
                var start = 0
                for size in [1, 999, 65_536, 70_001, 3] + Array(repeating: 131_072, count: 50) where start < p.count {
                    let end = min(p.count, start + size)
                    stream.add(UnsafeMutableBufferPointer(rebasing: p[start..<end]))
                    start = end
                }
                stream.add(UnsafeMutableBufferPointer(rebasing: p[start...]))
            }
            let masked = full.map { $0 & UInt16((1 << bits) - 1) }
            XCTAssertTrue(samples == masked, "\(bits) bits: masked in place")
            let expected = StoredStatistics.of(masked)
            XCTAssertEqual(stream.finish(), expected, "\(bits) bits")
            XCTAssertEqual(expected.low, Int(masked.min()!))
            XCTAssertEqual(expected.high, Int(masked.max()!))
            XCTAssertEqual(expected.sum, Double(masked.reduce(0) { $0 + Int($1) }))
        }
    }
}
