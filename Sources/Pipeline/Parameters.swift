// Typed stage parameters: what a stage kind declares, and the validated values a manifest gives it.
import Foundation

public enum ParameterType: Equatable, Sendable {
    case int(ClosedRange<Int>?)
    case double(ClosedRange<Double>?)
    case bool
    case string
    /// A file or folder path; relative paths resolve against the manifest's folder.
    case path
    /// One of a fixed set of words.
    case choice([String])
    /// A list of words, each optionally restricted to a fixed set.
    case strings(allowed: [String]?)
    /// A list of file or folder paths, resolved as `path` is.
    case paths
    /// A non-empty list of numbers, each in the range (whole numbers only when `integers`).
    case numbers(ClosedRange<Double>, integers: Bool)

    var noun: String {
        switch self {
        case .int(let range): return range.map { "an integer in \($0.lowerBound)…\($0.upperBound)" } ?? "an integer"
        case .double(let range): return range.map { "a number in \($0.lowerBound)…\($0.upperBound)" } ?? "a number"
        case .bool: return "true or false"
        case .string: return "a string"
        case .path: return "a path"
        case .choice(let words): return "one of " + words.joined(separator: ", ")
        case .strings(let allowed): return allowed.map { "a list of: " + $0.joined(separator: ", ") } ?? "a list of strings"
        case .paths: return "a list of paths"
        case .numbers(let range, let integers):
            return integers
                ? "a list of integers in \(Int(range.lowerBound))…\(Int(range.upperBound))"
                : "a list of numbers in \(range.lowerBound)…\(range.upperBound)"
        }
    }
}

public enum ParameterValue: Equatable, Sendable, Codable {
    case int(Int)
    case double(Double)
    case bool(Bool)
    case string(String)
    case strings([String])
    case numbers([Double])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let v = try? container.decode(Bool.self) {
            self = .bool(v)
        } else if let v = try? container.decode(Int.self) {
            self = .int(v)
        } else if let v = try? container.decode(Double.self) {
            self = .double(v)
        } else if let v = try? container.decode(String.self) {
            self = .string(v)
        } else if let v = try? container.decode([Double].self) {
            self = .numbers(v)
        } else {
            self = .strings(try container.decode([String].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .int(let v): try container.encode(v)
        case .double(let v): try container.encode(v)
        case .bool(let v): try container.encode(v)
        case .string(let v): try container.encode(v)
        case .strings(let v): try container.encode(v)
        case .numbers(let v): try container.encode(v)
        }
    }
}

/// One parameter a stage kind accepts. A nil default makes it required, unless it is optional.
public struct ParameterSpec: Sendable {
    public let name: String
    public let type: ParameterType
    public let defaultValue: ParameterValue?
    /// Absent unless the manifest gives it (for example a window that otherwise comes from the header).
    public let isOptional: Bool
    public let help: String

    public init(_ name: String, _ type: ParameterType, default defaultValue: ParameterValue?, help: String) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.isOptional = false
        self.help = help
    }

    public init(_ name: String, _ type: ParameterType, optional help: String) {
        self.name = name
        self.type = type
        self.defaultValue = nil
        self.isOptional = true
        self.help = help
    }
}

/// A stage's validated parameters, defaults filled in, paths absolute.
public struct Parameters: Sendable, Equatable {
    public let values: [String: ParameterValue]

    public init(_ values: [String: ParameterValue]) { self.values = values }

    public func int(_ name: String) -> Int {
        guard case .int(let v)? = values[name] else { preconditionFailure("parameter \(name) is not an integer") }
        return v
    }
    public func double(_ name: String) -> Double {
        switch values[name] {
        case .double(let v)?: return v
        case .int(let v)?: return Double(v)
        default: preconditionFailure("parameter \(name) is not a number")
        }
    }
    public func bool(_ name: String) -> Bool {
        guard case .bool(let v)? = values[name] else { preconditionFailure("parameter \(name) is not a bool") }
        return v
    }
    public func string(_ name: String) -> String {
        guard case .string(let v)? = values[name] else { preconditionFailure("parameter \(name) is not a string") }
        return v
    }
    public func url(_ name: String) -> URL { URL(fileURLWithPath: string(name)) }
    public func strings(_ name: String) -> [String] {
        guard case .strings(let v)? = values[name] else { preconditionFailure("parameter \(name) is not a list") }
        return v
    }
    public func has(_ name: String) -> Bool { values[name] != nil }
    public func optionalDouble(_ name: String) -> Double? { has(name) ? double(name) : nil }
    public func optionalString(_ name: String) -> String? { has(name) ? string(name) : nil }
    public func urls(_ name: String) -> [URL] { strings(name).map { URL(fileURLWithPath: $0) } }

    /// Canonical JSON (sorted keys) for fingerprints and stage.json.
    public var canonicalJSON: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(values)) ?? Data()
    }
}

/// A parameter value a stage kind rejects after type checking (for example, counts that do not add up).
public struct ParameterError: Error, CustomStringConvertible {
    public let key: String
    public let message: String
    public init(key: String, _ message: String) {
        self.key = key
        self.message = message
    }
    public var description: String { "\(key): \(message)" }
}
