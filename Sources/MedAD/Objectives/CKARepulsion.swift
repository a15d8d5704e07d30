// D2UE's repulsion: λ · mean over the earlier learners (frozen, eval mode) of linearCKA(f_k, f_j) on the
// batch's features of one block (z by default). Its gradient enters at that block's output.
import MedNN

public struct CKARepulsion: ObjectiveTerm {
    public let earlier: [AutoEncoder]
    public let feature: String
    public let weight: Float

    public init(earlier: [AutoEncoder], feature: String, weight: Float) {
        precondition(!earlier.isEmpty, "repulsion needs earlier learners")
        (self.earlier, self.feature, self.weight) = (earlier, feature, weight)
    }

    public func evaluate(model: AutoEncoder, input: Tensor, output: Tensor, gradients: inout ObjectiveGradients) throws -> [ObjectivePart] {
        let mine = model.feature(feature)!
        var gradient = [Float](repeating: 0, count: mine.count)
        var repulsion = 0.0
        let scale = weight / Float(earlier.count)
        for other in earlier {
            // Only up to the compared block, keeping no activations: a frozen learner costs its weights alone.
            let cka = LinearCKA.compute(mine, try other.features(input, upTo: feature))
            repulsion += cka.value / Double(earlier.count)
            for i in gradient.indices { gradient[i] += scale * cka.dX.data[i] }
        }
        gradients.features[feature] = Tensor(shape: mine.shape, data: gradient)
        return [ObjectivePart(column: .repulsion, value: repulsion, weight: Double(weight))]
    }
}
