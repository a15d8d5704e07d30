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

    /// Little-endian int16 values a fixture script saved from pydicom's decode.
    func raw(_ name: String) throws -> [Int32] {
        let data = try Data(contentsOf: fixtures.appendingPathComponent(name))
        return stride(from: 0, to: data.count, by: 2).map { Int32(Int16(bitPattern: UInt16(data[$0]) | UInt16(data[$0 + 1]) << 8)) }
    }

    /// A JPEG 2000 codestream that says unsigned 13-bit under Pixel Representation 1: its values are 13-bit
    /// two's complement, as pydicom reads them (not 0…8191), and the file says so.
    func testJPEG2000SignednessFollowsPixelRepresentationAsPydicom() throws {
        let file = try DICOMFile(path: path("j2k_sign_mismatch.dcm"))
        let image = try file.decodeFrame()
        XCTAssertEqual(image.values, try raw("j2k_sign_mismatch_pixels.raw"))
        XCTAssertTrue(image.values.contains { $0 < 0 })
        XCTAssertEqual(
            try file.decodingNote(),
            "the JPEG 2000 codestream says unsigned 13-bit, Pixel Representation signed: read as 13-bit two's complement, as pydicom does")
    }

    /// JPEG extended (process 2 and 4) at 12 bits, through DCMTK's 12-bit IJG codec, against pydicom's decode
    /// (libjpeg): lossy decoders differ in their inverse DCT's rounding, so within one grey level of 4095.
    func testJPEGExtended12BitMatchesPydicom() throws {
        let file = try DICOMFile(path: path("jpeg_extended12.dcm"))
        XCTAssertEqual(file.transferSyntaxUID, "1.2.840.10008.1.2.4.51")
        let image = try file.decodeFrame()
        XCTAssertEqual([image.width, image.height, image.bitsStored], [72, 64, 12])
        let differences = zip(image.values, try raw("jpeg_extended12_pixels.raw")).map { abs($0 - $1) }
        XCTAssertLessThanOrEqual(differences.max()!, 1)
        XCTAssertGreaterThan(differences.filter { $0 == 0 }.count, differences.count / 2, "mostly identical (77% here)")
    }

    func bytes(_ name: String) throws -> [Int32] { try Data(contentsOf: fixtures.appendingPathComponent(name)).map(Int32.init) }

    /// Bits Allocated 1 (a binary mask), three frames of 35 bits each, packed least significant bit first with
    /// frames starting inside a byte: pydicom's values, frame by frame.
    func testOneBitFramesUnpackAsPydicom() throws {
        let file = try DICOMFile(path: path("bits1.dcm"))
        let expected = try bytes("bits1_pixels.raw")
        for frame in 0..<3 {
            let image = try file.decodeFrame(frame)
            XCTAssertEqual([image.width, image.height, image.bitsStored], [7, 5, 1])
            XCTAssertEqual(image.values, Array(expected[(frame * 35)..<((frame + 1) * 35)]), "frame \(frame)")
        }
    }

    /// Uncompressed YBR_FULL and YBR_FULL_422 colour: converted to RGB exactly as pydicom converts them.
    func testYBRFullAndFull422BecomeRGBAsPydicom() throws {
        for name in ["ybr_full", "ybr_full_422"] {
            let image = try DICOMFile(path: path("\(name).dcm")).decodeFrame()
            XCTAssertEqual([image.width, image.height, image.channels], [24, 20, 3], name)
            XCTAssertEqual(image.values, try bytes("\(name)_pixels.raw"), name)
        }
    }

    /// High-Throughput JPEG 2000 (lossless, made by OpenJPH; pydicom decodes it to htj2k_lossless_pixels.raw).
    /// DCMTK 3.6.7, Debian 12's, does not know the syntax and cannot find its encapsulated Pixel Data (OpenJPEG
    /// 2.5 could decode the stream): a clear error naming HTJ2K, not one blaming the header.
    func testHTJ2KIsAClearErrorWithThisDCMTK() throws {
        let file = try DICOMFile(path: path("htj2k_lossless.dcm"))
        XCTAssertThrowsError(try file.decodeFrame()) {
            XCTAssertTrue("\($0)".contains("transfer syntax 1.2.840.10008.1.2.4.201 is High-Throughput JPEG 2000 (HTJ2K)"), "\($0)")
        }
        XCTAssertThrowsError(try file.verifyFrame(0)) { XCTAssertTrue("\($0)".contains("HTJ2K"), "\($0)") }
    }
}
