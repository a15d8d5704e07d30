// The medad command line: one small struct per subcommand.
import ArgumentParser
import Foundation
import MedNN
import Pipeline
import Stages

/// Exit codes, as the README documents them.
enum ExitStatus {
    static let success: Int32 = 0
    static let usage: Int32 = 1
    static let stageFailed: Int32 = 2
    static let tooManyItemFailures: Int32 = 3
}

@main
struct Medad: ParsableCommand {
    /// Sets the process's memory policy (PeakMemory.configureMalloc) and MedNN's thread count (which also stops
    /// OpenBLAS's idle threads: Parallel) before any command runs.
    static func main() {
        PeakMemory.configureMalloc()
        _ = Parallel.threads
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "medad",
        abstract: "Medical image anomaly detection pipelines: ingest, normalize, split, train, score, aggregate.",
        version: medadVersion,
        subcommands: [
            Run.self, Status.self, Validate.self, Report.self, Diff.self, Slurm.self, Inspect.self, Synthesize.self, DecodeWorker.self,
        ])
}

/// Loads a manifest, turning its errors into exit code 1 with the file, line and key.
func loadManifest(_ path: String) throws -> Manifest {
    do {
        return try Manifest.load(URL(fileURLWithPath: path), registry: stageRegistry)
    } catch let error as ManifestError {
        fail(error.description)
    }
}

func fail(_ message: String, code: Int32 = ExitStatus.usage) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    Foundation.exit(code)
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a pipeline: stages whose inputs changed, or those you name.",
        discussion: """
            Exit codes: 0 success; 1 usage or manifest error (or another run holds the run directory); \
            2 a stage failed; 3 finished, but a stage had more failed items than its max_failures.
            """)

    @Argument(help: "The pipeline manifest (YAML).")
    var manifest: String

    @Option(name: .customLong("stage"), help: "Re-run only this stage, from the upstream outputs on disk (repeatable).")
    var stages: [String] = []

    @Option(name: .customLong("from"), help: "Re-run this stage and every stage after it.")
    var from: String?

    @Flag(help: "Run the selected stages even when their fingerprints are unchanged.")
    var force = false

    @Flag(name: .customLong("dry-run"), help: "Show what would run and why, without running anything.")
    var dryRun = false

    @Option(help: "Items processed at the same time, across all running stages (default: the number of cores).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Print errors only (run.log still gets everything).")
    var quiet = false

    @Option(help: "With one --stage of a per-item kind (ingest, normalize): do part i of N (0-based), committed as that part.")
    var shard: String?

    @Option(help: "With one --stage: assemble it from its N committed parts (names any part that is missing).")
    var join: Int?

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        if let shard, Shard(parsing: shard) == nil { throw ValidationError("--shard takes i/N with 0 ≤ i < N, got '\(shard)'") }
        if let join, join < 1 { throw ValidationError("--join takes the number of parts, at least 1") }
        if !stages.isEmpty && from != nil { throw ValidationError("use --stage or --from, not both") }
    }

    func run() throws {
        let manifest = try loadManifest(self.manifest)
        let reporter = Reporter(mode: Reporter.detectMode(quiet: quiet))
        var options = RunOptions()
        options.stages = stages
        options.from = from
        options.force = force
        options.dryRun = dryRun
        options.jobs = jobs
        options.shard = shard.flatMap(Shard.init(parsing:))
        options.join = join
        let summary: RunSummary
        do {
            summary = try Runner(manifest: manifest, registry: stageRegistry, reporter: reporter).run(options)
        } catch let error as PlanError {
            fail(error.description)
        } catch let error as LockHeldError {
            fail(error.description)
        }
        if !dryRun && !quiet {
            printAggregates(manifest)
            print("outputs: \(manifest.runDirectory.path)")
        }
        if summary.exitCode != 0 { throw ExitCode(summary.exitCode) }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show each stage: fresh, stale or missing, when it last ran, its rows and errors.")

    @Argument(help: "The pipeline manifest (YAML).")
    var manifest: String

    func run() throws {
        let manifest = try loadManifest(self.manifest)
        let runner = Runner(manifest: manifest, registry: stageRegistry, reporter: Reporter(mode: .quiet))
        let statuses: [StageStatus]
        do { statuses = try runner.status() } catch { fail(String(describing: error)) }
        let formatter = ISO8601DateFormatter()
        var table = [["stage", "kind", "state", "last run", "seconds", "rows", "errors"]]
        for status in statuses {
            let state: String
            switch status.freshness {
            case .fresh: state = "fresh"
            case .stale(let reason): state = "stale (\(reason))"
            case .missing: state = "missing"
            }
            let r = status.record
            table.append([
                status.name, status.kind, state, r.map { formatter.string(from: $0.finished) } ?? "-",
                r.map { String(format: "%.1f", $0.seconds) } ?? "-", r.map { String($0.rows) } ?? "-",
                r.map { String($0.errors) } ?? "-",
            ])
        }
        print("pipeline \(manifest.name), run directory \(manifest.runDirectory.path)")
        printTable(table)
        printSlurmJobs(runner.directory, order: manifest.stages.map(\.name))
    }

    /// The jobs `medad slurm submit` queued, with Slurm's state and each one's log; nothing when none were.
    func printSlurmJobs(_ directory: RunDirectory, order: [String]) {
        guard let jobs = try? SlurmJobs.read(directory), !jobs.byStage.isEmpty else { return }
        let states: [String: String]
        do { states = try SlurmJobs.states(of: jobs.byStage.values.flatMap(\.jobIDs)) } catch {
            print("slurm: \(error)")
            return
        }
        let logs = directory.slurmDirectory.appendingPathComponent("logs")
        print("slurm jobs (\(directory.slurmDirectory.appendingPathComponent("jobs.json").path)):")
        printTable(
            [["stage", "job", "state", "submitted", "log"]]
                + order.compactMap { jobs.byStage[$0] }.flatMap { job in
                    let submitted = ISO8601DateFormatter().string(from: job.submitted)
                    let parts = job.parts.map { parts in
                        [
                            "\(job.stage) parts \((job.partIndices ?? []).map(String.init).joined(separator: ","))", parts,
                            states[parts] ?? "?",
                            submitted, logs.appendingPathComponent("\(job.stage)-part<i>-\(parts).log").path,
                        ]
                    }
                    return [parts].compactMap { $0 }
                        + [
                            [
                                job.stage, job.job, states[job.job] ?? "?", submitted,
                                logs.appendingPathComponent("\(job.stage)-\(job.job).log").path,
                            ]
                        ]
                })
    }
}

/// Each aggregate stage's tables (when it has them: the method-level scores, per-member rec_k left to the CSV;
/// the costs) and the path of its report.
func printAggregates(_ manifest: Manifest) {
    for stage in manifest.stages where stage.kind == AggregateStage.kind {
        let folder = manifest.runDirectory.appendingPathComponent(stage.name)
        guard let rows = try? CSV.records(folder.appendingPathComponent("aggregate.csv"), as: AggregateRow.self) else { continue }
        print(
            "\(stage.name): AUROC and AP with bootstrap 95% intervals, sensitivity at \(rows.first?.specificity ?? 0) specificity (rec_k: aggregate.csv)"
        )
        printTable(
            [["method", "score", "AUROC", "95% CI", "AP", "95% CI", "sens@spec", "images"]]
                + rows.filter { !$0.score.hasPrefix("rec_") }.map { row in
                    let f = Dictionary(uniqueKeysWithValues: zip(AggregateRow.columns, row.fields))
                    return [
                        "\(row.method) \(row.backbone)", row.score, f["auroc"]!, "\(f["auroc_low"]!)-\(f["auroc_high"]!)", f["ap"]!,
                        "\(f["ap_low"]!)-\(f["ap_high"]!)", f["sensitivity_at_specificity"]!, String(row.images),
                    ]
                })
        if let costs = try? CSV.records(folder.appendingPathComponent("costs.csv"), as: CostRow.self) {
            print("costs: training (all networks) and scoring (per test image), peak memory of each stage")
            printTable(
                [["method", "networks", "members", "parameters", "train s", "score ms/img", "train MB", "score MB"]]
                    + costs.map { row in ["\(row.method) \(row.backbone)"] + Array(row.fields[3...]) })
        }
        print("report: \(folder.appendingPathComponent(AggregateStage.reportFile).path)")
    }
}

func printTable(_ rows: [[String]]) {
    let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
    for row in rows {
        print(
            row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces))
    }
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check a manifest without running it: keys, kinds, types, upstreams, cycles.")

    @Argument(help: "The pipeline manifest (YAML).")
    var manifest: String

    func run() throws {
        let manifest = try loadManifest(self.manifest)
        print(
            "\(manifest.file.path): valid: pipeline \(manifest.name), \(manifest.stages.count) stages, run directory \(manifest.runDirectory.path)"
        )
        for stage in manifest.stages {
            let after = stage.after.isEmpty ? "" : " after \(stage.after.joined(separator: ", "))"
            print("  \(stage.name) (\(stage.kind))\(after)")
        }
        if !manifest.cells.isEmpty {
            print("matrix: \(manifest.cells.count) cells: " + manifest.cells.map(\.label).joined(separator: "; "))
        }
    }
}

/// The ingest stage's isolated decoder: one JSON request per line on stdin, one JSON reply per line on stdout.
struct DecodeWorker: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode-worker", abstract: "Internal: decodes files for the ingest stage in a separate process.",
        shouldDisplay: false)

    func run() { DecoderWorkers.serve() }
}
