// Issue 11's classes through the medad binary: hostile identifiers never become paths, a run directory is medad's
// own, size claims are checked before allocating, lying headers and damaged streams are error rows (never images),
// non-finite numbers are stage errors, and nothing is silent (links, signals, malformed upstream CSVs).
// The hostile corpus is Fixtures/hostile/, written by Fixtures/make_hostile_corpus.py with its expected outcomes.
import Foundation
import MedImage
import MedNN
import Pipeline
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

final class HardeningTests: XCTestCase, MedadCLI {
    var folder: URL!
    let hostile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/hostile")
    /// Where the traversal fixture's UID points (../../../../../../tmp/medad-escape/owned).
    let escape = URL(fileURLWithPath: "/tmp/medad-escape")

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("hardening-\(UUID())")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("in"), withIntermediateDirectories: true)
        try "hardening-secret\n".write(to: url("secret.txt"), atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func url(_ relative: String) -> URL { folder.appendingPathComponent(relative) }

    func write(_ yaml: String, _ name: String = "t.yaml") throws -> String {
        try yaml.write(to: url(name), atomically: true, encoding: .utf8)
        return url(name).path
    }

    func ingestManifest(runDir: String = "run", extra: String = "", frames: String = "all") throws -> String {
        try write(
            """
            name: t
            run_dir: \(runDir)
            stages:
              ingest:
                kind: ingest
                params: {inputs: [in], frames: \(frames), secret_file: secret.txt\(extra)}
              normalize:
                kind: normalize
                after: [ingest]
                params: {size: 16}
            """)
    }

    /// Every regular file below `root`, as paths relative to it.
    func files(_ root: URL) -> [String] {
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { return [] }
        var out: [String] = []
        let prefix = root.standardizedFileURL.path + "/"
        while let item = walker.nextObject() as? URL {
            var info = stat()
            if lstat(item.path, &info) == 0, info.st_mode & S_IFMT == S_IFREG {
                out.append(String(item.standardizedFileURL.path.dropFirst(prefix.count)))
            }
        }
        return out.sorted()
    }

    func table(_ relative: String) throws -> [[String: String]] { try CSV.read(url(relative)).rows }

    // MARK: 1, 3, 4: the hostile corpus

    func testHostileCorpusGivesOneRowPerFileAndNothingOutsideTheRunDirectory() throws {
        try? FileManager.default.removeItem(at: escape)
        try FileManager.default.createDirectory(at: escape, withIntermediateDirectories: true)  // as an attacker would
        defer { try? FileManager.default.removeItem(at: escape) }
        let expected = try CSV.read(hostile.appendingPathComponent("expected.csv")).rows
        for row in expected {
            try FileManager.default.copyItem(at: hostile.appendingPathComponent(row["file"]!), to: url("in/\(row["file"]!)"))
        }
        let result = try medad("run", try ingestManifest())
        XCTAssertEqual(result.code, 0, result.output)

        let images = Dictionary(grouping: try table("run/ingest/ingest.csv"), by: { $0["path"]! })
        let errors = Dictionary(grouping: try table("run/ingest/errors.csv"), by: { $0["item"]! })
        let normalized = try table("run/normalize/normalize.csv")
        let normalizeErrors = Dictionary(grouping: try table("run/normalize/errors.csv"), by: { $0["item"]! })
        func assertOneError(_ rows: [[String: String]]?, _ row: [String: String]) {
            let file = row["file"]!
            XCTAssertEqual(rows?.count, 1, "\(file) should be one error row")
            let reason = rows?.first?["reason"] ?? ""
            XCTAssertFalse(row["reason"]!.isEmpty, "\(file): expected.csv names no reason")
            XCTAssertTrue(reason.contains(row["reason"]!), "\(file): '\(reason)' lacks '\(row["reason"]!)'")
        }
        for row in expected {
            let file = row["file"]!
            switch row["outcome"]! {
            case "image":
                XCTAssertEqual(images[file]?.count, 1, "\(file) (\(row["class"]!)) should be one image; errors: \(errors[file] ?? [])")
                XCTAssertNil(errors[file], file)
            case "error":
                XCTAssertNil(images[file], "\(file) (\(row["class"]!)) became an image: \(images[file] ?? [])")
                assertOneError(errors[file], row)
            case "normalize error":  // ingest read its header only; normalize's decoding finds the damage
                XCTAssertEqual(images[file]?.count, 1, "\(file) (\(row["class"]!)) should pass ingest; errors: \(errors[file] ?? [])")
                let id = images[file]?.first?["image_id"] ?? ""
                XCTAssertFalse(normalized.contains { $0["image_id"] == id }, "\(file) became a PNG")
                assertOneError(normalizeErrors[id], row)
            default:
                XCTAssertNil(images[file], file)
                XCTAssertNil(errors[file], file)
            }
        }
        // Identifiers outside the UID grammar are flagged, and their PNGs are escaped names inside png/.
        let traversal = try XCTUnwrap(images["id_traversal.dcm"]?.first)
        XCTAssertEqual(traversal["image_id"], "../../../../../../tmp/medad-escape/owned")
        XCTAssertTrue(traversal["id_check"]!.contains("not a valid UID"), traversal["id_check"]!)
        XCTAssertEqual(images["control_native.dcm"]?.first?["id_check"], "")
        XCTAssertTrue(images["stem with spaces & <tags>.png"]!.first!["id_check"]!.contains("escaped"))
        XCTAssertEqual(normalized.count, expected.filter { $0["outcome"] == "image" }.count, "\(normalizeErrors)")
        for row in normalized {
            let file = row["file"]!
            XCTAssertEqual(file, "png/" + SafeName.fileName(row["image_id"]!) + ".png")
            XCTAssertEqual(file.split(separator: "/").count, 2, file)
            XCTAssertLessThan(file.utf8.count, 200, file)
            XCTAssertTrue(FileManager.default.fileExists(atPath: url("run/normalize/\(file)").path), file)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: escape.path), [], "a PNG escaped the run directory")
        let outside = files(folder).filter { !$0.hasPrefix("run/") && !$0.hasPrefix("in/") }
        XCTAssertEqual(outside, ["secret.txt", "t.yaml"])
        // No patient data anywhere.
        for file in files(url("run")) where !file.hasSuffix(".png") && !file.hasPrefix(".cache") {
            let text = String(decoding: try Data(contentsOf: url("run/\(file)")), as: UTF8.self)
            for secret in ["HOSTILE^PATIENT", "HOSTILE-ID-1", "19000101"] { XCTAssertFalse(text.contains(secret), "\(secret) in \(file)") }
        }
    }

    /// An id that arrives through an upstream CSV edited by hand is escaped the same way.
    func testHandEditedUpstreamIdsNeverBecomePaths() throws {
        try FileManager.default.copyItem(at: hostile.appendingPathComponent("control_native.dcm"), to: url("in/a.dcm"))
        let manifest = try ingestManifest()
        XCTAssertEqual(try medad("run", manifest).code, 0)
        let csv = url("run/ingest/ingest.csv")
        let text = try String(contentsOf: csv, encoding: .utf8).replacingOccurrences(of: "1.2.826.0.1.1,", with: "../../../edited,")
        try text.write(to: csv, atomically: true, encoding: .utf8)
        let rerun = try medad("run", manifest, "--stage", "normalize")
        XCTAssertEqual(rerun.code, 0, rerun.output)
        XCTAssertEqual(try table("run/normalize/normalize.csv").first?["file"], "png/%2E.%2F..%2F..%2Fedited.png")
        XCTAssertEqual(files(url("run/normalize")).filter { $0.hasPrefix("png/") }, ["png/%2E.%2F..%2F..%2Fedited.png"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: url("edited.png").path))
    }

    /// A hand-edited value that does not parse is an item error naming file, line and column, never a default
    /// (a rescale slope of 'abc' once became slope 1).
    func testHandEditedUpstreamValuesNameFileLineAndColumn() throws {
        try FileManager.default.copyItem(at: hostile.appendingPathComponent("control_native.dcm"), to: url("in/a.dcm"))
        let manifest = try ingestManifest()
        XCTAssertEqual(try medad("run", manifest).code, 0)
        let csv = url("run/ingest/ingest.csv")
        let ingest = try CSV.read(csv)
        var row = try XCTUnwrap(ingest.rows.first)
        row["rescale_slope"] = "abc"
        try CSV.write(csv, header: ingest.header, rows: [ingest.header.map { row[$0] ?? "" }])
        XCTAssertEqual(try medad("run", manifest, "--stage", "normalize").code, 0)
        let errors = try table("run/normalize/errors.csv")
        XCTAssertEqual(errors.count, 1)
        XCTAssertTrue(
            errors[0]["reason"]!.contains("ingest/ingest.csv: line 2: column 'rescale_slope': 'abc' is not a finite number"),
            errors[0]["reason"]!)
        XCTAssertTrue(try table("run/normalize/normalize.csv").isEmpty)
    }

    func testSafeNamesAreInjectivePlainComponents() throws {
        let ids = [
            "1.2.840.10008", "../x", "..", ".", "", "%", "%25", "a/b", "a%2Fb", "a b", "ü", "x\ny", "~",
            String(repeating: "9", count: 400), String(repeating: "9", count: 401),
        ]
        let names = ids.map(SafeName.fileName)
        XCTAssertEqual(Set(names).count, ids.count, "\(names)")
        XCTAssertEqual(names[0], "1.2.840.10008", "a UID is its own name")
        for name in names {
            XCTAssertFalse(name.contains("/") || name.hasPrefix(".") || name.isEmpty, name)
            XCTAssertLessThanOrEqual(name.utf8.count, 160, name)
        }
        XCTAssertTrue(SafeName.isUID("1.2.840.10008.5.1.4.1.1.1"))
        for bad in ["1.02.3", "1..2", "1.2.", "a.1", String(repeating: "1", count: 65), "../1"] { XCTAssertFalse(SafeName.isUID(bad), bad) }
        XCTAssertThrowsError(try SafeName.descendant(folder, "png/../../x.png"))
        XCTAssertThrowsError(try SafeName.descendant(folder, "/etc/passwd"))
        XCTAssertEqual(try SafeName.descendant(folder, "png/a.png").path, url("png/a.png").path)
    }

    // MARK: 2: the run directory is medad's own

    func testRunDirectoryRefusesSystemFoldersFilesAndFoldersMedadDidNotMake() throws {
        for (runDir, words) in [
            ("/", "system or home folder"), ("/etc", "system or home folder"), ("secret.txt", "is a file"),
            ("secret.txt/below", "is a file"), ("in", "medad did not create"),
        ] {
            try Data("precious".utf8).write(to: url("in/precious.txt"))
            let result = try medad("validate", try ingestManifest(runDir: runDir))
            XCTAssertEqual(result.code, 1, "\(runDir): \(result.output)")
            XCTAssertTrue(result.output.contains("t.yaml:2: run_dir:") && result.output.contains(words), "\(runDir): \(result.output)")
        }
        XCTAssertEqual(try String(contentsOf: url("in/precious.txt"), encoding: .utf8), "precious")
        let long = try medad("run", try ingestManifest(runDir: String(repeating: "a", count: 300)))
        XCTAssertTrue(
            long.code == 1 && long.output.contains("t.yaml:2: run_dir: cannot create the run directory")
                && long.output.contains("not valid here (too long"), long.output)
        // An empty folder is taken and marked; later runs know it by its marker.
        try FileManager.default.createDirectory(at: url("empty"), withIntermediateDirectories: true)
        XCTAssertEqual(try medad("run", try ingestManifest(runDir: "empty")).code, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: url("empty/.medad-run").path))
        XCTAssertEqual(try medad("run", try ingestManifest(runDir: "empty")).code, 0)
        // A reserved stage name is a manifest error.
        let reserved = try medad("validate", try write("name: t\nstages:\n  secrets:\n    kind: synthesize\n"))
        XCTAssertTrue(reserved.code == 1 && reserved.output.contains("t.yaml:3: stages.secrets"), reserved.output)
    }

    func testAStageNeverReplacesAFolderMedadDidNotWrite() throws {
        try FileManager.default.copyItem(at: hostile.appendingPathComponent("control_native.dcm"), to: url("in/a.dcm"))
        let manifest = try ingestManifest()
        XCTAssertEqual(try medad("run", manifest, "--stage", "ingest").code, 0)
        // The user keeps a folder named like the normalize stage inside the run directory.
        try FileManager.default.createDirectory(at: url("run/normalize"), withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: url("run/normalize/notes.txt"))
        let result = try medad("run", manifest)
        XCTAssertEqual(result.code, 2, result.output)
        XCTAssertTrue(result.output.contains("refused to replace") && result.output.contains("medad did not write it"), result.output)
        XCTAssertEqual(files(url("run/normalize")), ["notes.txt"])
    }

    // MARK: 6: nothing is silent

    func testSymbolicLinksAreReportedOrFollowedInsideTheInputsOnly() throws {
        try FileManager.default.createDirectory(at: url("in/real"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: url("elsewhere"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: hostile.appendingPathComponent("control_png.png"), to: url("in/real/a.png"))
        try FileManager.default.copyItem(at: hostile.appendingPathComponent("control_jpg.jpg"), to: url("elsewhere/b.jpg"))
        try FileManager.default.createSymbolicLink(atPath: url("in/link.png").path, withDestinationPath: "real/a.png")
        try FileManager.default.createSymbolicLink(atPath: url("in/outside.jpg").path, withDestinationPath: url("elsewhere/b.jpg").path)
        try FileManager.default.createSymbolicLink(atPath: url("in/real/loop").path, withDestinationPath: "..")
        try FileManager.default.createSymbolicLink(atPath: url("in/dangling.png").path, withDestinationPath: "nowhere.png")

        XCTAssertEqual(try medad("run", try ingestManifest()).code, 0)
        XCTAssertEqual(try table("run/ingest/ingest.csv").map { $0["path"]! }, ["real/a.png"])
        let reasons = Dictionary(uniqueKeysWithValues: try table("run/ingest/errors.csv").map { ($0["item"]!, $0["reason"]!) })
        XCTAssertEqual(Set(reasons.keys), ["dangling.png", "link.png", "outside.jpg", "real/loop"])
        XCTAssertTrue(reasons.values.allSatisfy { $0.contains("symbolic link, not followed") }, "\(reasons)")

        XCTAssertEqual(try medad("run", try ingestManifest(runDir: "run2", extra: ", follow_symlinks: true")).code, 0)
        let followed = try table("run2/ingest/ingest.csv").map { $0["path"]! }
        XCTAssertEqual(followed, ["link.png", "real/a.png"], "a link inside the inputs is followed")
        let errors = Dictionary(uniqueKeysWithValues: try table("run2/ingest/errors.csv").map { ($0["item"]!, $0["reason"]!) })
        XCTAssertEqual(Set(errors.keys), ["dangling.png", "outside.jpg", "real/loop"])
        XCTAssertTrue(errors["outside.jpg"]?.contains("outside the input folders") ?? false, "\(errors)")
        XCTAssertTrue(errors["real/loop"]?.contains("loop") ?? false, "\(errors)")
        XCTAssertTrue(errors["dangling.png"]?.contains("missing target") ?? false, "\(errors)")
    }

    func testMalformedOrIncompleteUpstreamCSVNamesFileLineAndColumn() throws {
        try FileManager.default.copyItem(at: hostile.appendingPathComponent("control_native.dcm"), to: url("in/a.dcm"))
        let manifest = try ingestManifest()
        XCTAssertEqual(try medad("run", manifest).code, 0)
        let csv = url("run/ingest/ingest.csv")
        let original = try String(contentsOf: csv, encoding: .utf8)
        let lines = original.split(separator: "\n").map(String.init)
        let column = lines[0].split(separator: ",", omittingEmptySubsequences: false).firstIndex(of: "mtime_ns")!
        let dropped = lines.map { line in
            var fields = line.split(separator: ",", omittingEmptySubsequences: false)
            fields.remove(at: column)
            return fields.joined(separator: ",")
        }
        try (dropped.joined(separator: "\n") + "\n").write(to: csv, atomically: true, encoding: .utf8)
        let missing = try medad("run", manifest, "--stage", "normalize")
        XCTAssertEqual(missing.code, 2)
        XCTAssertTrue(missing.output.contains("ingest.csv: line 1: missing column 'mtime_ns'"), missing.output)

        try (original + "\"unterminated,1\n").write(to: csv, atomically: true, encoding: .utf8)
        let malformed = try medad("run", manifest, "--stage", "normalize")
        XCTAssertEqual(malformed.code, 2)
        XCTAssertTrue(malformed.output.contains("ingest.csv: line 3: a quoted field is never closed"), malformed.output)
    }

    func testSIGTERMIsLoggedReleasesTheLockAndLosesNothing() throws {
        let manifest = try write(
            """
            name: t
            run_dir: run
            stages:
              synthesize:
                kind: synthesize
                params: {size: 512, normal: 400, lung_opacity: 0, not_normal: 0}
            """)
        let (process, pipe) = try start(["run", manifest])
        let log = url("run/run.log")
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, !((try? String(contentsOf: log, encoding: .utf8))?.contains("synthesize: running") ?? false) {
            usleep(20_000)
        }
        usleep(200_000)
        kill(process.processIdentifier, SIGTERM)
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .exit, output)
        XCTAssertEqual(process.terminationStatus, 128 + SIGTERM, output)
        let text = try String(contentsOf: log, encoding: .utf8)
        XCTAssertTrue(text.contains("run t stopped by SIGTERM"), text)
        XCTAssertEqual(try String(contentsOf: url("run/.lock"), encoding: .utf8), "", "the lock's holder note is cleared")
        XCTAssertFalse(FileManager.default.fileExists(atPath: url("run/synthesize").path), "nothing half-written was committed")
        let status = try medad("status", manifest)
        XCTAssertTrue(status.output.contains("missing"), status.output)
    }

    /// A decoder worker dies with its parent (medad stopped by a signal would otherwise leave a hung decode behind).
    func testADecoderWorkerDiesWithItsParent() throws {
        // The worker's stdin is a pipe this test keeps open, so only its parent's death can end it.
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", "exec 3<&0; '\(medad.path)' decode-worker <&3 >/dev/null 2>&1 & echo $!; sleep 0.3"]
        let input = Pipe(), output = Pipe()
        (shell.standardInput, shell.standardOutput) = (input, output)
        try shell.run()
        // Only the first line: the worker may hold the pipe too (inherited descriptors), so EOF could wait for it.
        var text = ""
        while !text.contains("\n") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        let pid = try XCTUnwrap(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        shell.waitUntilExit()
        var alive = true
        for _ in 0..<100 where alive {
            usleep(20_000)
            // Gone, or a zombie waiting for init to reap it.
            let state = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?.split(separator: " ").dropFirst(2).first
            alive = state != nil && state != "Z"
        }
        XCTAssertFalse(alive, "decoder worker \(pid) outlived its parent")
        if alive { kill(pid, SIGKILL) }
        try input.fileHandleForWriting.close()
    }

    // MARK: 5: numbers

    /// Also: an id edited by hand into split.csv and normalize.csv reaches score's map names and the report escaped.
    func testHandEditedIdsThroughScoreAndNonFiniteWeightsAreAStageErrorNotATrap() throws {
        let manifest = try write(TinyPipeline.yaml(train: "learners: 2, epochs: 1", score: "maps: 8"))
        XCTAssertEqual(try medad("run", manifest).code, 0)
        let test = try XCTUnwrap(try table("run/split/split.csv").first { $0["part"] == "test" }?["image_id"])
        for csv in ["run/split/split.csv", "run/normalize/normalize.csv"] {
            let text = try String(contentsOf: url(csv), encoding: .utf8).replacingOccurrences(of: "\(test),", with: "../../x<y>,")
            try text.write(to: url(csv), atomically: true, encoding: .utf8)
        }
        let rescored = try medad("run", manifest, "--from", "score")
        XCTAssertEqual(rescored.code, 0, rescored.output)
        XCTAssertTrue(try table("run/score/score.csv").contains { $0["image_id"] == "../../x<y>" })
        let maps = try FileManager.default.contentsOfDirectory(atPath: url("run/score/maps").path)
        XCTAssertTrue(maps.contains { $0.hasSuffix("_%2E.%2F..%2Fx%3Cy%3E.png") }, "\(maps)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: url("x<y>.png").path))
        let report = try String(contentsOf: url("run/aggregate/report.html"), encoding: .utf8)
        XCTAssertFalse(report.contains("x<y>"), "ids reach the report escaped")
        let file = url("run/train/models/learner_1.safetensors")
        let stored = try SafeTensors.read(file)
        var tensors = stored.tensors
        guard case .float32(var weight) = tensors["de_block1.model.0.weight"] else { return XCTFail("no de_block1 weight") }
        weight.data[0] = .nan
        tensors["de_block1.model.0.weight"] = .float32(weight)
        try SafeTensors.encode(tensors, metadata: stored.metadata).write(to: file)
        let result = try medad("run", manifest, "--stage", "score")
        XCTAssertEqual(result.code, 2, result.output)
        XCTAssertTrue(
            result.output.contains("learner_1.safetensors")
                && result.output.contains("'de_block1.model.0.weight' holds a non-finite value"),
            result.output)
        // aggregate refuses a hand-edited non-finite score, naming file and line.
        let scores = url("run/score/score.csv")
        var lines = try String(contentsOf: scores, encoding: .utf8).split(separator: "\n").map(String.init)
        var fields = lines[2].split(separator: ",").map(String.init)
        fields[2] = "nan"
        lines[2] = fields.joined(separator: ",")
        try (lines.joined(separator: "\n") + "\n").write(to: scores, atomically: true, encoding: .utf8)
        let aggregate = try medad("run", manifest, "--stage", "aggregate")
        XCTAssertEqual(aggregate.code, 2, aggregate.output)
        XCTAssertTrue(aggregate.output.contains("score.csv: line 3: column 'rec_0': 'nan' is not a finite number"), aggregate.output)
    }
}
