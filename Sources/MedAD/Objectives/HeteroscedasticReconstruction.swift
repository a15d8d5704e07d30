// AE-U reconstruction: mean(exp(−s)(x̂ − x)²) + mean(s), s the predicted log-variance. train.csv reports the
// precision-weighted error as reconstruction and mean(s) as extra; the loss is their sum.
import MedNN

public struct HeteroscedasticReconstruction: ObjectiveTerm {
    public init() {}
    public func evaluate(model: AutoEncoder, input: Tensor, output: Tensor, gradients: inout ObjectiveGradients) throws -> [ObjectivePart] {
        let loss = Loss.heteroscedastic(output, input)
        gradients.output = loss.dOutput
        let plane = input.shape[2] * input.shape[3]
        let meanLogVariance =
            (0..<input.shape[0]).map { i in output.data[(2 * i + 1) * plane..<(2 * i + 2) * plane].reduce(0.0) { $0 + Double($1) } }
            .reduce(0, +) / Double(input.count)
        return [
            ObjectivePart(column: .reconstruction, value: loss.value - meanLogVariance, weight: 1),
            ObjectivePart(column: .extra, value: meanLogVariance, weight: 1),
        ]
    }
}
