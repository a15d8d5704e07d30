import XCTest

@testable import MedImage

final class DICOMTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("dicom-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// A 7×5 gradient with a few extreme values, as stored bit patterns.
    func request(bits: Int, signed: Bool, photometric: String = "MONOCHROME2") -> (DICOMWriteRequest, [Int32]) {
        let (rows, columns) = (5, 7)
        let maxValue = (1 << bits) - 1
        let values: [Int32] = (0..<(rows * columns)).map { i in
            let v = i == 0 ? 0 : (i == 1 ? maxValue : (i * 7919) % (maxValue + 1))
            return Int32(signed ? v - (1 << (bits - 1)) : v)
        }
        let request = DICOMWriteRequest(
            attributes: [
                (.sopClassUID, "1.2.840.10008.5.1.4.1.1.7"), (.sopInstanceUID, "2.25.42"), (.modality, "CR"),
                (.patientName, "DOE^JANE"), (.rescaleSlope, "0.5"), (.rescaleIntercept, "-100"),
            ],
            rows: rows, columns: columns, bitsAllocated: bits > 8 ? 16 : 8, bitsStored: bits,
            pixelRepresentation: signed ? 1 : 0, photometric: photometric,
            pixels: values.map { UInt16(truncatingIfNeeded: $0) })
        return (request, values)
    }

    func testLosslessSyntaxesRoundTripExactly() throws {
        for syntax in DICOMTransferSyntax.allCases where syntax.isLossless {
            for (bits, signed) in [(8, false), (12, false), (16, false), (16, true), (12, true)] {
                let (req, values) = request(bits: bits, signed: signed, photometric: "MONOCHROME1")
                let path = folder.appendingPathComponent("\(syntax.rawValue)-\(bits)-\(signed).dcm").path
                if syntax == .jpegLS && signed && bits < 16 {
                    XCTAssertThrowsError(try DICOMWriter.write(req, to: path, syntax: syntax)) {
                        XCTAssertTrue("\($0)".contains("signed 12-bit"))
                    }
                    continue
                }
                try DICOMWriter.write(req, to: path, syntax: syntax)
                let file = try DICOMFile(path: path)
                XCTAssertEqual(file.transferSyntaxUID, syntax.uid)
                let info = try file.pixelInfo()
                XCTAssertEqual(
                    info,
                    DICOMPixelInfo(
                        rows: 5, columns: 7, frames: 1, samplesPerPixel: 1,
                        bitsAllocated: bits > 8 ? 16 : 8, bitsStored: bits, highBit: bits - 1,
                        pixelRepresentation: signed ? 1 : 0))
                XCTAssertEqual(try file.decodeFrame().values, values, "\(syntax) \(bits) bits signed \(signed)")
                XCTAssertEqual(file.string(.photometricInterpretation), "MONOCHROME1")
                XCTAssertEqual(file.double(.rescaleSlope), 0.5)
                XCTAssertEqual(file.double(.rescaleIntercept), -100)
                XCTAssertEqual(file.string(.sopInstanceUID), "2.25.42")
            }
        }
    }

    func testJPEGBaselineIsCloseAndKeepsTheInstanceUID() throws {
        let size = 32
        let values = (0..<(size * size)).map { UInt16(($0 % size) * 8) }  // smooth ramp
        let req = DICOMWriteRequest(
            attributes: [(.sopClassUID, "1.2.840.10008.5.1.4.1.1.7"), (.sopInstanceUID, "2.25.7")],
            rows: size, columns: size, bitsAllocated: 8, bitsStored: 8, pixelRepresentation: 0,
            photometric: "MONOCHROME2", pixels: values)
        let path = folder.appendingPathComponent("jpeg.dcm").path
        try DICOMWriter.write(req, to: path, syntax: .jpegBaseline, jpegQuality: 95)
        let file = try DICOMFile(path: path)
        XCTAssertEqual(file.transferSyntaxUID, DICOMTransferSyntax.jpegBaseline.uid)
        XCTAssertEqual(file.string(.sopInstanceUID), "2.25.7")
        let decoded = try file.decodeFrame().values
        let maxError = zip(decoded, values).map { abs(Int($0) - Int($1)) }.max()!
        XCTAssertLessThanOrEqual(maxError, 4)
        XCTAssertThrowsError(try DICOMWriter.write(request(bits: 12, signed: false).0, to: path, syntax: .jpegBaseline))
    }

    /// Normalize reads an uncompressed little endian frame straight from the file (Stages/SourceFile): at the offset
    /// nativeFrameOffset gives, through storedFrame, it must equal DCMTK's decodeFrame, bits above Bits Stored
    /// included (set in the file here, masked or sign-extended by both). Big endian and compressed syntaxes, and
    /// Pixel Data small enough for DCMTK to load with the header, are left to decodeFrame (nil).
    func testNativeFramesReadAtTheirFileOffsetEqualDCMTKsDecoding() throws {
        let (rows, columns) = (60, 80)  // 4,800 samples: above DCMTK's 4,096-byte lazy-loading threshold even at 8 bits
        for syntax in [DICOMTransferSyntax.explicitLittleEndian, .implicitLittleEndian, .explicitBigEndian, .rle, .deflated] {
            for (bits, signed) in [(8, false), (6, true), (12, false), (16, false), (12, true)] {
                let allocated = bits > 8 ? 16 : 8
                let pixels = (0..<(rows * columns)).map { UInt16(truncatingIfNeeded: $0 * 7919 + 13) }
                let request = DICOMWriteRequest(
                    attributes: [(.sopClassUID, "1.2.840.10008.5.1.4.1.1.7"), (.sopInstanceUID, "2.25.43")], rows: rows, columns: columns,
                    bitsAllocated: allocated, bitsStored: bits, pixelRepresentation: signed ? 1 : 0, photometric: "MONOCHROME2",
                    pixels: pixels)
                let path = folder.appendingPathComponent("\(syntax.rawValue)-\(bits)-\(signed).dcm").path
                try DICOMWriter.write(request, to: path, syntax: syntax)
                let what = "\(syntax.rawValue) \(bits) bits \(signed ? "signed" : "unsigned")"
                let (info, found) = try DICOMFile(path: path).nativeFrameOffset(0)
                guard let offset = found else {
                    XCTAssertTrue([.explicitBigEndian, .rle, .deflated].contains(syntax), "\(what): nil")
                    continue
                }
                XCTAssertTrue([.explicitLittleEndian, .implicitLittleEndian].contains(syntax), "\(what): an offset")
                let count = rows * columns * allocated / 8
                let file = try FileHandle(forUpdating: URL(fileURLWithPath: path))
                try file.seek(toOffset: offset)
                var stored = [UInt8](try XCTUnwrap(try file.read(upToCount: count)))
                guard stored.count == count else { return XCTFail("\(what): \(stored.count) of \(count) bytes after the offset") }
                if bits < allocated {  // the unused high bits set in every sample
                    for i in stride(from: allocated / 8 - 1, to: count, by: allocated / 8) {
                        stored[i] |= UInt8(0xFF << ((bits - 1) % 8 + 1) & 0xFF)
                    }
                    try file.seek(toOffset: offset)
                    try file.write(contentsOf: stored)
                }
                try file.close()
                let expected = try DICOMFile(path: path).decodeFrame()
                let read = try DICOMFile.storedFrame(info, bytes: count) { buffer in stored.withUnsafeBytes { buffer.copyMemory(from: $0) }
                }
                XCTAssertTrue(read.values == expected.values, "\(what): samples differ")
                XCTAssertEqual("\(read.samples)".prefix(8), "\(expected.samples)".prefix(8), what)
                XCTAssertEqual(read.bitsStored, bits, what)
            }
        }
    }

    func testBadInputGivesClearErrors() throws {
        let (req, _) = request(bits: 16, signed: false)
        let good = folder.appendingPathComponent("good.dcm").path
        try DICOMWriter.write(req, to: good, syntax: .explicitLittleEndian)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))

        let truncated = folder.appendingPathComponent("truncated.dcm").path
        try bytes.prefix(bytes.count - 20).write(to: URL(fileURLWithPath: truncated))
        XCTAssertThrowsError(try DICOMFile(path: truncated).decodeFrame()) { XCTAssertFalse("\($0)".isEmpty) }

        let text = folder.appendingPathComponent("notes.txt").path
        try Data("hello, this is not a DICOM file at all".utf8).write(to: URL(fileURLWithPath: text))
        XCTAssertThrowsError(try DICOMFile(path: text)) { XCTAssertFalse("\($0)".isEmpty) }

        XCTAssertThrowsError(try DICOMFile(path: folder.appendingPathComponent("missing.dcm").path))

        // A dataset without pixel data (as a structured report): remove it with DCMTK's own dcmodify.
        let report = folder.appendingPathComponent("report.dcm")
        try FileManager.default.copyItem(atPath: good, toPath: report.path)
        let dcmodify = Process()
        dcmodify.executableURL = URL(fileURLWithPath: "/usr/bin/dcmodify")
        dcmodify.arguments = ["-nb", "-ea", "(7fe0,0010)", report.path]
        try dcmodify.run()
        dcmodify.waitUntilExit()
        XCTAssertEqual(dcmodify.terminationStatus, 0)
        let noPixels = try DICOMFile(path: report.path)
        XCTAssertFalse(noPixels.hasPixelData)
        XCTAssertThrowsError(try noPixels.decodeFrame()) { XCTAssertTrue("\($0)".contains("no pixel data")) }
        XCTAssertThrowsError(try DICOMFile(path: good).decodeFrame(maxPixels: 10)) { XCTAssertTrue("\($0)".contains("exceed the limit")) }
        XCTAssertThrowsError(try DICOMFile(path: good).decodeFrame(3)) { XCTAssertTrue("\($0)".contains("out of range")) }
    }
}
