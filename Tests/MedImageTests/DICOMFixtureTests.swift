// Decoding what medad's own writer cannot make: JPEG 2000 (lossless and lossy, through OpenJPEG), native RGB,
// and multi-frame files, against pixels saved next to each fixture by Fixtures/make_dicom_fixtures.py.
import Foundation
import MedImage
import XCTest

final class DICOMFixtureTests: XCTestCase {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    func path(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    func testJPEG2000LosslessIsExactAndLossyIsClose() throws {
        let expected = try PNGCodec.read(path: path("j2k_pixels.png")).values
        let lossless = try DICOMFile(path: path("j2k_lossless.dcm"))
        XCTAssertEqual(lossless.transferSyntaxUID, "1.2.840.10008.1.2.4.90")
        let exact = try lossless.decodeFrame()
        XCTAssertEqual([exact.width, exact.height, exact.channels, exact.bitsStored], [48, 40, 1, 12])
        XCTAssertEqual(exact.values, expected)

        let lossy = try DICOMFile(path: path("j2k_lossy.dcm")).decodeFrame().values
        let errors = zip(lossy, expected).map { Double(abs($0 - $1)) }
        let rms = (errors.map { $0 * $0 }.reduce(0, +) / Double(errors.count)).squareRoot()
        XCTAssertGreaterThan(errors.max()!, 0, "10:1 irreversible coding is not exact")
        XCTAssertLessThan(rms, 60, "RMS error on a 0…4095 image")
    }

    func testNativeRGBAndMultiFrame() throws {
        let rgb = try DICOMFile(path: path("rgb_native.dcm")).decodeFrame()
        XCTAssertEqual(rgb.channels, 3)
        XCTAssertEqual(rgb.values, try PNGCodec.read(path: path("rgb_pixels.png")).values)

        let file = try DICOMFile(path: path("multiframe.dcm"))
        XCTAssertEqual(try file.pixelInfo().frames, 3)
        let stacked = try PNGCodec.read(path: path("multiframe_pixels.png")).values
        for frame in 0..<3 {
            XCTAssertEqual(try file.decodeFrame(frame).values, Array(stacked[(frame * 192)..<((frame + 1) * 192)]), "frame \(frame)")
        }
        XCTAssertTrue(file.hasCompleteNativePixels)
    }
}
