import XCTest

@testable import Pipeline

final class RunnerTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("runner-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "v1".write(to: folder.appendingPathComponent("input.txt"), atomically: true, encoding: .utf8)
        Timeline.shared.reset()
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func runner(_ yaml: String) throws -> Runner {
        let file = folder.appendingPathComponent("p.yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        return Runner(manifest: try Manifest.load(file, registry: testRegistry), registry: testRegistry, reporter: Reporter(mode: .quiet))
    }

    func run(_ yaml: String, _ configure: (inout RunOptions) -> Void = { _ in }) throws -> RunSummary {
        var options = RunOptions()
        configure(&options)
        return try runner(yaml).run(options)
    }

    func result(_ summary: RunSummary, _ stage: String) -> StageResult? { summary.results.first { $0.stage == stage }?.result }
    func ran(_ summary: RunSummary) -> [String] {
        summary.results.filter {
            if case .ran = $0.result { return true }; return false
        }.map(\.stage)
    }
    var runDir: URL { folder.appendingPathComponent("runs/t") }

    // a → (b, c) → d, with b and c sleeping long enough to see them overlap.
    let diamond = """
        name: t
        stages:
          a: {kind: sleep, params: {input: input.txt, ms: 50}}
          b: {kind: sleep, after: a, params: {input: input.txt, ms: 400}}
          c: {kind: sleep, after: a, params: {input: input.txt, ms: 400}}
          d: {kind: sleep, after: [b, c], params: {input: input.txt}}
        """

    func testDiamondOrderAndConcurrency() throws {
        let summary = try run(diamond)
        XCTAssertEqual(summary.exitCode, 0)
        XCTAssertEqual(ran(summary), ["a", "b", "c", "d"])
        let t = Timeline.shared
        let (a, b, c, d) = (t.span("a")!, t.span("b")!, t.span("c")!, t.span("d")!)
        XCTAssertLessThanOrEqual(a.end, b.start)
        XCTAssertLessThanOrEqual(a.end, c.start)
        XCTAssertGreaterThanOrEqual(d.start, max(b.end, c.end))
        // Independent stages ran at the same time: their intervals overlap.
        XCTAssertLessThan(max(b.start, c.start), min(b.end, c.end), "b and c did not overlap")
        // d read both upstream CSVs.
        let (_, rows) = try CSV.read(runDir.appendingPathComponent("d/d.csv"))
        XCTAssertEqual(rows[0]["upstream"], "b=1;c=1")
        for stage in ["a", "b", "c", "d"] {
            let record = try XCTUnwrap(StageRecord.read(runDir.appendingPathComponent("\(stage)/stage.json")))
            XCTAssertEqual(record.rows, 1)
            XCTAssertEqual(
                try String(contentsOf: runDir.appendingPathComponent("\(stage)/errors.csv"), encoding: .utf8), "item,stage,reason\n")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: runDir.appendingPathComponent("run.log").path))
    }

    func testSecondRunSkipsEverythingAndStatusIsFresh() throws {
        _ = try run(diamond)
        let before = Timeline.shared.count
        let second = try run(diamond)
        XCTAssertEqual(second.exitCode, 0)
        XCTAssertEqual(ran(second), [])
        XCTAssertTrue(second.results.allSatisfy { $0.result == .skipped })
        XCTAssertEqual(Timeline.shared.count, before)
        XCTAssertEqual(try runner(diamond).status().map(\.freshness), [.fresh, .fresh, .fresh, .fresh])
        let log = try String(contentsOf: runDir.appendingPathComponent("run.log"), encoding: .utf8)
        XCTAssertTrue(log.contains("b: skipped, fresh (fingerprint"), log)
    }

    func testChangedParameterRerunsTheStageAndItsDependants() throws {
        _ = try run(diamond)
        let changed = diamond.replacingOccurrences(
            of: "b: {kind: sleep, after: a, params: {input: input.txt, ms: 400}}",
            with: "b: {kind: sleep, after: a, params: {input: input.txt, ms: 401}}")
        let status = try runner(changed).status()
        XCTAssertEqual(status.map(\.freshness), [.fresh, .stale("parameters changed: ms"), .fresh, .stale("upstream changed: b")])
        XCTAssertEqual(ran(try run(changed)), ["b", "d"])
    }

    func testChangedInputFileMakesStale() throws {
        _ = try run(diamond)
        try "v2, longer".write(to: folder.appendingPathComponent("input.txt"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try runner(diamond).status()[0].freshness, .stale("input files changed"))
        XCTAssertEqual(ran(try run(diamond)), ["a", "b", "c", "d"])
    }

    func testStageFromAndForce() throws {
        XCTAssertThrowsError(try run(diamond) { $0.stages = ["b"] }) { error in
            XCTAssertTrue("\(error)".contains("reads the outputs of 'a', which has not run yet"), "\(error)")
        }
        _ = try run(diamond)
        XCTAssertEqual(ran(try run(diamond) { $0.stages = ["b"] }), ["b"])
        XCTAssertEqual(ran(try run(diamond) { $0.from = "b" }), ["b", "d"])
        XCTAssertEqual(ran(try run(diamond) { $0.force = true }), ["a", "b", "c", "d"])
        XCTAssertThrowsError(try run(diamond) { $0.stages = ["zz"] }) { XCTAssertTrue("\($0)".contains("no stage named 'zz'")) }
        // A re-run of b alone with unchanged parameters leaves d fresh.
        XCTAssertEqual(try runner(diamond).status().map(\.freshness), [.fresh, .fresh, .fresh, .fresh])
    }

    func testDryRunRunsNothing() throws {
        let summary = try run(diamond) { $0.dryRun = true }
        XCTAssertEqual(summary.exitCode, 0)
        XCTAssertEqual(Timeline.shared.count, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: runDir.path))
    }

    func testFailureStopsDependantsOnlyAndKeepsPreviousOutputs() throws {
        let good = """
            name: t
            stages:
              a: {kind: sleep, params: {input: input.txt}}
              b: {kind: sleep, after: a, params: {input: input.txt}}
              c: {kind: items, params: {count: 3}}
            """
        _ = try run(good)
        let previous = try Data(contentsOf: runDir.appendingPathComponent("a/stage.json"))
        let bad = good.replacingOccurrences(
            of: "a: {kind: sleep, params: {input: input.txt}}", with: "a: {kind: sleep, params: {input: input.txt, fail: true}}"
        )
        .replacingOccurrences(of: "count: 3", with: "count: 4")
        let summary = try run(bad)
        XCTAssertEqual(summary.exitCode, 2)
        guard case .failed(let message)? = result(summary, "a") else { return XCTFail("a did not fail") }
        XCTAssertTrue(message.contains("failing on purpose"))
        XCTAssertEqual(result(summary, "b"), .blocked(by: "a"))
        XCTAssertEqual(result(summary, "c"), .ran(rows: 4, errors: 0, exceeded: false))
        XCTAssertEqual(try Data(contentsOf: runDir.appendingPathComponent("a/stage.json")), previous)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: runDir.appendingPathComponent(".staging").path), [])
    }

    func testItemFailuresGoToErrorsCSVAndMaxFailures() throws {
        let yaml = """
            name: t
            stages:
              a: {kind: items, max_failures: 1, params: {count: 10, fail_every: 4}}
            """
        let summary = try run(yaml) { $0.jobs = 3 }
        XCTAssertEqual(result(summary, "a"), .ran(rows: 8, errors: 2, exceeded: true))
        XCTAssertEqual(summary.exitCode, 3)
        let (_, errors) = try CSV.read(runDir.appendingPathComponent("a/errors.csv"))
        XCTAssertEqual(errors.map { $0["item"]! }, ["item 4", "item 8"])
        XCTAssertEqual(errors[0]["stage"], "a")
        XCTAssertEqual(errors[0]["reason"], "item 4 is a multiple of 4")
        let (_, rows) = try CSV.read(runDir.appendingPathComponent("a/a.csv"))
        XCTAssertEqual(rows.map { $0["n"]! }, ["1", "2", "3", "5", "6", "7", "9", "10"])
        // Without a threshold the same failures are reported and the run succeeds.
        let lenient = try run(yaml.replacingOccurrences(of: "max_failures: 1, ", with: ""))
        XCTAssertEqual(lenient.exitCode, 0)
    }

    func testLockHeldByAnotherRunIsRefused() throws {
        try FileManager.default.createDirectory(at: runDir, withIntermediateDirectories: true)
        let held = try RunLock(runDir.appendingPathComponent(".lock"))
        defer { held.release() }
        XCTAssertThrowsError(try run(diamond)) { error in
            guard let e = error as? LockHeldError else { return XCTFail("\(error)") }
            XCTAssertTrue(e.description.contains("pid \(getpid())"), e.description)
            XCTAssertTrue(e.description.contains("started 20"), e.description)
        }
        XCTAssertEqual(Timeline.shared.count, 0)
    }

    func testStaleLockFromDeadProcessIsTakenOver() throws {
        try FileManager.default.createDirectory(at: runDir, withIntermediateDirectories: true)
        try "pid 999999, started 2026-01-01T00:00:00Z, host gone".write(
            to: runDir.appendingPathComponent(".lock"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try run(diamond).exitCode, 0)
        let log = try String(contentsOf: runDir.appendingPathComponent("run.log"), encoding: .utf8)
        XCTAssertTrue(log.contains("took over a stale lock left by a run that is gone (pid 999999"), log)
    }
}
