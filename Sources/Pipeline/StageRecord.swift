// stage.json: a stage's lock-file entry — its fingerprint, parameters, timing and counts.
import Foundation

public struct StageRecord: Codable, Equatable, Sendable {
    public var stage: String
    public var kind: String
    public var fingerprint: String
    public var parameters: [String: ParameterValue]
    /// Fingerprints of the upstream outputs it read, by stage name.
    public var upstream: [String: String]
    public var inputFiles: Int
    public var started: Date
    public var finished: Date
    public var seconds: Double
    public var items: Int
    public var rows: Int
    public var errors: Int
    public var maxFailures: Int?
    public var medadVersion: String
    /// The process's peak resident memory while the stage ran (MiB), for stages that run alone (usesEveryCore).
    public var peakMemoryMB: Double?

    enum CodingKeys: String, CodingKey {
        case stage, kind, fingerprint, parameters, upstream, started, finished, seconds, items, rows, errors
        case inputFiles = "input_files"
        case maxFailures = "max_failures"
        case medadVersion = "medad_version"
        case peakMemoryMB = "peak_memory_mb"
    }

    /// More items failed than the manifest allows.
    public var exceededMaxFailures: Bool { maxFailures.map { errors > $0 } ?? false }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        e.dateEncodingStrategy = .iso8601
        return e
    }()

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }()

    public func encoded() throws -> Data { try Self.encoder.encode(self) + Data("\n".utf8) }

    public static func read(_ url: URL) -> StageRecord? {
        guard let data = try? Data(contentsOf: url) else { return nil }
        return try? decoder.decode(StageRecord.self, from: data)
    }
}
