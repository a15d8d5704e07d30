// `medad slurm submit` against a real Slurm: a one-node cluster on this machine (scripts/slurm-cluster.sh, Debian's
// slurm-wlm and munge, installed by scripts/test.sh), started for these tests and stopped after them. A small
// pipeline submitted as jobs (ingest and normalize in 4 shards each) gives the same CSVs as the same manifest run
// locally; a cancelled shard part and a training cancelled mid-run are resubmitted with what depends on them and
// nothing else.
import Foundation
import Pipeline
import XCTest

@testable import Stages

final class SlurmTests: XCTestCase, MedadCLI {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    nonisolated(unsafe) static var cluster: URL?
    nonisolated(unsafe) static var clusterProblem = ""

    override class func setUp() {
        super.setUp()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("slurm-\(UUID())")
        let started = shell(repository.appendingPathComponent("scripts/slurm-cluster.sh").path, ["start", folder.path])
        guard started.code == 0 else {
            clusterProblem = started.output
            return
        }
        setenv("SLURM_CONF", folder.appendingPathComponent("slurm.conf").path, 1)
        cluster = folder
    }

    override class func tearDown() {
        if let cluster {
            _ = shell(repository.appendingPathComponent("scripts/slurm-cluster.sh").path, ["stop", cluster.path])
            try? FileManager.default.removeItem(at: cluster)
        }
        super.tearDown()
    }

    @discardableResult
    static func shell(_ executable: String, _ arguments: [String]) -> (code: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        // A file, not a pipe: the daemons the cluster script starts inherit the child's descriptors (Foundation
        // leaves the pipe's ends open in it), and a pipe would then never reach its end.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("slurm-shell-\(UUID()).out")
        _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: file) }
        guard let handle = try? FileHandle(forWritingTo: file) else { return (-1, "cannot write \(file.path)") }
        process.standardOutput = handle
        process.standardError = handle
        guard (try? process.run()) != nil else { return (-1, "cannot start \(executable)") }
        process.waitUntilExit()
        try? handle.close()
        return (process.terminationStatus, (try? String(contentsOf: file, encoding: .utf8)) ?? "")
    }

    /// A folder with synthetic DICOMs made once (so two runs read the very same files) and the manifest.
    func workspace(_ name: String, epochs: Int) throws -> (folder: URL, manifest: String) {
        let (folder, path) = try TinyPipeline.workspace(self, name)
        let synthesized = try medad(
            "synthesize", folder.appendingPathComponent("data").path, "--seed", "3", "--size", "32", "--normal", "30", "--lung-opacity",
            "10",
            "--not-normal", "0")
        XCTAssertEqual(synthesized.code, 0, synthesized.output)
        let yaml = """
            name: t
            run_dir: run
            stages:
              ingest: {kind: ingest, shards: 4, params: {inputs: [data/synthesize/dicom], secret_file: secret.txt}}
              normalize: {kind: normalize, after: [ingest], shards: 4, params: {size: 32}}
              split:
                kind: split
                after: [ingest, normalize]
                params: {labels: data/synthesize/labels/stage_2_detailed_class_info.csv, train_normal: 16, unlabeled_normal: 0, unlabeled_abnormal: 0, test_normal: 8, test_abnormal: 8}
              train:
                kind: train
                after: [split, normalize]
                params: {method: deep_ensemble, learners: 2, epochs: \(epochs), batch_size: 8, input_size: 16, base_width: 2, latent_size: 4, hidden_size: 16}
                slurm: {cpus: 2, memory: 1G, time: "10:00"}
              score: {kind: score, after: [train, split, normalize], params: {maps: 1}}
              aggregate: {kind: aggregate, after: [score], params: {resamples: 20}}
            """
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return (folder, path)
    }

    /// Waits until none of the run's recorded jobs is queued or running; returns their final states by stage.
    func waitForJobs(_ run: URL, timeout: TimeInterval = 240) throws -> [String: String] {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let jobs = try SlurmJobs.read(RunDirectory(run))
            let states = try SlurmJobs.states(of: jobs.byStage.values.map(\.job))
            if !states.values.contains(where: SlurmJobs.active.contains) {
                return jobs.byStage.mapValues { states[$0.job] ?? "?" }
            }
            guard Date() < deadline else {
                XCTFail("jobs still queued or running after \(Int(timeout)) s: \(states)")
                return [:]
            }
            Thread.sleep(forTimeInterval: 0.5)
        }
    }

    /// Every CSV of a run directory's stage folders by relative path, with train.csv's timing column left out and
    /// costs.csv (wall times and memory) left out: what must not depend on where the stages ran.
    func tables(_ run: URL) throws -> [String: String] {
        var tables: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(at: run, includingPropertiesForKeys: nil)!
        for case let url as URL in enumerator where url.pathExtension == "csv" {
            let relative = String(url.path.dropFirst(run.path.count + 1))
            guard !relative.hasPrefix("."), !relative.hasPrefix("slurm/"), url.lastPathComponent != "costs.csv" else { continue }
            var text = try String(contentsOf: url, encoding: .utf8)
            if url.lastPathComponent == "train.csv" {
                let table = try CSV.read(url)
                let kept = table.header.filter { $0 != "seconds" }
                text = ([kept] + table.rows.map { row in kept.map { row[$0] ?? "" } }).map { $0.joined(separator: ",") }.joined(
                    separator: "\n")
            }
            tables[relative] = text
        }
        return tables
    }

    /// A 2-method × 2-seed sweep: eight cell stages as independent jobs after the shared ones, one aggregate after
    /// them all; the same CSVs as the sweep run locally, and the report's table over the seeds.
    func testSweepOnSlurmMatchesTheLocalSweep() throws {
        guard Self.cluster != nil else { return XCTFail("the one-node Slurm did not start: \(Self.clusterProblem)") }
        let (folder, manifest) = try workspace("sweep", epochs: 2)
        try String(contentsOfFile: manifest, encoding: .utf8)
            .replacingOccurrences(of: "stages:\n", with: "matrix:\n  method: [deep_ensemble, d2ue]\n  seed: [1, 2]\nstages:\n")
            .replacingOccurrences(of: "method: deep_ensemble, learners: 2", with: "learners: 2")
            .write(toFile: manifest, atomically: true, encoding: .utf8)
        let run = folder.appendingPathComponent("run")
        XCTAssertEqual(try medad("run", manifest, "--quiet").code, 0)
        let local = try tables(run)
        XCTAssertEqual(local.keys.filter { $0.hasPrefix("score@") && $0.hasSuffix("/score.csv") }.count, 4)
        try FileManager.default.removeItem(at: run)
        let submitted = try medad("slurm", "submit", manifest)
        XCTAssertEqual(submitted.code, 0, submitted.output)
        let jobs = try SlurmJobs.read(RunDirectory(run))
        XCTAssertEqual(jobs.byStage["aggregate"]?.dependencies.count, 4, "aggregate waits for the four score cells")
        XCTAssertEqual(Set(try waitForJobs(run).values), ["COMPLETED"])
        XCTAssertEqual(try tables(run), local)
        let report = try medad("report", run.path)
        XCTAssertTrue(report.output.contains("| d2ue ae / ens_rec |") && report.output.contains("(2)"), report.output)
    }

    func testSubmittedPipelineMatchesTheLocalRunAndACancelledJobIsResubmittedAlone() throws {
        guard let cluster = Self.cluster else {
            return XCTFail(
                "the one-node Slurm did not start (scripts/slurm-cluster.sh; scripts/test.sh installs slurm-wlm and munge): \(Self.clusterProblem)"
            )
        }
        _ = cluster
        let (folder, manifest) = try workspace("slurm", epochs: 3)
        let run = folder.appendingPathComponent("run")
        XCTAssertEqual(try medad("run", manifest, "--quiet").code, 0)
        let local = try tables(run)
        XCTAssertTrue(local.keys.contains("train/train.csv") && local.keys.contains("aggregate/aggregate.csv"), "\(local.keys)")
        try FileManager.default.removeItem(at: run)

        let dry = try medad("slurm", "submit", manifest, "--dry-run")
        XCTAssertEqual(dry.code, 0, dry.output)
        XCTAssertTrue(dry.output.contains("would submit"), dry.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.appendingPathComponent("slurm").path), "a dry run writes nothing")

        let first = try medad("slurm", "submit", manifest)
        XCTAssertEqual(first.code, 0, first.output)
        // ingest and normalize in 4 shards: a job array of parts, then a job that joins them; one part of normalize
        // cancelled while it waits for ingest: its join and everything after it are cancelled with it (afterok).
        let firstJobs = try SlurmJobs.read(RunDirectory(run))
        let normalizeParts = try XCTUnwrap(firstJobs.byStage["normalize"]?.parts)
        XCTAssertEqual(Self.shell("/usr/bin/env", ["scancel", "\(normalizeParts)_2"]).code, 0)
        let parts = try String(contentsOf: run.appendingPathComponent("slurm/ingest.parts.sbatch"), encoding: .utf8)
        XCTAssertTrue(parts.contains("#SBATCH --array=0,1,2,3") && parts.contains("--shard \"$SLURM_ARRAY_TASK_ID/4\""), parts)
        XCTAssertTrue(try String(contentsOf: run.appendingPathComponent("slurm/ingest.sbatch"), encoding: .utf8).contains("--join 4"))
        let broken = try waitForJobs(run)
        XCTAssertEqual(broken["ingest"], "COMPLETED", "\(broken)")
        XCTAssertNotEqual(broken["normalize"], "COMPLETED", "\(broken)")
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent(".shards/normalize").path).count, 1,
            "the three parts that ran are committed")

        let submitted = try medad("slurm", "submit", manifest)
        XCTAssertEqual(submitted.code, 0, submitted.output)
        XCTAssertTrue(submitted.output.contains("parts 2 of 4"), submitted.output)
        let jobs = try SlurmJobs.read(RunDirectory(run))
        XCTAssertEqual(jobs.byStage["ingest"]!.job, firstJobs.byStage["ingest"]!.job, "ingest is fresh")
        XCTAssertEqual(jobs.byStage["normalize"]!.partIndices, [2], "only the cancelled part runs again")
        XCTAssertEqual(jobs.byStage["score"]!.dependencies, ["train", "split", "normalize"].map { jobs.byStage[$0]!.job })
        let script = try String(contentsOf: run.appendingPathComponent("slurm/train.sbatch"), encoding: .utf8)
        for line in ["#SBATCH --cpus-per-task=2", "#SBATCH --mem=1G", "#SBATCH --time=10:00", "--stage 'train'", "OPENBLAS_NUM_THREADS"] {
            XCTAssertTrue(script.contains(line), line)
        }
        let states = try waitForJobs(run)
        XCTAssertEqual(Set(states.values), ["COMPLETED"], "\(states)")
        XCTAssertEqual(try tables(run), local, "every CSV as the local run wrote it")
        let status = try medad("status", manifest)
        XCTAssertTrue(status.output.contains("COMPLETED") && status.output.contains("slurm/logs/train-"), status.output)
        let again = try medad("slurm", "submit", manifest)
        XCTAssertEqual(again.code, 0, again.output)
        XCTAssertEqual(
            try SlurmJobs.read(RunDirectory(run)).byStage.mapValues(\.job), jobs.byStage.mapValues(\.job), "all fresh: nothing submitted")

        // Another training, longer; its job cancelled while it runs: score and aggregate (afterok) go with it, and
        // a rerun submits exactly these three.
        try String(contentsOfFile: manifest, encoding: .utf8).replacingOccurrences(
            of: "epochs: 3", with: "epochs: 400, checkpoint_every: 0"
        )
        .write(toFile: manifest, atomically: true, encoding: .utf8)
        XCTAssertEqual(try medad("slurm", "submit", manifest).code, 0)
        let long = try SlurmJobs.read(RunDirectory(run))
        XCTAssertEqual(long.byStage["ingest"]!.job, jobs.byStage["ingest"]!.job, "fresh stages are not submitted again")
        let train = long.byStage["train"]!.job
        let deadline = Date().addingTimeInterval(60)
        while try SlurmJobs.states(of: [train])[train] != "RUNNING" && Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }
        Thread.sleep(forTimeInterval: 1)
        XCTAssertEqual(Self.shell("/usr/bin/env", ["scancel", train]).code, 0)
        let cancelled = try waitForJobs(run)
        XCTAssertEqual(cancelled["train"], "CANCELLED")
        XCTAssertNotEqual(cancelled["aggregate"], "COMPLETED")
        let resubmitted = try medad("slurm", "submit", manifest)
        XCTAssertEqual(resubmitted.code, 0, resubmitted.output)
        let after = try SlurmJobs.read(RunDirectory(run))
        XCTAssertEqual(
            Set(after.byStage.filter { $0.value.job != long.byStage[$0.key]!.job }.keys), ["train", "score", "aggregate"],
            resubmitted.output)
        XCTAssertEqual(Set(try waitForJobs(run).values), ["COMPLETED"])
        let trainLog = try String(
            contentsOf: run.appendingPathComponent("slurm/logs/train-\(after.byStage["train"]!.job).log"), encoding: .utf8)
        XCTAssertTrue(trainLog.contains("resum"), "the resubmitted training resumes from its checkpoint: \(trainLog.prefix(2000))")
        let status2 = try medad("status", manifest)
        XCTAssertNotNil(status2.output.range(of: #"\naggregate +aggregate +fresh"#, options: .regularExpression), status2.output)
    }
}
