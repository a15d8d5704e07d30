import Foundation
import XCTest

@testable import Pipeline

final class XXH3Tests: XCTestCase {
    /// Bytes (i · 131 + 7) mod 256: no run of equal bytes, so a piece that lands in the wrong place changes the hash.
    func bytes(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) } }

    func testMatchesReferenceVectors() throws {
        // From Python's xxhash package 4.1.0 (xxh3_64, seed 0): XXH3's paths for 0, 1–3, 4–8, 9–16, 17–128,
        // 129–240 bytes and the long path (stripes of 64 bytes, blocks of 1,024, a last partial stripe).
        let vectors: [([UInt8], String)] = [
            ([], "2d06800538d394c2"), (Array("a".utf8), "e6c632b61e964e1f"), (Array("abc".utf8), "78af5f94892f3950"),
            (Array(0..<16), "8355e3a6f61770db"), (Array(0..<17), "9ef341a99de37328"), (Array(0..<128), "85c6174c7ff4c46b"),
            (Array(0..<129), "ec7642b431ba3e5a"), (Array(0..<240), "375a384d957fe865"), (Array(0..<241), "02e8cd95421c6d02"),
            (bytes(1000), "571d5cbfef44331b"), (bytes(5000), "e4007929540f095c"),
        ]
        for (bytes, expected) in vectors { XCTAssertEqual(XXH3.hex(Data(bytes)), expected, "\(bytes.count) bytes") }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("xxh3-\(getpid())")
        try Data(bytes(5000)).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        XCTAssertEqual(try XXH3.hex(ofFile: file), "e4007929540f095c")
    }

    func testStreamInPiecesMatchesOneShot() {
        // Pieces inside one stripe, across stripes and across 1,024-byte blocks, and empty ones: the digest must
        // not depend on them.
        let all = bytes(5000)
        for pieces in [[5000], [1, 4999], [63, 1, 64, 4872], [3, 5, 7, 11, 13, 4961], [0, 17, 0, 4983], [1023, 2, 1024, 2951]] {
            let stream = XXH3.Stream()
            var start = 0
            for length in pieces {
                all[start..<start + length].withUnsafeBytes { stream.update($0) }
                start += length
            }
            XCTAssertEqual(XXH3.hex(stream.digest()), "e4007929540f095c", "pieces \(pieces)")
        }
        let short = XXH3.Stream()
        [UInt8](Array("ab".utf8)).withUnsafeBytes { short.update($0) }
        [UInt8](Array("c".utf8)).withUnsafeBytes { short.update($0) }
        XCTAssertEqual(XXH3.hex(short.digest()), "78af5f94892f3950")
    }
}
