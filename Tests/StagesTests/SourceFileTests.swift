import Foundation
import MedImage
import Pipeline
import XCTest

@testable import Stages

final class SourceFileTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("source-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// Read once for normalize (a frame of more than one 256 KB piece, its high bits set in the file), a native
    /// frame gives what DCMTK's decodeFrame gives, the file's XXH3, the pixel hash of the decoded image and, for
    /// unsigned 16-bit samples, the statistics GreyLevels would take; in every syntax, read straight from the file
    /// or not.
    func testOneReadGivesDCMTKsPixelsTheFileHashThePixelHashAndTheStatistics() throws {
        let (rows, columns) = (401, 399)
        for syntax in [DICOMTransferSyntax.explicitLittleEndian, .implicitLittleEndian, .explicitBigEndian, .rle] {
            for (bits, signed) in [(12, false), (16, false), (12, true), (8, false)] {
                let allocated = bits > 8 ? 16 : 8
                let request = DICOMWriteRequest(
                    attributes: [(.sopClassUID, "1.2.840.10008.5.1.4.1.1.7"), (.sopInstanceUID, "2.25.44")], rows: rows,
                    columns: columns, bitsAllocated: allocated, bitsStored: bits, pixelRepresentation: signed ? 1 : 0,
                    photometric: "MONOCHROME1", pixels: (0..<(rows * columns)).map { UInt16(truncatingIfNeeded: $0 &* 40_503 >> 3) })
                let path = folder.appendingPathComponent("\(syntax.rawValue)-\(bits)-\(signed).dcm").path
                try DICOMWriter.write(request, to: path, syntax: syntax)
                let what = "\(syntax.rawValue) \(bits) bits \(signed ? "signed" : "unsigned")"
                if bits < allocated, let (_, offset) = try DICOMFile(path: path).nativeFrameOffset(0) {
                    let file = try FileHandle(forUpdating: URL(fileURLWithPath: path))
                    try file.seek(toOffset: offset + 1)  // the high byte of the first sample
                    try file.write(contentsOf: [0xF0])
                    try file.close()
                }
                let source = try SourceFile.read(path: path, format: "dicom", frame: 0, wantsVOILUT: false, hashes: FileHashes())
                let expected = try DICOMFile(path: path).decodeFrame()
                XCTAssertTrue(source.image.values == expected.values, "\(what): samples")
                XCTAssertEqual(source.contentHash, try XXH3.hex(ofFile: URL(fileURLWithPath: path)), what)
                XCTAssertEqual(source.pixelHash, PixelHash.of(expected), what)
                if case .uint16(let words) = expected.samples, syntax != .explicitBigEndian, syntax != .rle {
                    XCTAssertEqual(source.stored, StoredStatistics.of(words), what)
                } else {
                    XCTAssertNil(source.stored, what)
                }
            }
        }
    }
}
