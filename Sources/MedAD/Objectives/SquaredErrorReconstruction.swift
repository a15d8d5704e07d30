// AE and MemAE reconstruction: mean((x̂ − x)²).
import MedNN

public struct SquaredErrorReconstruction: ObjectiveTerm {
    public init() {}
    public func evaluate(model: AutoEncoder, input: Tensor, output: Tensor, gradients: inout ObjectiveGradients) throws -> [ObjectivePart] {
        let mse = Loss.mse(output, input)
        gradients.output = mse.dOutput
        return [ObjectivePart(column: .reconstruction, value: mse.value, weight: 1)]
    }
}
