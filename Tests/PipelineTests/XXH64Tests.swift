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
}
