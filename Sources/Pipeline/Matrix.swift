// A sweep: the manifest's `matrix` names parameters and their values,
//
//   matrix:
//     method: [d2ue, deep_ensemble]
//     seed: [1, 2]
//
// and expands into cells, every combination in the order written. The swept stages are those that take every named
// parameter (train, for method, backbone, seed, learners, lambda, …), all of one kind: a parameter several kinds take
// (seed: synthesize, split, train, aggregate) is named with its stage, `train.seed: [1, 2]`. Each swept stage becomes
// one stage per cell,
// named `<stage>@method=d2ue,seed=1`, with the cell's values as its parameters, and so does every stage after it
// (score) up to the stages that gather cells (aggregate, shift: Stage.gathersCells), which stay one stage reading
// every cell. Stages before the first swept one (ingest, normalize, split) run once for all cells. After expansion
// a sweep is an ordinary DAG: fingerprints, --stage, status and Slurm see plain stages.
import Foundation
import Yams

/// One combination of the matrix's values.
public struct MatrixCell: Sendable, Equatable {
    /// (parameter, value as written) in the matrix's order.
    public let values: [(name: String, text: String)]
    /// "method=d2ue,seed=1": the suffix after a swept stage's name and '@'.
    public var label: String { values.map { "\($0.name)=\($0.text)" }.joined(separator: ",") }

    public static func == (a: MatrixCell, b: MatrixCell) -> Bool { a.label == b.label }
}

extension ManifestParser {
    /// The matrix's axes, each with its values' nodes (typed later against the swept stages' parameters).
    func parseMatrix(_ node: Node) throws -> [(name: String, node: Node, values: [Node])] {
        let axes = try mapping(node, "matrix").map { name, keyNode, value -> (String, Node, [Node]) in
            guard case .sequence(let sequence) = value, !sequence.isEmpty else {
                throw error(value, "matrix.\(name)", "expected a non-empty list of values")
            }
            for item in sequence {
                guard case .scalar = item else { throw error(item, "matrix.\(name)", "expected plain values, got \(describe(item))") }
            }
            let texts = sequence.map { (try? scalarString($0, "")) ?? "" }
            guard Set(texts).count == texts.count else { throw error(value, "matrix.\(name)", "a value is listed twice") }
            for text in texts where text.range(of: #"^[A-Za-z0-9._+-]+$"#, options: .regularExpression) == nil {
                throw error(
                    value, "matrix.\(name)", "'\(text)' must be letters, digits, '.', '_', '+' or '-' (it becomes part of stage names)")
            }
            return (name, keyNode, Array(sequence))
        }
        guard !axes.isEmpty else { throw error(node, "matrix", "expected at least one parameter to sweep") }
        return axes
    }

    /// The stages with the matrix applied, and the cells.
    func expand(
        _ stages: [StageDeclaration], matrix: [(name: String, node: Node, values: [Node])], matrixNode: Node,
        explicit: [String: Set<String>]
    ) throws -> (stages: [StageDeclaration], cells: [MatrixCell]) {
        // "train.seed": the stage named; "seed": every stage that takes all the parameters, if they are of one kind.
        let qualifiers = Set(matrix.map { $0.name.split(separator: ".").count == 2 ? String($0.name.split(separator: ".")[0]) : "" })
        guard qualifiers.count == 1 else {
            throw error(matrixNode, "matrix", "name the stage for every parameter (train.seed) or for none (seed), not for some")
        }
        let target = qualifiers.first!
        let names = matrix.map { String($0.name.split(separator: ".").last!) }
        let candidates = stages.filter { stage in
            (target.isEmpty || stage.name == target) && names.allSatisfy(registry.kinds[stage.kind]!.parameters.map(\.name).contains)
        }
        guard !candidates.isEmpty else {
            throw error(
                matrixNode, "matrix",
                "no stage\(target.isEmpty ? "" : " named '\(target)'") takes all of \(names.joined(separator: ", ")) as parameters")
        }
        guard Set(candidates.map(\.kind)).count == 1 else {
            throw error(
                matrixNode, "matrix",
                "\(names.joined(separator: ", ")) are parameters of \(candidates.map(\.name).joined(separator: ", ")): name the stage to sweep, e.g. \(candidates.last!.name).\(names[0])"
            )
        }
        let swept = Set(candidates.map(\.name))
        for stage in stages where swept.contains(stage.name) {
            if let clash = names.first(where: { explicit[stage.name, default: []].contains($0) }) {
                throw error(matrixNode, "matrix", "stage '\(stage.name)' also sets \(clash) in its params: set it in one place")
            }
        }
        // Stages that depend on a swept stage, through stages that do not gather cells, are copied per cell too.
        var perCell = swept
        for stage in stages where !perCell.contains(stage.name) && !registry.kinds[stage.kind]!.gathersCells {
            if stage.after.contains(where: perCell.contains) { perCell.insert(stage.name) }
        }
        var cells: [MatrixCell] = [MatrixCell(values: [])]
        for axis in matrix {
            let name = String(axis.name.split(separator: ".").last!)
            cells = cells.flatMap { cell in
                axis.values.map { MatrixCell(values: cell.values + [(name, (try? scalarString($0, "")) ?? "")]) }
            }
        }
        var expanded: [StageDeclaration] = []
        for stage in stages {
            let rename = { (parent: String, cell: MatrixCell) in perCell.contains(parent) ? "\(parent)@\(cell.label)" : parent }
            guard perCell.contains(stage.name) else {
                // A stage after per-cell stages reads every cell's copy of them.
                let after = stage.after.flatMap { parent in perCell.contains(parent) ? cells.map { rename(parent, $0) } : [parent] }
                expanded.append(stage.with(name: stage.name, after: after, parameters: stage.parameters))
                continue
            }
            for cell in cells {
                var parameters = stage.parameters
                if swept.contains(stage.name) {
                    let stageType = registry.kinds[stage.kind]!
                    var values = parameters.values
                    for (index, axis) in matrix.enumerated() {
                        let node = axis.values.first { (try? scalarString($0, "")) == cell.values[index].text }!
                        let spec = stageType.parameters.first { $0.name == names[index] }!
                        values[names[index]] = try typed(node, spec.type, key: "matrix.\(axis.name)")
                    }
                    parameters = Parameters(values)
                    do { _ = try stageType.init(parameters: parameters) } catch let e as ParameterError {
                        throw error(matrixNode, "matrix (cell \(cell.label)): stages.\(stage.name).params.\(e.key)", e.message)
                    }
                }
                expanded.append(
                    stage.with(name: rename(stage.name, cell), after: stage.after.map { rename($0, cell) }, parameters: parameters))
            }
        }
        return (expanded, cells)
    }
}

extension StageDeclaration {
    func with(name: String, after: [String], parameters: Parameters) -> StageDeclaration {
        StageDeclaration(
            name: name, kind: kind, after: after, parameters: parameters, maxFailures: maxFailures, slurm: slurm, shards: shards, line: line
        )
    }
}
