// Plans a run (which stages are fresh, which run and why), then executes the DAG: independent stages
// at the same time, each committed atomically, a failure stopping only its dependants.
import Foundation
import Synchronization

public struct RunOptions: Sendable {
    /// `--stage`: run exactly these, from the upstream outputs on disk.
    public var stages: [String] = []
    /// `--from`: run this stage and everything after it.
    public var from: String? = nil
    public var force = false
    public var dryRun = false
    public var jobs = ProcessInfo.processInfo.activeProcessorCount
    /// `--shard i/N` with one `--stage`: do that part of the stage's items and commit it as a part.
    public var shard: Shard? = nil
    /// `--join N` with one `--stage`: assemble the stage from its N committed parts (an error naming missing ones).
    public var join: Int? = nil
    public init() {}
}

/// A usage problem found while planning (unknown stage name, missing upstream outputs).
public struct PlanError: Error, CustomStringConvertible {
    public let description: String
}

public enum Freshness: Equatable, Sendable {
    case fresh
    case stale(String)
    case missing
}

public struct StageStatus: Sendable {
    public let name: String
    public let kind: String
    public let freshness: Freshness
    public let record: StageRecord?
}

public enum StageResult: Equatable, Sendable {
    case ran(rows: Int, errors: Int, exceeded: Bool)
    case skipped
    case failed(String)
    case blocked(by: String)
}

public struct RunSummary: Sendable {
    public let results: [(stage: String, result: StageResult)]
    public let seconds: Double

    /// 0 success; 2 a stage failed; 3 items failed beyond a stage's max_failures.
    public var exitCode: Int32 {
        if results.contains(where: {
            if case .failed = $0.result { return true }; if case .blocked = $0.result { return true }; return false
        }) {
            return 2
        }
        if results.contains(where: {
            if case .ran(_, _, true) = $0.result { return true }; return false
        }) {
            return 3
        }
        return 0
    }
}

public final class Runner: Sendable {
    public let manifest: Manifest
    public let registry: StageRegistry
    /// The process's peak resident memory before each reset of it (a stage that runs alone starts a new one):
    /// with the peak at the end, the run's peak is the largest of them.
    let peaks = Mutex<Double>(0)
    public let directory: RunDirectory
    let reporter: Reporter
    let graph: StageGraph

    public init(manifest: Manifest, registry: StageRegistry, reporter: Reporter) {
        self.manifest = manifest
        self.registry = registry
        self.reporter = reporter
        directory = RunDirectory(manifest.runDirectory)
        graph = StageGraph(manifest.stages)
    }

    struct PlannedStage {
        let declaration: StageDeclaration
        let fingerprint: String
        let upstream: [String: String]
        let inputCount: Int
        let freshness: Freshness
        let forced: Bool
        var willRun: Bool { forced || freshness != .fresh }
    }

    /// Each stage's freshness, as a plain run would see it.
    public func status() throws -> [StageStatus] {
        try plan(selected: Set(manifest.stages.map(\.name)), forced: false).map {
            StageStatus(
                name: $0.declaration.name, kind: $0.declaration.kind, freshness: $0.freshness,
                record: directory.record($0.declaration.name))
        }
    }

    func selection(_ options: RunOptions) throws -> (Set<String>, Bool) {
        let names = Set(manifest.stages.map(\.name))
        for name in options.stages + [options.from].compactMap({ $0 }) where !names.contains(name) {
            throw PlanError(
                description:
                    "no stage named '\(name)' in \(manifest.file.path) (stages: \(manifest.stages.map(\.name).joined(separator: ", ")))")
        }
        if !options.stages.isEmpty && options.from != nil { throw PlanError(description: "use --stage or --from, not both") }
        if options.shard != nil || options.join != nil {
            let flag = options.shard != nil ? "--shard" : "--join"
            guard options.shard == nil || options.join == nil else { throw PlanError(description: "use --shard or --join, not both") }
            guard options.stages.count == 1, let stage = manifest.stage(options.stages[0]) else {
                throw PlanError(description: "\(flag) needs exactly one --stage")
            }
            guard registry.kinds[stage.kind]!.shardable else {
                let kinds = registry.kinds.values.filter { $0.shardable }.map { $0.kind }.sorted().joined(separator: ", ")
                throw PlanError(
                    description: "\(flag): stage '\(stage.name)' is a \(stage.kind) stage, which does not shard (kinds that do: \(kinds))")
            }
        }
        if !options.stages.isEmpty { return (Set(options.stages), true) }
        if let from = options.from { return (graph.descendants(of: from), true) }
        return (names, options.force)
    }

    /// Fingerprints in DAG order; a stage outside the selection contributes the fingerprint of its outputs on disk.
    func plan(selected: Set<String>, forced: Bool) throws -> [PlannedStage] {
        var effective: [String: String] = [:]
        var planned: [PlannedStage] = []
        for name in graph.topologicalOrder() {
            let declaration = manifest.stage(name)!
            let record = directory.record(name)
            if !selected.contains(name) {
                if let record { effective[name] = record.fingerprint }
                continue
            }
            var upstream: [String: String] = [:]
            for parent in declaration.after {
                guard let fingerprint = effective[parent] else {
                    throw PlanError(
                        description:
                            "stage '\(name)' reads the outputs of '\(parent)', which has not run yet (no \(directory.recordURL(parent).path)); run it first, or run without --stage/--from"
                    )
                }
                upstream[parent] = fingerprint
            }
            let stage = try registry.kinds[declaration.kind]!.init(parameters: declaration.parameters)
            let (fingerprint, inputCount) = Fingerprint.compute(
                kind: declaration.kind, parameters: declaration.parameters,
                upstream: upstream, inputFiles: try stage.inputFiles(),
                salt: try stage.fingerprintSalt())
            effective[name] = fingerprint
            let freshness: Freshness
            if let record {
                freshness = record.fingerprint == fingerprint ? .fresh : .stale(Self.staleReason(record, declaration, upstream))
            } else {
                freshness = .missing
            }
            planned.append(
                PlannedStage(
                    declaration: declaration, fingerprint: fingerprint, upstream: upstream,
                    inputCount: inputCount, freshness: freshness, forced: forced))
        }
        return planned
    }

    static func staleReason(_ record: StageRecord, _ declaration: StageDeclaration, _ upstream: [String: String]) -> String {
        if record.medadVersion != medadVersion { return "medad version changed (\(record.medadVersion) → \(medadVersion))" }
        if record.kind != declaration.kind { return "kind changed" }
        let changed = Set(record.parameters.keys).union(declaration.parameters.values.keys)
            .filter { record.parameters[$0] != declaration.parameters.values[$0] }.sorted()
        if !changed.isEmpty { return "parameters changed: " + changed.joined(separator: ", ") }
        let upstreamChanged = upstream.keys.filter { record.upstream[$0] != upstream[$0] }.sorted()
        if !upstreamChanged.isEmpty { return "upstream changed: " + upstreamChanged.joined(separator: ", ") }
        if Set(record.upstream.keys) != Set(upstream.keys) { return "upstream stages changed" }
        return "input files changed"
    }

    /// Plans and, unless dry-run, runs. Throws PlanError or LockHeldError before anything runs.
    public func run(_ options: RunOptions) throws -> RunSummary {
        let start = Date()
        let (selected, forced) = try selection(options)
        let plan = try plan(selected: selected, forced: forced)
        if !options.stages.isEmpty, let everything = try? self.plan(selected: Set(manifest.stages.map(\.name)), forced: false) {
            let staleUpstream = Set(everything.filter { $0.freshness != .fresh }.map(\.declaration.name))
            for stage in plan {
                for parent in stage.declaration.after where !selected.contains(parent) && staleUpstream.contains(parent) {
                    reporter.warning("\(stage.declaration.name): upstream '\(parent)' is stale; using its outputs on disk as they are")
                }
            }
        }
        if options.dryRun {
            for stage in plan { reporter.info(describe(stage, dryRun: true)) }
            return RunSummary(results: plan.map { ($0.declaration.name, .skipped) }, seconds: 0)
        }

        do { try directory.claim() } catch let error as RunDirectoryError {
            let location = manifest.runDirectoryLine.map { "\(manifest.file.path):\($0)" } ?? manifest.file.path
            throw PlanError(description: "\(location): run_dir: \(error.description)")
        }
        // A whole run holds the run directory alone; a run of named stages shares it with other such runs.
        let named = options.stages.isEmpty ? nil : options.stages
        let lock = try RunLock(directory.lockURL, shared: named != nil)
        defer { lock.release() }
        // A shard's task locks its part alone, so that the parts of one stage run side by side.
        let lockNames = (named ?? []).map { Self.workName($0, shard: options.shard) }
        let stageLocks = try lockNames.map { try RunLock(directory.stageLockURL($0)) }
        defer { for stageLock in stageLocks { stageLock.release() } }
        directory.removeLeftoverStaging(of: named == nil ? nil : lockNames)
        reporter.attachLog(directory.logURL)
        defer { reporter.detachLog() }
        let reporter = self.reporter, name = manifest.name
        let stopper = StopSignals.install { signal in
            reporter.error("run \(name) stopped by \(signal): the stages in progress keep their previous outputs; the next run redoes them")
            reporter.detachLog()
            lock.release()
        }
        defer { stopper.cancel() }
        if let previous = lock.takenOverFrom { reporter.warning("took over a stale lock left by a run that is gone (\(previous))") }
        reporter.info("run \(manifest.name) started: \(manifest.file.path), pid \(getpid()), jobs \(options.jobs)")
        let results = execute(plan, jobs: max(1, options.jobs), shard: options.shard, join: options.join)
        let summary = RunSummary(results: results, seconds: Date().timeIntervalSince(start))
        let ran = results.filter {
            if case .ran = $0.result { return true }; return false
        }.count
        let skipped = results.filter { $0.result == .skipped }.count
        let failed = results.count - ran - skipped
        let peak = max(peaks.withLock { $0 }, PeakMemory.megabytes() ?? 0)
        reporter.info(
            String(
                format:
                    "run \(manifest.name) finished in %.1fs: \(ran) ran, \(skipped) skipped, \(failed) failed or blocked; exit \(summary.exitCode); peak memory %.0f MB (medad itself, not its decoder workers); outputs in \(directory.root.path)",
                summary.seconds, peak))
        return summary
    }

    /// The name of a stage's work for locks and staging folders: the stage, or the stage and its part ("ingest~2-of-4").
    static func workName(_ stage: String, shard: Shard?) -> String { shard.map { "\(stage)~\($0.folderName)" } ?? stage }

    func describe(_ stage: PlannedStage, dryRun: Bool) -> String {
        let name = stage.declaration.name
        let verb = dryRun ? "would run" : "running"
        switch stage.freshness {
        case .fresh where stage.forced: return "\(name): \(verb) (forced)"
        case .fresh:
            let when = directory.record(name).map { " since \(ISO8601DateFormatter().string(from: $0.finished))" } ?? ""
            return "\(name): skipped, fresh (fingerprint \(stage.fingerprint.prefix(12)) unchanged\(when))"
        case .stale(let reason): return "\(name): \(verb) (\(reason))"
        case .missing: return "\(name): \(verb) (no previous outputs)"
        }
    }

    /// Runs the planned stages as a DAG on Dispatch. Returns results in plan order.
    func execute(_ plan: [PlannedStage], jobs: Int, shard: Shard? = nil, join: Int? = nil) -> [(stage: String, result: StageResult)] {
        let limiter = DispatchSemaphore(value: jobs)
        let finishedSignal = DispatchSemaphore(value: 0)
        // Written by the stages' threads as they finish; `launched` and `running` belong to this loop alone.
        let results = Mutex<[String: StageResult]>([:])
        var launched = Set<String>()
        let inPlan = Set(plan.map(\.declaration.name))
        // The running stage that uses every core: others of its sort wait until it is done (they would only slow
        // each other, and so each one's peak memory is its own). They wait here, unlaunched: a stage blocked on a
        // Dispatch thread would leave concurrentPerform in the running one without a worker (Linux's libdispatch
        // cannot see blocked threads), and it then ran on one core.
        var exclusive: String?

        for stage in plan where !stage.willRun {
            reporter.info(describe(stage, dryRun: false))
            results.withLock { $0[stage.declaration.name] = .skipped }
        }
        var running = 0
        while true {
            var toLaunch: [PlannedStage] = []
            results.withLock { results in
                if let name = exclusive, results[name] != nil { exclusive = nil }
                for stage in plan where results[stage.declaration.name] == nil && !launched.contains(stage.declaration.name) {
                    let parents = stage.declaration.after.filter(inPlan.contains)
                    if let bad = parents.first(where: { p in
                        switch results[p] {
                        case .failed?, .blocked?: return true;
                        default: return false
                        }
                    }) {
                        results[stage.declaration.name] = .blocked(by: bad)
                        reporter.error("\(stage.declaration.name): not run, because '\(bad)' did not finish")
                        continue
                    }
                    if parents.allSatisfy({ results[$0] != nil }) {
                        if registry.kinds[stage.declaration.kind]!.usesEveryCore {
                            if exclusive != nil { continue }
                            exclusive = stage.declaration.name
                        }
                        launched.insert(stage.declaration.name)
                        toLaunch.append(stage)
                    }
                }
            }
            running += toLaunch.count
            if running == 0 { break }
            for stage in toLaunch {
                DispatchQueue.global().async {
                    let result = self.runStage(stage, limiter: limiter, jobs: jobs, shard: shard, join: join)
                    results.withLock { $0[stage.declaration.name] = result }
                    finishedSignal.signal()
                }
            }
            finishedSignal.wait()
            running -= 1
        }
        let final = results.withLock { $0 }
        return plan.map { ($0.declaration.name, final[$0.declaration.name] ?? .blocked(by: "?")) }
    }

    func runStage(_ planned: PlannedStage, limiter: DispatchSemaphore, jobs: Int, shard: Shard? = nil, join: Int? = nil) -> StageResult {
        let declaration = planned.declaration
        let name = declaration.name
        let kind = registry.kinds[declaration.kind]!
        reporter.info(describe(planned, dryRun: false))
        reporter.stageStarted(name)
        defer { reporter.stageEnded(name) }
        let started = Date()
        var staging: URL?
        do {
            let stage = try kind.init(parameters: declaration.parameters)
            staging = try directory.makeStaging(Self.workName(name, shard: shard))
            let cache = directory.cacheDirectory(name)
            try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
            let previous = directory.stageDirectory(name)
            let previousFolder = FileManager.default.fileExists(atPath: previous.path) ? previous : nil
            // Rows are reused item by item only from outputs this medad version wrote (0.5.0 changed the content and
            // pixel hashes from XXH64 to XXH3: an older row's hash would not be comparable with a new one's).
            let sameVersion = directory.record(name).map { $0.medadVersion == medadVersion } ?? true
            var reusable = sameVersion ? [previousFolder].compactMap { $0 } : []
            if let count = join {
                let parts = directory.parts(name, fingerprint: planned.fingerprint, count: count)
                guard parts.missing.isEmpty else {
                    throw StageFailure(
                        "cannot join \(count) parts: no committed part for shard \(parts.missing.map(\.description).joined(separator: ", ")) (failed or never ran); run each with --stage \(name) --shard i/\(count)"
                    )
                }
                reusable += parts.present
            }
            let context = StageContext(
                name: name, outputDirectory: staging!,
                previousOutputDirectory: previousFolder, reusableOutputDirectories: reusable, shard: shard,
                cacheDirectory: cache, runDirectory: directory.root,
                upstream: Dictionary(uniqueKeysWithValues: declaration.after.map { ($0, directory.stageDirectory($0)) }),
                upstreamKinds: Dictionary(uniqueKeysWithValues: declaration.after.map { ($0, manifest.stage($0)!.kind) }),
                upstreamOrder: declaration.after, reporter: reporter, limiter: limiter, jobs: jobs)
            if kind.usesEveryCore, let before = PeakMemory.megabytes() { peaks.withLock { $0 = max($0, before) } }
            let measured = kind.usesEveryCore && PeakMemory.reset()
            let outcome = try stage.run(in: context)
            let peak = measured ? PeakMemory.megabytes().map { ($0 * 10).rounded() / 10 } : nil
            let errors = context.recordedErrors
            try context.writeCSV("errors.csv", header: ["item", "stage", "reason"], rows: errors.map { [$0.item, name, $0.reason] })
            let finished = Date()
            let record = StageRecord(
                stage: name, kind: declaration.kind, fingerprint: planned.fingerprint,
                parameters: declaration.parameters.values, upstream: planned.upstream, inputFiles: planned.inputCount,
                started: started, finished: finished, seconds: (finished.timeIntervalSince(started) * 1000).rounded() / 1000,
                items: outcome.items, rows: outcome.rows, errors: errors.count, maxFailures: declaration.maxFailures,
                medadVersion: medadVersion, peakMemoryMB: peak)
            try AtomicFile.write(try record.encoded(), to: staging!.appendingPathComponent("stage.json"))
            if let shard {
                try directory.commitPart(staging: staging!, stage: name, fingerprint: planned.fingerprint, shard: shard)
                reporter.info(
                    String(
                        format: "\(name): shard \(shard) finished in %.1fs: \(outcome.rows) rows, \(errors.count) errors", record.seconds))
                return .ran(rows: outcome.rows, errors: errors.count, exceeded: false)
            }
            try directory.commit(staging: staging!, stage: name)
            // The joined parts are in the stage now (normalize's PNGs as hard links): their folder goes.
            if join != nil { try? FileManager.default.removeItem(at: directory.shardsDirectory(name)) }
            var line = String(format: "\(name): finished in %.1fs: \(outcome.rows) rows, \(errors.count) errors", record.seconds)
            if record.exceededMaxFailures { line += " (more than max_failures \(declaration.maxFailures!))" }
            if errors.isEmpty {
                reporter.info(line)
            } else {
                reporter.warning(line + "; see \(directory.stageDirectory(name).appendingPathComponent("errors.csv").path)")
            }
            return .ran(rows: outcome.rows, errors: errors.count, exceeded: record.exceededMaxFailures)
        } catch {
            if let staging { try? FileManager.default.removeItem(at: staging) }
            let message = FileProblem.describe(error)
            reporter.error("\(name): failed: \(message); its previous outputs are kept")
            return .failed(message)
        }
    }
}
