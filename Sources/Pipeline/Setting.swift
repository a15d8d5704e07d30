// Typed settings: a stage's parameters bound to the fields of its settings struct. Each binding owns the name,
// the range, the help and the field it fills; the default is the struct's own (read from a default instance),
// so no default is written twice, and code never reads a parameter by its name (a misspelt name in a manifest
// fails validation against the bindings; there is none in code to misspell).
import Foundation

public struct Setting<Root>: Sendable {
    public let name: String
    let type: ParameterType
    let help: String
    /// Given only when the manifest gives it (its field keeps the struct's default otherwise); the default is
    /// then named in the help, not written into the stage's parameters.
    public let isOptional: Bool
    let value: @Sendable (Root) -> ParameterValue
    let assign: @Sendable (inout Root, ParameterValue) -> Void

    /// Given-only settings whose field has a default of its own name it in the help.
    let namesDefault: Bool

    init(
        name: String, type: ParameterType, help: String, isOptional: Bool, namesDefault: Bool? = nil,
        value: @escaping @Sendable (Root) -> ParameterValue, assign: @escaping @Sendable (inout Root, ParameterValue) -> Void
    ) {
        (self.name, self.type, self.help, self.isOptional, self.value, self.assign) = (name, type, help, isOptional, value, assign)
        self.namesDefault = namesDefault ?? isOptional
    }

    /// The ParameterSpec a manifest is validated against, its default taken from `defaults`.
    public func spec(defaults: Root) -> ParameterSpec {
        guard isOptional else { return ParameterSpec(name, type, default: value(defaults), help: help) }
        return ParameterSpec(name, type, optional: namesDefault ? "\(help) (default \(Self.text(value(defaults))))" : help)
    }

    static func text(_ value: ParameterValue) -> String {
        switch value {
        case .int(let v): return String(v)
        case .double(let v): return String(v)
        case .bool(let v): return String(v)
        case .string(let v): return v
        case .strings(let v): return v.joined(separator: ", ")
        case .numbers(let v): return v.map { $0 == $0.rounded() && abs($0) < 1e15 ? String(Int($0)) : String($0) }.joined(separator: ", ")
        }
    }

    public static func int(
        _ name: String, _ field: WritableKeyPath<Root, Int> & Sendable, _ range: ClosedRange<Int>, optional: Bool = false, _ help: String
    ) -> Setting {
        Setting(
            name: name, type: .int(range), help: help, isOptional: optional, value: { .int($0[keyPath: field]) },
            assign: { root, value in if case .int(let v) = value { root[keyPath: field] = v } })
    }

    /// A seed: an integer in the manifest, UInt64 in the settings.
    public static func seed(_ name: String, _ field: WritableKeyPath<Root, UInt64> & Sendable, _ help: String) -> Setting {
        Setting(
            name: name, type: .int(0...Int(Int32.max)), help: help, isOptional: false, value: { .int(Int($0[keyPath: field])) },
            assign: { root, value in if case .int(let v) = value { root[keyPath: field] = UInt64(v) } })
    }

    /// A Float field; its default enters the parameters as the Float's shortest decimal (5e-4, not 0.000500000024).
    public static func float(
        _ name: String, _ field: WritableKeyPath<Root, Float> & Sendable, _ range: ClosedRange<Double>, optional: Bool = false,
        _ help: String
    ) -> Setting {
        Setting(
            name: name, type: .double(range), help: help, isOptional: optional, value: { .double(Double("\($0[keyPath: field])")!) },
            assign: { root, value in root[keyPath: field] = Float(Self.number(value)) })
    }

    public static func double(
        _ name: String, _ field: WritableKeyPath<Root, Double> & Sendable, _ range: ClosedRange<Double>, optional: Bool = false,
        _ help: String
    ) -> Setting {
        Setting(
            name: name, type: .double(range), help: help, isOptional: optional, value: { .double($0[keyPath: field]) },
            assign: { root, value in root[keyPath: field] = Self.number(value) })
    }

    public static func string(_ name: String, _ field: WritableKeyPath<Root, String> & Sendable, _ help: String) -> Setting {
        Setting(
            name: name, type: .string, help: help, isOptional: false, value: { .string($0[keyPath: field]) },
            assign: { root, value in if case .string(let v) = value { root[keyPath: field] = v } })
    }

    /// One of `words`, stored as the word.
    public static func choice(
        _ name: String, _ field: WritableKeyPath<Root, String> & Sendable, _ words: [String], optional: Bool = false, _ help: String
    ) -> Setting {
        Setting(
            name: name, type: .choice(words), help: help, isOptional: optional, value: { .string($0[keyPath: field]) },
            assign: { root, value in if case .string(let v) = value { root[keyPath: field] = v } })
    }

    /// One of an enumeration's raw values.
    public static func choice<Value: RawRepresentable & CaseIterable & SendableMetatype>(
        _ name: String, _ field: WritableKeyPath<Root, Value> & Sendable, _ help: String
    ) -> Setting where Value.RawValue == String {
        Setting(
            name: name, type: .choice(Value.allCases.map(\.rawValue)), help: help, isOptional: false,
            value: { .string($0[keyPath: field].rawValue) },
            assign: { root, value in if case .string(let v) = value, let parsed = Value(rawValue: v) { root[keyPath: field] = parsed } })
    }

    public static func bool(
        _ name: String, _ field: WritableKeyPath<Root, Bool> & Sendable, optional: Bool = false, _ help: String
    ) -> Setting {
        Setting(
            name: name, type: .bool, help: help, isOptional: optional, value: { .bool($0[keyPath: field]) },
            assign: { root, value in if case .bool(let v) = value { root[keyPath: field] = v } })
    }

    /// A list of words, each one of `allowed` when given.
    public static func strings(
        _ name: String, _ field: WritableKeyPath<Root, [String]> & Sendable, allowed: [String]? = nil, _ help: String
    ) -> Setting {
        Setting(
            name: name, type: .strings(allowed: allowed), help: help, isOptional: false, value: { .strings($0[keyPath: field]) },
            assign: { root, value in if case .strings(let v) = value { root[keyPath: field] = v } })
    }

    /// A list of numbers, each in `range`.
    public static func numbers(
        _ name: String, _ field: WritableKeyPath<Root, [Double]> & Sendable, _ range: ClosedRange<Double>, optional: Bool = false,
        _ help: String
    ) -> Setting {
        Setting(
            name: name, type: .numbers(range, integers: false), help: help, isOptional: optional, value: { .numbers($0[keyPath: field]) },
            assign: { root, value in if case .numbers(let v) = value { root[keyPath: field] = v } })
    }

    /// A list of whole numbers, each in `range`.
    public static func integers(
        _ name: String, _ field: WritableKeyPath<Root, [Int]> & Sendable, _ range: ClosedRange<Int>, optional: Bool = false,
        _ help: String
    ) -> Setting {
        Setting(
            name: name, type: .numbers(Double(range.lowerBound)...Double(range.upperBound), integers: true), help: help,
            isOptional: optional, value: { .numbers($0[keyPath: field].map(Double.init)) },
            assign: { root, value in if case .numbers(let v) = value { root[keyPath: field] = v.map { Int($0) } } })
    }

    /// Absent unless the manifest gives it (nil, then); `type` a number, string, choice, list or path kind.
    public static func optional<Value>(
        _ name: String, _ field: WritableKeyPath<Root, Value?> & Sendable, _ type: ParameterType, _ help: String,
        from parse: @escaping @Sendable (ParameterValue) -> Value?
    ) -> Setting {
        Setting(
            name: name, type: type, help: help, isOptional: true, namesDefault: false, value: { _ in .string("") },
            assign: { root, value in root[keyPath: field] = parse(value) })
    }

    public static func optionalInt(
        _ name: String, _ field: WritableKeyPath<Root, Int?> & Sendable, _ range: ClosedRange<Int>, _ help: String
    ) -> Setting {
        optional(name, field, .int(range), help) { if case .int(let v) = $0 { v } else { nil } }
    }

    public static func optionalDouble(
        _ name: String, _ field: WritableKeyPath<Root, Double?> & Sendable, _ range: ClosedRange<Double>?, _ help: String
    ) -> Setting {
        optional(name, field, .double(range), help) { number($0) }
    }

    public static func optionalFloat(
        _ name: String, _ field: WritableKeyPath<Root, Float?> & Sendable, _ range: ClosedRange<Double>, _ help: String
    ) -> Setting {
        optional(name, field, .double(range), help) { Float(number($0)) }
    }

    public static func optionalString(
        _ name: String, _ field: WritableKeyPath<Root, String?> & Sendable, _ help: String, type: ParameterType = .string
    ) -> Setting {
        optional(name, field, type, help) { if case .string(let v) = $0 { v } else { nil } }
    }

    public static func optionalStrings(_ name: String, _ field: WritableKeyPath<Root, [String]?> & Sendable, _ help: String) -> Setting {
        optional(name, field, .strings(allowed: nil), help) { if case .strings(let v) = $0 { v } else { nil } }
    }

    /// A file or folder; the manifest resolves it against its own folder.
    public static func path(_ name: String, _ field: WritableKeyPath<Root, URL?> & Sendable, _ help: String) -> Setting {
        optional(name, field, .path, help) { if case .string(let v) = $0 { URL(fileURLWithPath: v) } else { nil } }
    }

    public static func paths(_ name: String, _ field: WritableKeyPath<Root, [URL]?> & Sendable, _ help: String) -> Setting {
        optional(name, field, .paths, help) { if case .strings(let v) = $0 { v.map { URL(fileURLWithPath: $0) } } else { nil } }
    }

    static func number(_ value: ParameterValue) -> Double {
        switch value {
        case .double(let v): return v
        case .int(let v): return Double(v)
        default: return .nan
        }
    }
}

extension Array {
    /// The parameters a stage kind declares, defaults from `defaults`.
    public func specs<Root>(defaults: Root) -> [ParameterSpec] where Element == Setting<Root> { map { $0.spec(defaults: defaults) } }

    /// Settings from validated parameters: `defaults` with every given value written into its field.
    public func apply<Root>(_ parameters: Parameters, to defaults: Root) -> Root where Element == Setting<Root> {
        var root = defaults
        for setting in self { if let value = parameters.values[setting.name] { setting.assign(&root, value) } }
        return root
    }
}
