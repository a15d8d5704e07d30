// A layer ensemble's reconstruction: the backbone's reconstruction term on every head's output and on the last
// block's, summed (each head's gradient enters through its own head). train.csv reports the sums.
import MedNN

public struct HeadReconstruction: ObjectiveTerm {
    public let term: any ObjectiveTerm
    public init(_ term: any ObjectiveTerm) { self.term = term }

    public func evaluate(model: AutoEncoder, input: Tensor, output: Tensor, gradients: inout ObjectiveGradients) throws -> [ObjectivePart] {
        var parts = try term.evaluate(model: model, input: input, output: output, gradients: &gradients)
        for (index, head) in model.headOutputs().enumerated() {
            var own = ObjectiveGradients()
            parts += try term.evaluate(model: model, input: input, output: head, gradients: &own)
            gradients.heads[index] = own.output
        }
        return parts
    }
}
