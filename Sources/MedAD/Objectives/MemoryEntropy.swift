// MemAE: the mean entropy of the memory attention, weighted (0.0002 in the D2UE reference).
import MedNN

public struct MemoryEntropy: ObjectiveTerm {
    public let weight: Float
    public init(weight: Float) { self.weight = weight }
    public func evaluate(model: AutoEncoder, input: Tensor, output: Tensor, gradients: inout ObjectiveGradients) throws -> [ObjectivePart] {
        let entropy = Loss.memoryEntropy(model.attention()!)
        gradients.attention = Tensor(shape: entropy.dOutput.shape, data: entropy.dOutput.data.map { $0 * weight })
        return [ObjectivePart(column: .extra, value: entropy.value, weight: Double(weight))]
    }
}
