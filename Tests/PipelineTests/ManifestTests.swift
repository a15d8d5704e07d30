import XCTest

@testable import Pipeline

final class ManifestTests: XCTestCase {
    let file = URL(fileURLWithPath: "/data/pipes/test.yaml")

    func parse(_ text: String) throws -> Manifest { try Manifest.parse(text, file: file, registry: testRegistry) }

    func expectError(_ text: String, line: Int?, key: String, contains: String, file: StaticString = #filePath, lineNo: UInt = #line) {
        XCTAssertThrowsError(try parse(text), file: file, line: lineNo) { error in
            guard let e = error as? ManifestError else { return XCTFail("not a ManifestError: \(error)", file: file, line: lineNo) }
            XCTAssertEqual(e.file, "/data/pipes/test.yaml", file: file, line: lineNo)
            XCTAssertEqual(e.line, line, "\(e)", file: file, line: lineNo)
            XCTAssertEqual(e.key, key, "\(e)", file: file, line: lineNo)
            XCTAssertTrue(e.message.contains(contains), "\(e)", file: file, line: lineNo)
        }
    }

    func testGoodManifestResolvesPathsAndFillsDefaults() throws {
        let m = try parse(
            """
            name: demo
            run_dir: ../runs/demo
            stages:
              a:
                kind: sleep
                params: {input: inputs/a.txt, ms: 5}
              b:
                kind: items
                after: a
                max_failures: 2
            """)
        XCTAssertEqual(m.name, "demo")
        XCTAssertEqual(m.runDirectory.path, "/data/runs/demo")
        XCTAssertEqual(m.stages.map(\.name), ["a", "b"])
        XCTAssertEqual(m.stage("a")!.parameters.string("input"), "/data/pipes/inputs/a.txt")
        XCTAssertEqual(m.stage("a")!.parameters.int("ms"), 5)
        XCTAssertEqual(m.stage("a")!.parameters.bool("fail"), false)
        XCTAssertEqual(m.stage("b")!.after, ["a"])
        XCTAssertEqual(m.stage("b")!.maxFailures, 2)
        XCTAssertEqual(m.stage("b")!.parameters.int("count"), 10)
    }

    func testPathsExpandEnvironmentVariablesAndAnUnsetOneIsNamed() throws {
        setenv("MEDAD_TEST_ROOT", "/srv/medad-data", 1)
        defer { unsetenv("MEDAD_TEST_ROOT") }
        let m = try parse("name: x\nstages:\n  a:\n    kind: sleep\n    params:\n      input: ${MEDAD_TEST_ROOT}/rsna/labels.csv\n")
        XCTAssertEqual(m.stage("a")!.parameters.string("input"), "/srv/medad-data/rsna/labels.csv")
        expectError(
            "name: x\nstages:\n  a:\n    kind: sleep\n    params:\n      input: ${MEDAD_UNSET_ROOT}/x.csv\n",
            line: 6, key: "stages.a.params.input", contains: "${MEDAD_UNSET_ROOT}, which is not set")
    }

    func testDefaultRunDirectoryIsBesideTheManifest() throws {
        let m = try parse("name: x\nstages:\n  a: {kind: items}\n")
        XCTAssertEqual(m.runDirectory.path, "/data/pipes/runs/x")
    }

    func testUnknownTopLevelKey() {
        expectError("name: x\nstagez: {}\n", line: 2, key: "stagez", contains: "unknown key")
    }

    func testUnknownStageKey() {
        expectError("name: x\nstages:\n  a:\n    kind: items\n    parms: {}\n", line: 5, key: "stages.a.parms", contains: "unknown key")
    }

    func testUnknownKind() {
        expectError("name: x\nstages:\n  a:\n    kind: train\n", line: 4, key: "stages.a.kind", contains: "unknown kind 'train'")
    }

    func testUnknownParameter() {
        expectError(
            "name: x\nstages:\n  a:\n    kind: items\n    params:\n      cnt: 3\n", line: 6, key: "stages.a.params.cnt",
            contains: "unknown parameter")
    }

    func testWrongTypes() {
        expectError(
            "name: x\nstages:\n  a:\n    kind: items\n    params:\n      count: many\n", line: 6, key: "stages.a.params.count",
            contains: "expected an integer")
        expectError(
            "name: x\nstages:\n  a:\n    kind: items\n    params:\n      count: \"3\"\n", line: 6, key: "stages.a.params.count",
            contains: "expected an integer")
        expectError(
            "name: x\nstages:\n  a:\n    kind: items\n    params:\n      count: -1\n", line: 6, key: "stages.a.params.count",
            contains: "0…100000")
        expectError(
            "name: x\nstages:\n  a:\n    kind: items\n    max_failures: lots\n", line: 5, key: "stages.a.max_failures",
            contains: "non-negative integer")
        expectError(
            "name: x\nstages:\n  a:\n    kind: sleep\n    params: {input: f, fail: maybe}\n", line: 5, key: "stages.a.params.fail",
            contains: "true or false")
    }

    func testRequiredParameterMissing() {
        expectError("name: x\nstages:\n  a:\n    kind: sleep\n", line: nil, key: "stages.a.params.input", contains: "missing")
    }

    func testStageRejectsValue() {
        expectError(
            "name: x\nstages:\n  a:\n    kind: sleep\n    params:\n      input: f\n      label: reject\n", line: 7,
            key: "stages.a.params.label", contains: "rejected on purpose")
    }

    func testMissingUpstream() {
        expectError(
            "name: x\nstages:\n  a:\n    kind: items\n    after: [nope]\n", line: 3, key: "stages.a.after",
            contains: "no stage named 'nope'")
    }

    func testCycle() {
        expectError(
            """
            name: x
            stages:
              a: {kind: items, after: c}
              b: {kind: items, after: a}
              c: {kind: items, after: b}
            """, line: 3, key: "stages.a.after", contains: "cycle: a → b → c → a")
    }

    func testSelfDependency() {
        expectError("name: x\nstages:\n  a: {kind: items, after: a}\n", line: 3, key: "stages.a.after", contains: "itself")
    }

    func testInvalidYAMLNamesTheLine() {
        expectError("name: x\nstages:\n  a: {kind: items\n  b: 3\n", line: 4, key: "", contains: "not valid YAML")
    }

    func testMissingNameAndBadNames() {
        expectError("stages:\n  a: {kind: items}\n", line: 1, key: "name", contains: "missing")
        expectError("name: a b\nstages:\n  a: {kind: items}\n", line: 1, key: "name", contains: "letters")
        expectError("name: x\nstages:\n  ../a: {kind: items}\n", line: 3, key: "stages.../a", contains: "letters")
    }

    func testDuplicateKey() {
        XCTAssertThrowsError(try parse("name: x\nstages:\n  a: {kind: items}\n  a: {kind: items}\n")) { error in
            XCTAssertTrue(String(describing: error).contains("duplicate") || String(describing: error).contains("Duplicate"), "\(error)")
            XCTAssertNotNil((error as? ManifestError)?.line)
        }
    }
}
