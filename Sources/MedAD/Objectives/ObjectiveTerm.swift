// A learner's training loss is a sum of named terms (DESIGN.md section 5): reconstruction per backbone, MemAE's
// attention entropy, D2UE's CKA repulsion, and more as methods come. Each term evaluates itself on the batch's
// forward pass, reports its parts for train.csv, and adds its gradients for the backward pass.
import MedNN

/// The train.csv column a part is reported in; also the order of the loss's sum.
public enum ObjectiveColumn: Int, Comparable, Sendable {
    case reconstruction, extra, repulsion, adversarial
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// One reported part of a term: loss += weight · value.
public struct ObjectivePart: Sendable {
    public let column: ObjectiveColumn
    public let value: Double
    public let weight: Double
}

/// What the backward pass takes: ∂loss/∂output, ∂loss/∂(head outputs) by head index, ∂loss/∂(block outputs) by
/// name (batch-first, or in the layers' batch-last layout), ∂loss/∂(MemAE attention).
public struct ObjectiveGradients {
    public var output: Tensor?
    public var heads: [Int: Tensor] = [:]
    public var features: [String: Tensor] = [:]
    public var batchLastFeatures: [String: Tensor] = [:]
    public var attention: Tensor?

    /// Back-propagates them all through the model's last forward pass; dL/dx when `inputGradient`.
    @discardableResult
    public func backward(through model: AutoEncoder, inputGradient: Bool) -> Tensor? {
        model.backward(
            output!, featureGradients: features, batchLastFeatureGradients: batchLastFeatures, headGradients: heads,
            attentionGradient: attention, inputGradient: inputGradient)
    }
}

public protocol ObjectiveTerm {
    /// The term on one batch: the model has just run forward on `input` (training mode) giving `output`.
    func evaluate(model: AutoEncoder, input: Tensor, output: Tensor, gradients: inout ObjectiveGradients) throws -> [ObjectivePart]
    /// A term with passes of its own (adversarial training's crafted batch): runs right after the step's gradients
    /// are zeroed and before the main forward pass, accumulating its own parameter gradients.
    func ownPass(model: AutoEncoder, input: Tensor, step: TrainingStep) throws -> [ObjectivePart]
}

extension ObjectiveTerm {
    public func evaluate(model: AutoEncoder, input: Tensor, output: Tensor, gradients: inout ObjectiveGradients) throws -> [ObjectivePart] {
        []
    }
    public func ownPass(model: AutoEncoder, input: Tensor, step: TrainingStep) throws -> [ObjectivePart] { [] }
}

/// Where a training step is: what its random draws (dropout masks, an attack's random start) come from, so that
/// a resumed run draws the same ones.
public struct TrainingStep: Sendable {
    /// The network's seed.
    public let seed: UInt64
    /// (epoch, batch) as one stream index.
    public let stream: UInt64
    public init(seed: UInt64, stream: UInt64) { (self.seed, self.stream) = (seed, stream) }
}

extension [ObjectivePart] {
    /// Σ weight · value in column order (reconstruction, extra, repulsion), as train.csv's `loss`.
    var loss: Double { sorted { $0.column < $1.column }.reduce(0) { $0 + $1.weight * $1.value } }

    /// The parts reported in one column.
    func total(_ column: ObjectiveColumn) -> Double { filter { $0.column == column }.reduce(0) { $0 + $1.value } }
}
