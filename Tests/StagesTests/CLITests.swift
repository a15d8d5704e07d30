// The medad binary as users and cron run it: exit codes, skips, the lock, and SIGKILL safety.
import Foundation
import Pipeline
import XCTest

final class CLITests: XCTestCase, MedadCLI {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// Two synthesize stages, the second after the first, big enough to be killed in the middle.
    func writeManifest(normal: Int = 150) throws -> String {
        let yaml = """
            name: k
            run_dir: runs/k
            stages:
              first:
                kind: synthesize
                params: {seed: 1, size: 96, normal: 40, lung_opacity: 20, not_normal: 0}
              second:
                kind: synthesize
                after: first
                params: {seed: 2, size: 96, normal: \(normal), lung_opacity: 100, not_normal: 10}
            """
        let path = folder.appendingPathComponent("k.yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    var runDir: URL { folder.appendingPathComponent("runs/k") }

    func testVersionValidateAndManifestErrors() throws {
        let version = try medad("--version")
        XCTAssertEqual(version.code, 0)
        XCTAssertEqual(version.output.trimmingCharacters(in: .whitespacesAndNewlines), medadVersion)
        let manifest = try writeManifest()
        XCTAssertEqual(try medad("validate", manifest).code, 0)
        let bad = folder.appendingPathComponent("bad.yaml").path
        try "name: b\nstages:\n  a:\n    kind: synthesize\n    params:\n      size: big\n".write(
            toFile: bad, atomically: true, encoding: .utf8)
        let result = try medad("run", bad)
        XCTAssertEqual(result.code, 1)
        XCTAssertTrue(result.output.contains("\(bad):6: stages.a.params.size: expected an integer"), result.output)
        XCTAssertEqual(try medad("run", manifest, "--stage", "nope").code, 1)
        XCTAssertEqual(try medad("run", manifest, "--jobs", "0").code, 64)  // ArgumentParser's validation code
    }

    func testRerunSkipsAndStatusIsFresh() throws {
        let manifest = try writeManifest(normal: 20)
        XCTAssertEqual(try medad("status", manifest).output.components(separatedBy: "missing").count - 1, 2)
        XCTAssertEqual(try medad("run", manifest).code, 0)
        let second = try medad("run", manifest)
        XCTAssertEqual(second.code, 0)
        XCTAssertTrue(second.output.contains("first: skipped, fresh"), second.output)
        XCTAssertTrue(second.output.contains("second: skipped, fresh"), second.output)
        let status = try medad("status", manifest).output
        XCTAssertEqual(status.components(separatedBy: " fresh ").count - 1, 2, status)
        let forced = try medad("run", manifest, "--stage", "second")
        XCTAssertTrue(forced.output.contains("second: running (forced)") && !forced.output.contains("first: running"), forced.output)
    }

    func testSecondRunOnTheSameDirectoryExitsAtOnceNamingTheHolder() throws {
        let manifest = try writeManifest(normal: 300)
        let (holder, holderPipe) = try start(["run", manifest, "--quiet"])
        defer { holder.terminate(); holder.waitUntilExit(); _ = holderPipe.fileHandleForReading.readDataToEndOfFile() }
        let lockFile = runDir.appendingPathComponent(".lock").path
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, (try? String(contentsOfFile: lockFile, encoding: .utf8))?.contains("pid") != true {
            Thread.sleep(forTimeInterval: 0.02)
        }
        let started = Date()
        let second = try medad("run", manifest)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        XCTAssertEqual(second.code, 1)
        XCTAssertTrue(second.output.contains("another medad run holds"), second.output)
        XCTAssertTrue(second.output.contains("pid \(holder.processIdentifier), started 20"), second.output)
    }

    /// Every committed stage folder is complete: stage.json, both CSVs, and every file the CSV names.
    func assertCommittedOutputsComplete(file: StaticString = #filePath, line: UInt = #line) throws {
        for stage in ["first", "second"] {
            let folder = runDir.appendingPathComponent(stage)
            guard FileManager.default.fileExists(atPath: folder.path) else { continue }
            let record = try XCTUnwrap(
                StageRecord.read(folder.appendingPathComponent("stage.json")), "\(stage) has no stage.json", file: file, line: line)
            let (_, rows) = try CSV.read(folder.appendingPathComponent("synthesize.csv"))
            XCTAssertEqual(rows.count, record.rows, file: file, line: line)
            _ = try CSV.read(folder.appendingPathComponent("errors.csv"))
            let files = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("dicom").path)
            XCTAssertEqual(Set(files), Set(rows.map { String($0["file"]!.dropFirst("dicom/".count)) }), file: file, line: line)
        }
    }

    func testSIGKILLAtAnyMomentLosesNothing() throws {
        let manifest = try writeManifest()
        // Kill runs at several moments: before, during and between stages.
        for delay in [0.05, 0.4, 0.9, 1.5, 2.5] {
            let (process, pipe) = try start(["run", manifest, "--quiet"])
            Thread.sleep(forTimeInterval: delay)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            _ = pipe.fileHandleForReading.readDataToEndOfFile()
            try assertCommittedOutputsComplete()
        }
        // Kill while the second stage runs, after the first has committed.
        try? FileManager.default.removeItem(at: runDir.appendingPathComponent("second"))
        let (process, pipe) = try start(["run", manifest, "--quiet"])
        let firstRecord = runDir.appendingPathComponent("first/stage.json")
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && StageRecord.read(firstRecord) == nil { Thread.sleep(forTimeInterval: 0.01) }
        Thread.sleep(forTimeInterval: 0.3)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        _ = pipe.fileHandleForReading.readDataToEndOfFile()
        try assertCommittedOutputsComplete()
        let firstFinished = try XCTUnwrap(StageRecord.read(firstRecord)).finished
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: runDir.appendingPathComponent("second/stage.json").path),
            "the second stage should have been killed before finishing; make it bigger")

        let rerun = try medad("run", manifest)
        XCTAssertEqual(rerun.code, 0, rerun.output)
        XCTAssertTrue(rerun.output.contains("first: skipped, fresh"), rerun.output)
        XCTAssertTrue(rerun.output.contains("took over a stale lock"), rerun.output)
        XCTAssertEqual(try XCTUnwrap(StageRecord.read(firstRecord)).finished, firstFinished, "first was re-done")
        try assertCommittedOutputsComplete()
        XCTAssertEqual(StageRecord.read(runDir.appendingPathComponent("second/stage.json"))?.rows, 260)
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: runDir.appendingPathComponent(".staging").path)) ?? []
        XCTAssertEqual(leftovers, [], "killed runs' staging folders are cleaned up")
    }
}
