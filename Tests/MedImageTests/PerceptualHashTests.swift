// The difference hash on images whose cell averages can be ordered by hand: along a brightening gradient every
// cell is darker than its right-hand neighbour (every bit 1), along a darkening one none is (every bit 0), on sizes
// that divide into the 17 × 16 cells and on sizes whose pixels straddle cells (shares of a pixel in two cells).
import MedImage
import XCTest

final class PerceptualHashTests: XCTestCase {
    /// A width × height 8-bit image whose row y holds value(x, y).
    func image(_ width: Int, _ height: Int, _ value: (Int, Int) -> Int) -> Samples {
        .uint8((0..<width * height).map { UInt8(value($0 % width, $0 / width)) })
    }

    func testGradientsGiveAllOnesOrAllZeros() {
        for (width, height) in [(17, 16), (512, 512), (100, 37), (23, 300)] {
            let brighter = image(width, height) { x, _ in x * 255 / (width - 1) }
            let darker = image(width, height) { x, _ in 255 - x * 255 / (width - 1) }
            XCTAssertEqual(
                PerceptualHash.differenceHash(brighter, width: width, height: height), String(repeating: "f", count: 64),
                "\(width)×\(height) brightening to the right")
            XCTAssertEqual(
                PerceptualHash.differenceHash(darker, width: width, height: height), String(repeating: "0", count: 64),
                "\(width)×\(height) darkening to the right")
        }
    }

    func testEachRowOfBitsComesFromItsOwnBand() {
        // 48 rows: 3 to a band of cells. The top half brightens to the right, the bottom half darkens: 8 rows of
        // bits set, then 8 clear. Band 8's rows all lie in the bottom half, so the boundary is exact.
        let width = 85, height = 48
        let halves = image(width, height) { x, y in y < 24 ? x * 3 : 255 - x * 3 }
        XCTAssertEqual(
            PerceptualHash.differenceHash(halves, width: width, height: height),
            String(repeating: "ffff", count: 8) + String(repeating: "0000", count: 8))
        // 16-bit samples give the same bits as the same image in 8 bits.
        guard case .uint8(let bytes) = halves else { return XCTFail("8-bit image") }
        XCTAssertEqual(
            PerceptualHash.differenceHash(.uint16(bytes.map { UInt16($0) * 257 }), width: width, height: height),
            PerceptualHash.differenceHash(halves, width: width, height: height))
        // Signed samples (widened to 32 bits for the kernel), shifted below zero: the same bits.
        for signed in [Samples.int16(bytes.map { Int16($0) - 200 }), .int32(bytes.map { Int32($0) * 1000 - 99_999 })] {
            XCTAssertEqual(
                PerceptualHash.differenceHash(signed, width: width, height: height),
                PerceptualHash.differenceHash(halves, width: width, height: height))
        }
    }

    func testOneBrightCellSetsTheBitToItsLeftAndClearsItsOwn() {
        // A flat image with one bright block covering exactly cell (row 5, column 7) of a 17 × 16 grid at 4 × 4
        // pixels a cell: bit (5, 6) compares cell 6 < cell 7 (set), bit (5, 7) cell 7 < cell 8 (clear); the others
        // compare equal flat cells (clear).
        let width = 68, height = 64
        let block = image(width, height) { x, y in (28..<32).contains(x) && (20..<24).contains(y) ? 200 : 50 }
        var bits = [Character](repeating: "0", count: 64)
        bits[5 * 4 + 1] = "2"  // row 5, nibble 1 (columns 4–7), bit for column 6: value 0b0010
        XCTAssertEqual(PerceptualHash.differenceHash(block, width: width, height: height), String(bits))
    }
}
