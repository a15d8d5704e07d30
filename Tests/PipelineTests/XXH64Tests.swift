import Foundation
import XCTest

@testable import Pipeline

final class XXH64Tests: XCTestCase {
    func testMatchesReferenceVectors() throws {
        // From Python's xxhash package (xxh64, seed 0): the short-input path, the 32-byte stripes, and both tails.
        let vectors: [([UInt8], String)] = [
            ([], "ef46db3751d8e999"), (Array("a".utf8), "d24ec4f1a98c6e5b"), (Array("abc".utf8), "44bc2cf5ad770999"),
            (Array(0..<31), "c346d2b59b4d8ee1"), (Array(0..<32), "cbf59c5116ff32b4"), (Array(0..<100), "6ac1e58032166597"),
        ]
        for (bytes, expected) in vectors { XCTAssertEqual(XXH64.hex(Data(bytes)), expected, "\(bytes.count) bytes") }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("xxh64-\(getpid())")
        try Data(Array(0..<100)).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        XCTAssertEqual(try XXH64.hex(ofFile: file), "6ac1e58032166597")
    }

    func testStreamInPiecesMatchesOneShot() {
        // Pieces that leave stripes unfinished, fill them exactly, and span several: the digest must not depend on them.
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
        for pieces in [[1000], [1, 999], [31, 1, 32, 936], [3, 5, 7, 11, 13, 961], [0, 17, 0, 983], [40, 40, 920]] {
            var stream = XXH64.Stream()
            var start = 0
            for length in pieces {
                bytes[start..<start + length].withUnsafeBytes { stream.update($0) }
                start += length
            }
            XCTAssertEqual(stream.digest(), bytes.withUnsafeBytes { XXH64.hash($0) }, "pieces \(pieces)")
        }
        var short = XXH64.Stream()
        [UInt8](Array("ab".utf8)).withUnsafeBytes { short.update($0) }
        [UInt8](Array("c".utf8)).withUnsafeBytes { short.update($0) }
        XCTAssertEqual(String(format: "%016llx", short.digest()), "44bc2cf5ad770999")
    }
}
