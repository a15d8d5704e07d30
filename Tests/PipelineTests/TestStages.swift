// Stage kinds that exist only for the runner's tests: they sleep, fail, or emit items.
import Foundation

@testable import Pipeline

/// Start and end times of test stages, to check ordering and overlap.
final class Timeline: @unchecked Sendable {
    static let shared = Timeline()
    private let lock = NSLock()
    private var events: [(stage: String, start: Date, end: Date)] = []
    func record(_ stage: String, _ start: Date, _ end: Date) { lock.lock(); events.append((stage, start, end)); lock.unlock() }
    func reset() { lock.lock(); events = []; lock.unlock() }
    func span(_ stage: String) -> (start: Date, end: Date)? {
        lock.lock(); defer { lock.unlock() }
        return events.last { $0.stage == stage }.map { ($0.start, $0.end) }
    }
    var count: Int { lock.lock(); defer { lock.unlock() }; return events.count }
}

/// Sleeps, then writes one row naming its upstreams' row counts.
struct SleepStage: Stage {
    static let kind = "sleep"
    static let summary = "test: sleeps"
    static let parameters = [
        ParameterSpec("ms", .int(0...60_000), default: .int(0), help: "milliseconds"),
        ParameterSpec("label", .string, default: .string(""), help: "free text"),
        ParameterSpec("fail", .bool, default: .bool(false), help: "throw instead of finishing"),
        ParameterSpec("input", .path, default: nil, help: "a file whose identity enters the fingerprint"),
    ]
    let ms: Int, fail: Bool, input: URL
    init(parameters: Parameters) throws {
        ms = parameters.int("ms")
        fail = parameters.bool("fail")
        input = parameters.url("input")
        if parameters.string("label") == "reject" { throw ParameterError(key: "label", "rejected on purpose") }
    }
    func inputFiles() throws -> [URL] { [input] }
    func run(in context: StageContext) throws -> StageOutcome {
        let start = Date()
        Thread.sleep(forTimeInterval: Double(ms) / 1000)
        Timeline.shared.record(context.name, start, Date())
        if fail { throw StageFailure("failing on purpose") }
        let upstreamRows = try context.upstream.keys.sorted().map { name -> String in
            let (_, rows) = try CSV.read(context.upstream[name]!.appendingPathComponent("\(name).csv"))
            return "\(name)=\(rows.count)"
        }
        try context.writeCSV(
            "\(context.name).csv", header: ["stage", "upstream"],
            rows: [[context.name, upstreamRows.joined(separator: ";")]])
        return StageOutcome(rows: 1, items: 1)
    }
}

/// Processes `count` items in parallel; every item whose number is a multiple of `fail_every` fails.
struct ItemsStage: Stage {
    static let kind = "items"
    static let summary = "test: items"
    static let parameters = [
        ParameterSpec("count", .int(0...100_000), default: .int(10), help: "items"),
        ParameterSpec("fail_every", .int(0...100_000), default: .int(0), help: "0 for none"),
    ]
    let count: Int, failEvery: Int
    init(parameters: Parameters) throws {
        count = parameters.int("count")
        failEvery = parameters.int("fail_every")
    }
    func run(in context: StageContext) throws -> StageOutcome {
        let results = context.forEachItem((0..<count).map { $0 + 1 }, id: { "item \($0)" }) { n -> [String] in
            if failEvery > 0 && n % failEvery == 0 { throw StageFailure("item \(n) is a multiple of \(failEvery)") }
            return [String(n), String(n * n)]
        }
        let rows = results.compactMap { $0 }
        try context.writeCSV("\(context.name).csv", header: ["n", "square"], rows: rows)
        return StageOutcome(rows: rows.count, items: count)
    }
}

let testRegistry = StageRegistry([SleepStage.self, ItemsStage.self])
