// medad's grey-level steps and resizing against outputs Pillow made once from the same pixels
// (Fixtures/make_fixtures.py). The issue allows ±1 grey level; these match exactly, and the tests say so.
import Foundation
import MedImage
import XCTest

final class PillowFixtureTests: XCTestCase {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    func read(_ name: String) throws -> PixelImage { try PNGCodec.read(path: fixtures.appendingPathComponent(name).path) }

    func bytes(_ image: PixelImage) -> [UInt8] {
        guard case .uint8(let p) = image.samples else { XCTFail("expected 8-bit samples"); return [] }
        return p
    }

    /// The Med-AD chain then the geometry, as the normalize stage runs them: the resize reads the stored samples
    /// through the grey-level table (16-bit stored values for the radiograph, 8-bit for the others). Resizing the
    /// mapped image gives the same bytes.
    func normalize(_ image: PixelImage, photometric: String, size: Int, aspect: AspectHandling) throws -> [UInt8] {
        var header = GreyLevelHeader()
        header.photometric = photometric
        let grey = try GreyLevels.apply(try image.grayscale(), header: header, recipe: .medAD)
        let (width, height) = (image.width, image.height)
        guard case .uint8(let p) = try Geometry.square(grey.lookup, width: width, height: height, size: size, aspect: aspect),
            case .uint8(let mapped) = try Geometry.square(grey.pixels, width: width, height: height, size: size, aspect: aspect)
        else {
            XCTFail("expected 8-bit output"); return []
        }
        XCTAssertEqual(p, mapped, "resizing through the table and resizing the mapped image")
        return p
    }

    func assertEqualImages(_ actual: [UInt8], _ expected: [UInt8], _ name: String) {
        XCTAssertEqual(actual.count, expected.count, name)
        let differences = zip(actual, expected).map { abs(Int($0) - Int($1)) }
        XCTAssertEqual(differences.max() ?? 99, 0, "\(name): largest difference from Pillow")
    }

    func testMedADChainMatchesNumpyAndPillow() throws {
        let source = try read("radiograph16.png")
        XCTAssertEqual(source.bitsStored, 16)
        assertEqualImages(
            try normalize(source, photometric: "MONOCHROME1", size: 64, aspect: .stretch),
            bytes(try read("radiograph16_mono1_64.png")), "MONOCHROME1 to 64")
        assertEqualImages(
            try normalize(source, photometric: "MONOCHROME2", size: 64, aspect: .crop),
            bytes(try read("radiograph16_mono2_fit64.png")), "ImageOps.fit")
        assertEqualImages(
            try normalize(source, photometric: "MONOCHROME2", size: 64, aspect: .pad),
            bytes(try read("radiograph16_mono2_pad64.png")), "ImageOps.pad")
    }

    func testNonSquareShrinkAndEnlarge() throws {
        let source = try read("radiograph16.png")
        let grey = try GreyLevels.apply(source, header: GreyLevelHeader(), recipe: .medAD)
        guard case .uint8(let scaled) = grey.pixels else { return XCTFail("expected 8-bit") }
        assertEqualImages(
            PillowBilinear.resize(scaled, source.width, source.height, 100, 80),
            bytes(try read("radiograph16_mono2_100x80.png")), "100×80")
        let small = try read("small8.png")
        let unchanged = try GreyLevels.apply(small, header: GreyLevelHeader(), recipe: .medAD)
        XCTAssertEqual(unchanged.applied, [], "8-bit input is not min–max scaled")
        // Its table is the identity, so the resize reads the samples without lookups; an inverted table is not, and
        // resizing through it must equal resizing the inverted image (normalize compares the two).
        XCTAssertTrue(unchanged.lookup.isIdentity)
        var inverted = GreyLevelHeader()
        inverted.photometric = "MONOCHROME1"
        XCTAssertFalse(try GreyLevels.apply(small, header: inverted, recipe: .medAD).lookup.isIdentity)
        _ = try normalize(small, photometric: "MONOCHROME1", size: 64, aspect: .stretch)
        assertEqualImages(
            try normalize(small, photometric: "MONOCHROME2", size: 64, aspect: .stretch),
            bytes(try read("small8_up64.png")), "enlarging")
    }

    func testColourToGreyAsPillowConvertL() throws {
        let fundus = try JPEGCodec.decode(Array(try Data(contentsOf: fixtures.appendingPathComponent("fundus.jpg"))))
        XCTAssertEqual(fundus.channels, 3)
        assertEqualImages(
            try normalize(fundus, photometric: "RGB", size: 48, aspect: .stretch),
            bytes(try read("fundus_gray48.png")), "convert('L') then 48")
    }
}
