// The YAML manifest: parsing and validation, with errors that name the file, line and key.
import Foundation
import Yams

/// A manifest problem, located in its file.
public struct ManifestError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let line: Int?
    public let key: String
    public let message: String

    public var description: String {
        let location = line.map { "\(file):\($0)" } ?? file
        return key.isEmpty ? "\(location): \(message)" : "\(location): \(key): \(message)"
    }
}

/// One stage as the manifest declares it.
public struct StageDeclaration: Sendable {
    public let name: String
    public let kind: String
    public let after: [String]
    public let parameters: Parameters
    /// Items that may fail before the run exits with code 3; nil means no threshold.
    public let maxFailures: Int?
    /// What the stage's job asks for on a Slurm cluster (`medad slurm submit`).
    public let slurm: SlurmResources
    /// Parts a per-item stage runs as on a Slurm cluster (a job array, then a job that joins them); 1: one job.
    public let shards: Int
    public let line: Int
}

public struct Manifest: Sendable {
    public let file: URL
    public let name: String
    public let runDirectory: URL
    /// The line of `run_dir`, when the manifest gives one.
    public let runDirectoryLine: Int?
    /// In manifest order.
    public let stages: [StageDeclaration]
    /// The sweep's cells (`matrix`); none without one.
    public var cells: [MatrixCell] = []

    public func stage(_ name: String) -> StageDeclaration? { stages.first { $0.name == name } }

    /// Loads and validates a manifest against the registry's stage kinds.
    public static func load(_ file: URL, registry: StageRegistry) throws -> Manifest {
        let text: String
        do { text = try String(contentsOf: file, encoding: .utf8) } catch {
            throw ManifestError(file: file.path, line: nil, key: "", message: "cannot read the manifest (\(error.localizedDescription))")
        }
        return try parse(text, file: file, registry: registry)
    }

    public static func parse(_ text: String, file: URL, registry: StageRegistry) throws -> Manifest {
        try ManifestParser(file: file, registry: registry).parse(text)
    }
}

private let namePattern = try! NSRegularExpression(pattern: "^[A-Za-z0-9][A-Za-z0-9_-]*$")

private func isValidName(_ s: String) -> Bool {
    namePattern.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
}

struct ManifestParser {
    let file: URL
    let registry: StageRegistry
    var folder: URL { file.deletingLastPathComponent() }

    func error(_ node: Node?, _ key: String, _ message: String) -> ManifestError {
        ManifestError(file: file.path, line: node?.mark?.line, key: key, message: message)
    }

    func mapping(_ node: Node, _ key: String) throws -> [(String, Node, Node)] {
        guard case .mapping(let map) = node else { throw error(node, key, "expected a mapping of keys to values") }
        var seen = Set<String>()
        return try map.map { pair in
            guard case .scalar(let scalar) = pair.key else { throw error(pair.key, key, "keys must be plain words") }
            let name = scalar.string
            guard seen.insert(name).inserted else { throw error(pair.key, key.isEmpty ? name : "\(key).\(name)", "duplicate key") }
            return (name, pair.key, pair.value)
        }
    }

    func scalarString(_ node: Node, _ key: String) throws -> String {
        guard case .scalar(let scalar) = node else { throw error(node, key, "expected a string") }
        return scalar.string
    }

    func parse(_ text: String) throws -> Manifest {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch let yamlError as YamlError {
            throw ManifestError(file: file.path, line: yamlLine(yamlError), key: "", message: "not valid YAML: \(yamlError)")
        }
        guard let root else { throw error(nil, "", "the manifest is empty") }
        var name: String?
        var runDir: String?
        var runDirNode: Node?
        var stagesNode: Node?
        var matrixNode: Node?
        for (key, keyNode, value) in try mapping(root, "") {
            switch key {
            case "name": name = try scalarString(value, key)
            case "run_dir": runDir = try scalarString(value, key); runDirNode = value
            case "stages": stagesNode = value
            case "matrix": matrixNode = value
            default: throw error(keyNode, key, "unknown key (expected name, run_dir, matrix, stages)")
            }
        }
        guard let name else { throw error(root, "name", "missing (the pipeline's name)") }
        guard isValidName(name) else { throw error(root, "name", "'\(name)' must be letters, digits, '_' or '-'") }
        guard let stagesNode else { throw error(root, "stages", "missing (a mapping of stage names to stages)") }
        let runDirectory = resolve(runDir ?? "runs/\(name)")
        if let problem = RunDirectory.problem(runDirectory) { throw error(runDirNode ?? root, "run_dir", problem) }

        var stages: [StageDeclaration] = []
        var explicit: [String: Set<String>] = [:]  // the parameters each stage's params sets itself
        for (stageName, keyNode, body) in try mapping(stagesNode, "stages") {
            let key = "stages.\(stageName)"
            guard isValidName(stageName) else { throw error(keyNode, key, "stage names must be letters, digits, '_' or '-'") }
            guard !RunDirectory.reservedNames.contains(stageName) else {
                throw error(
                    keyNode, key,
                    "'\(stageName)' is a folder the run directory keeps for itself (reserved: \(RunDirectory.reservedNames.sorted().joined(separator: ", ")))"
                )
            }
            stages.append(try parseStage(stageName, key: key, keyNode: keyNode, body: body))
            if let params = (try? mapping(body, key))?.first(where: { $0.0 == "params" })?.2 {
                explicit[stageName] = Set(((try? mapping(params, key)) ?? []).map(\.0))
            }
        }
        guard !stages.isEmpty else { throw error(stagesNode, "stages", "no stages") }
        try checkGraph(stages)
        var cells: [MatrixCell] = []
        if let matrixNode {
            (stages, cells) = try expand(stages, matrix: try parseMatrix(matrixNode), matrixNode: matrixNode, explicit: explicit)
        }
        return Manifest(
            file: file, name: name, runDirectory: runDirectory, runDirectoryLine: runDirNode?.mark?.line, stages: stages, cells: cells)
    }

    func parseStage(_ name: String, key: String, keyNode: Node, body: Node) throws -> StageDeclaration {
        var kind: String?
        var after: [String] = []
        var paramsNode: Node?
        var maxFailures: Int?
        var slurm = SlurmResources()
        var shards = 1
        var shardsNode: Node?
        for (field, fieldNode, value) in try mapping(body, key) {
            let fieldKey = "\(key).\(field)"
            switch field {
            case "kind": kind = try scalarString(value, fieldKey)
            case "after":
                switch value {
                case .scalar: after = [try scalarString(value, fieldKey)]
                case .sequence(let seq): after = try seq.map { try scalarString($0, fieldKey) }
                default: throw error(value, fieldKey, "expected a stage name or a list of stage names")
                }
            case "params": paramsNode = value
            case "max_failures":
                guard let n = value.int, n >= 0 else { throw error(value, fieldKey, "expected a non-negative integer") }
                maxFailures = n
            case "slurm": slurm = try parseSlurm(value, fieldKey)
            case "shards":
                guard let n = value.int, (1...10_000).contains(n) else {
                    throw error(value, fieldKey, "expected a number of parts, 1 to 10000")
                }
                (shards, shardsNode) = (n, value)
            default: throw error(fieldNode, fieldKey, "unknown key (expected kind, after, params, max_failures, slurm, shards)")
            }
        }
        guard let kind else { throw error(keyNode, "\(key).kind", "missing") }
        guard let stageType = registry.kinds[kind] else {
            let known = registry.kinds.keys.sorted().joined(separator: ", ")
            throw error(body, "\(key).kind", "unknown kind '\(kind)' (known: \(known))")
        }
        if shards > 1, !stageType.shardable {
            let kinds = registry.kinds.values.filter { $0.shardable }.map { $0.kind }.sorted().joined(separator: ", ")
            throw error(shardsNode!, "\(key).shards", "a \(kind) stage does not shard (kinds that do: \(kinds))")
        }
        let parameters = try parseParameters(paramsNode, specs: stageType.parameters, key: "\(key).params")
        do { _ = try stageType.init(parameters: parameters) } catch let e as ParameterError {
            let line =
                paramsNode.flatMap { node in
                    (try? mapping(node, ""))?.first { $0.0 == e.key }?.1.mark?.line
                } ?? body.mark?.line
            throw ManifestError(file: file.path, line: line, key: "\(key).params.\(e.key)", message: e.message)
        }
        return StageDeclaration(
            name: name, kind: kind, after: after, parameters: parameters,
            maxFailures: maxFailures, slurm: slurm, shards: shards, line: keyNode.mark?.line ?? 0)
    }

    func parseSlurm(_ node: Node, _ key: String) throws -> SlurmResources {
        var resources = SlurmResources()
        for (field, fieldNode, value) in try mapping(node, key) {
            let fieldKey = "\(key).\(field)"
            switch field {
            case "cpus":
                guard let n = value.int, n >= 1 else { throw error(value, fieldKey, "expected a positive integer") }
                resources.cpus = n
            case "memory":
                let text = try scalarString(value, fieldKey)
                if let problem = SlurmResources.memoryProblem(text) { throw error(value, fieldKey, problem) }
                resources.memory = text
            case "time":
                let text = try scalarString(value, fieldKey)
                if let problem = SlurmResources.timeProblem(text) { throw error(value, fieldKey, problem) }
                resources.time = text
            default: throw error(fieldNode, fieldKey, "unknown key (expected cpus, memory, time)")
            }
        }
        return resources
    }

    func parseParameters(_ node: Node?, specs: [ParameterSpec], key: String) throws -> Parameters {
        var values: [String: ParameterValue] = [:]
        if let node {
            for (name, nameNode, value) in try mapping(node, key) {
                guard let spec = specs.first(where: { $0.name == name }) else {
                    let known = specs.map(\.name).joined(separator: ", ")
                    throw error(nameNode, "\(key).\(name)", "unknown parameter (known: \(known))")
                }
                values[name] = try typed(value, spec.type, key: "\(key).\(name)")
            }
        }
        for spec in specs where values[spec.name] == nil {
            if spec.isOptional { continue }
            guard let value = spec.defaultValue else { throw error(node, "\(key).\(spec.name)", "missing (\(spec.help))") }
            values[spec.name] = spec.type == .path ? typedPath(value) : value
        }
        return Parameters(values)
    }

    func typedPath(_ value: ParameterValue) -> ParameterValue {
        guard case .string(let s) = value else { return value }
        return .string(resolve(s).path)
    }

    func typed(_ node: Node, _ type: ParameterType, key: String) throws -> ParameterValue {
        let wrong = { self.error(node, key, "expected \(type.noun), got \(self.describe(node))") }
        switch type {
        case .int(let range):
            guard isPlainScalar(node), let v = node.int else { throw wrong() }
            if let range, !range.contains(v) { throw wrong() }
            return .int(v)
        case .double(let range):
            guard isPlainScalar(node), let v = node.float else { throw wrong() }
            if let range, !range.contains(v) { throw wrong() }
            return .double(v)
        case .bool:
            guard isPlainScalar(node), let v = node.bool else { throw wrong() }
            return .bool(v)
        case .string:
            guard case .scalar = node else { throw wrong() }
            return .string(node.string ?? "")
        case .path:
            guard case .scalar = node, let s = node.string, !s.isEmpty else { throw wrong() }
            return .string(resolve(try expandVariables(s, node, key: key)).path)
        case .choice(let words):
            guard case .scalar = node, let s = node.string, words.contains(s) else { throw wrong() }
            return .string(s)
        case .paths:
            guard case .strings(let items) = try typed(node, .strings(allowed: nil), key: key), !items.isEmpty,
                !items.contains(where: \.isEmpty)
            else { throw wrong() }
            return .strings(try items.map { resolve(try expandVariables($0, node, key: key)).path })
        case .strings(let allowed):
            let items: [Node]
            switch node {
            case .sequence(let seq): items = Array(seq)
            case .scalar: items = [node]
            default: throw wrong()
            }
            return .strings(
                try items.map { item in
                    guard case .scalar = item, let s = item.string else { throw wrong() }
                    if let allowed, !allowed.contains(s) {
                        throw error(item, key, "'\(s)' is not one of \(allowed.joined(separator: ", "))")
                    }
                    return s
                })
        case .numbers(let range, let integers):
            let items: [Node]
            switch node {
            case .sequence(let seq): items = Array(seq)
            case .scalar: items = [node]
            default: throw wrong()
            }
            guard !items.isEmpty else { throw wrong() }
            return .numbers(
                try items.map { item in
                    guard isPlainScalar(item), let v = integers ? item.int.map(Double.init) : item.float, range.contains(v) else {
                        throw error(item, key, "expected \(type.noun), got \(describe(item))")
                    }
                    return v
                })
        }
    }

    /// Quoted scalars are strings, never numbers or booleans.
    func isPlainScalar(_ node: Node) -> Bool {
        if case .scalar(let s) = node { return s.style == .plain }
        return false
    }

    func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let s): return "'\(s.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    /// `${NAME}` in a path replaced by the environment variable NAME (the dataset manifests take their data root
    /// from MEDAD_DATA, set in one place); an unset or empty variable is an error naming it.
    func expandVariables(_ path: String, _ node: Node, key: String) throws -> String {
        var result = "", rest = Substring(path)
        while let open = rest.range(of: "${") {
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else { throw error(node, key, "unclosed ${ in '\(path)'") }
            let name = String(rest[open.upperBound..<close])
            guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
                throw error(node, key, "'\(path)' uses ${\(name)}, which is not set in the environment")
            }
            result += rest[..<open.lowerBound] + value
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }

    func resolve(_ path: String) -> URL {
        let expanded = (path as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return URL(fileURLWithPath: expanded).standardizedFileURL }
        return folder.appendingPathComponent(expanded).standardizedFileURL
    }

    func checkGraph(_ stages: [StageDeclaration]) throws {
        let names = Set(stages.map(\.name))
        for stage in stages {
            for upstream in stage.after where !names.contains(upstream) {
                throw ManifestError(
                    file: file.path, line: stage.line, key: "stages.\(stage.name).after",
                    message: "no stage named '\(upstream)'")
            }
            if stage.after.contains(stage.name) {
                throw ManifestError(
                    file: file.path, line: stage.line, key: "stages.\(stage.name).after", message: "a stage cannot come after itself")
            }
        }
        if var cycle = StageGraph(stages).cycle() {
            // Start the message at the cycle's first stage in manifest order, so it reads the same every time.
            let startIndex = cycle.indices.min { a, b in
                stages.firstIndex { $0.name == cycle[a] }! < stages.firstIndex { $0.name == cycle[b] }!
            }!
            cycle = Array(cycle[startIndex...] + cycle[..<startIndex])
            let first = stages.first { $0.name == cycle[0] }!
            throw ManifestError(
                file: file.path, line: first.line, key: "stages.\(first.name).after",
                message: "cycle: " + (cycle + [cycle[0]]).joined(separator: " → "))
        }
    }

    func yamlLine(_ error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
            return mark.line
        case .duplicatedKeysInMapping(_, let context):
            return context.mark.line
        default:
            return nil
        }
    }
}
