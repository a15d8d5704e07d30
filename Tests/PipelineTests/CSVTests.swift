import XCTest

@testable import Pipeline

final class CSVTests: XCTestCase {
    func testQuotingRoundTrip() throws {
        let rows = [["plain", "with,comma", "with \"quote\""], ["multi\nline", "", "ünïcode"]]
        let text = CSV.render(header: ["a", "b", "c"], rows: rows)
        XCTAssertEqual(text, "a,b,c\nplain,\"with,comma\",\"with \"\"quote\"\"\"\n\"multi\nline\",,ünïcode\n")
        XCTAssertEqual(try CSV.parse(text), [["a", "b", "c"]] + rows)
    }

    func testReadRejectsRaggedRows() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ragged-\(UUID()).csv")
        try "a,b\n1,2\n3\n".write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try CSV.read(url)) { XCTAssertTrue("\($0)".contains("line 3: 1 fields")) }
    }

    func testAtomicWriteLeavesNoTemporaryFiles() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("atomic-\(UUID())")
        try CSV.write(folder.appendingPathComponent("x.csv"), header: ["a"], rows: [["1"]])
        try CSV.write(folder.appendingPathComponent("x.csv"), header: ["a"], rows: [["2"]])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["x.csv"])
        XCTAssertEqual(try String(contentsOf: folder.appendingPathComponent("x.csv"), encoding: .utf8), "a\n2\n")
    }
}

final class LogLineTests: XCTestCase {
    /// An identifier with a newline or an escape sequence stays on one log line and cannot drive the terminal.
    func testControlCharactersAreWrittenAsEscapes() {
        XCTAssertEqual(Reporter.oneLine("a\nb\u{1B}[2J\tc"), "a\\u{a}b\\u{1b}[2J\\u{9}c")
        XCTAssertEqual(Reporter.oneLine("plain: ü <x>"), "plain: ü <x>")
    }
}
