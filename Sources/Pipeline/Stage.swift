// The one protocol through which the pipeline knows a stage kind, and the context a stage runs in.
import Foundation
import Synchronization

/// A stage kind: its parameters, the external files it reads, and its work.
/// A new kind is one type conforming to this protocol plus one line in the registry.
public protocol Stage {
    static var kind: String { get }
    /// One line for `medad validate` and the README.
    static var summary: String { get }
    static var parameters: [ParameterSpec] { get }
    /// Whether the stage's work is one independent piece per item, done through `forEachItem`, with the results of
    /// earlier outputs reused item by item (`reusableOutputDirectories`): then `--shard i/N` runs a part of it and
    /// `--join N` assembles the parts (Shard.swift).
    static var shardable: Bool { get }
    /// Whether the stage reads every cell of a sweep (`matrix`) at once (aggregate, shift) rather than being copied
    /// per cell like the stages after a swept one (Matrix.swift).
    static var gathersCells: Bool { get }
    /// Whether the stage keeps every core busy by itself (training, scoring: OpenBLAS products over the threads).
    /// Such stages run one at a time, never beside each other, and record their own peak memory in stage.json.
    static var usesEveryCore: Bool { get }

    /// Checks values beyond their types; throws ParameterError naming the parameter.
    init(parameters: Parameters) throws

    /// Files outside the run directory that the stage reads; their identities enter the fingerprint.
    func inputFiles() throws -> [URL]

    /// Anything else whose change must re-run the stage and that is neither a parameter nor a file
    /// (for example the identity of a secret given through the environment). Never the secret itself.
    func fingerprintSalt() throws -> String

    /// Does the work, writing only into `context.outputDirectory`. Item failures go to
    /// `context.recordError`; a thrown error fails the whole stage and keeps its previous outputs.
    func run(in context: StageContext) throws -> StageOutcome
}

extension Stage {
    public static var usesEveryCore: Bool { false }
    public static var shardable: Bool { false }
    public static var gathersCells: Bool { false }
    public func inputFiles() throws -> [URL] { [] }
    public func fingerprintSalt() throws -> String { "" }
}

/// What a finished stage reports; the runner adds the error count.
public struct StageOutcome: Sendable {
    /// Rows written to `<stage>.csv`.
    public var rows: Int
    /// Items processed (rows plus failures, typically).
    public var items: Int
    public init(rows: Int, items: Int) {
        self.rows = rows
        self.items = items
    }
}

/// The stage kinds a manifest may name.
public struct StageRegistry: @unchecked Sendable {  // holds only metatypes
    public let kinds: [String: any Stage.Type]
    public init(_ types: [any Stage.Type]) {
        kinds = Dictionary(uniqueKeysWithValues: types.map { ($0.kind, $0) })
    }
}

/// A stage's failure to do its work at all (not one item's).
public struct StageFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Everything a running stage may touch.
public final class StageContext: Sendable {
    public let name: String
    /// Where the stage writes; it becomes `<run>/<stage>/` atomically when the stage succeeds.
    public let outputDirectory: URL
    /// The stage's outputs from its last successful run, if any (read-only; for incremental work).
    public let previousOutputDirectory: URL?
    /// Folders whose per-item results may be reused (read-only): the last successful run's, then, when the stage
    /// is assembled from shard parts (`--join`), every part's.
    public let reusableOutputDirectories: [URL]
    /// The part of the items this run does (`--shard i/N`); nil: all of them.
    public let shard: Shard?
    /// Kept across runs and kills: resumable work (checkpoints, caches). The stage owns its layout.
    public let cacheDirectory: URL
    /// The run directory itself (for files shared across stages and runs, such as a generated secret).
    public let runDirectory: URL
    /// Committed output folders of the stages this one comes after, by stage name.
    public let upstream: [String: URL]
    /// Upstream stage kinds, by stage name.
    public let upstreamKinds: [String: String]
    /// Upstream stage names in the order of the manifest's `after`.
    public let upstreamOrder: [String]

    let reporter: Reporter
    let limiter: DispatchSemaphore
    let jobs: Int
    /// Failed items and the progress counts, shared by the item workers.
    private let state = Mutex((errors: [(item: String, reason: String)](), done: 0, total: 0))

    init(
        name: String, outputDirectory: URL, previousOutputDirectory: URL?, reusableOutputDirectories: [URL]? = nil, shard: Shard? = nil,
        cacheDirectory: URL, runDirectory: URL,
        upstream: [String: URL], upstreamKinds: [String: String], upstreamOrder: [String], reporter: Reporter,
        limiter: DispatchSemaphore, jobs: Int
    ) {
        self.name = name
        self.outputDirectory = outputDirectory
        self.previousOutputDirectory = previousOutputDirectory
        self.reusableOutputDirectories = reusableOutputDirectories ?? [previousOutputDirectory].compactMap { $0 }
        self.shard = shard
        self.cacheDirectory = cacheDirectory
        self.runDirectory = runDirectory
        self.upstream = upstream
        self.upstreamKinds = upstreamKinds
        self.upstreamOrder = upstreamOrder
        self.reporter = reporter
        self.limiter = limiter
        self.jobs = jobs
    }

    /// The committed output folder of the single upstream stage of `kind`.
    public func upstream(ofKind kind: String) throws -> URL {
        let matches = upstreamKinds.filter { $0.value == kind }.map(\.key).sorted()
        guard matches.count == 1, let url = upstream[matches[0]] else {
            throw StageFailure("stage '\(name)' needs exactly one upstream stage of kind '\(kind)' in its 'after', found \(matches.count)")
        }
        return url
    }

    /// The upstream stages of `kind` (at least one), by name and committed output folder, in `after` order.
    public func upstreams(ofKind kind: String) throws -> [(name: String, folder: URL)] {
        let matches = upstreamOrder.filter { upstreamKinds[$0] == kind }.compactMap { name in upstream[name].map { (name, $0) } }
        guard !matches.isEmpty else {
            throw StageFailure("stage '\(name)' needs at least one upstream stage of kind '\(kind)' in its 'after'")
        }
        return matches
    }

    /// Records one failed item; the stage goes on.
    public func recordError(item: String, reason: String) {
        state.withLock { $0.errors.append((item, reason)) }
        reporter.itemFailed(stage: name, item: item, reason: reason)
    }

    var recordedErrors: [(item: String, reason: String)] {
        state.withLock { $0.errors }.sorted { ($0.item, $0.reason) < ($1.item, $1.reason) }
    }

    /// Processes items concurrently (bounded by `--jobs` across all running stages) and returns
    /// the results in item order; an item whose body throws is recorded in errors.csv and yields nil. In a shard run,
    /// only the shard's items are processed; the others yield nil and are no error.
    public func forEachItem<Item, Result>(
        _ items: [Item], id: (Item) -> String,
        _ body: (Item) throws -> Result
    ) -> [Result?] {
        guard let shard, shard.count > 1 else { return processItems(items, id: id, body) }
        let owned = items.indices.filter { shard.owns(id(items[$0])) }
        let results = processItems(owned.map { items[$0] }, id: id, body)
        var all = [Result?](repeating: nil, count: items.count)
        for (k, index) in owned.enumerated() { all[index] = results[k] }
        return all
    }

    private func processItems<Item, Result>(
        _ items: [Item], id: (Item) -> String,
        _ body: (Item) throws -> Result
    ) -> [Result?] {
        let (done, total) = state.withLock { state in
            state.total += items.count
            return (state.done, state.total)
        }
        reporter.progress(stage: name, done: done, total: total)
        // The workers take indices from one counter and write disjoint slots; concurrentPerform returns only when
        // all are done, so the items, closures and slots are never touched after this call or by two workers.
        nonisolated(unsafe) let (items, id, body) = (items, id, body)
        nonisolated(unsafe) let slots = UnsafeMutableBufferPointer<Result?>.allocate(capacity: items.count)
        slots.initialize(repeating: nil)
        defer {
            _ = slots.deinitialize()
            slots.deallocate()
        }
        let nextIndex = Mutex(0)
        let workers = max(1, min(jobs, items.count))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let index = nextIndex.withLock { next in
                    defer { next += 1 }
                    return next
                }
                guard index < items.count else { return }
                limiter.wait()
                let item = items[index]
                var result: Result?
                do { result = try body(item) } catch {
                    recordError(item: id(item), reason: FileProblem.describe(error))
                }
                limiter.signal()
                slots[index] = result
                let (d, t) = state.withLock { state in
                    state.done += 1
                    return (state.done, state.total)
                }
                reporter.progress(stage: name, done: d, total: t)
            }
        }
        return Array(slots)
    }

    /// Writes `<outputDirectory>/<file>` as CSV.
    public func writeCSV(_ file: String, header: [String], rows: [[String]]) throws {
        try CSV.write(outputDirectory.appendingPathComponent(file), header: header, rows: rows)
    }

    /// Writes a stage table of typed rows into the output folder.
    public func writeCSV<R: CSVRecord>(_ file: String, records: [R]) throws {
        try CSV.write(outputDirectory.appendingPathComponent(file), records: records)
    }

    /// Progress of work that is not a list of items (epochs, batches): drawn on a terminal like forEachItem's.
    public func progress(done: Int, total: Int) { reporter.progress(stage: name, done: done, total: total) }

    public func log(_ message: String) { reporter.info("\(name): \(message)") }
    public func warn(_ message: String) { reporter.warning("\(name): \(message)") }
}
