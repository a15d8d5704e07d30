// Adversarial training with dual batch norm (Han et al., Medical-Robust-Training), adapted from classification to
// reconstruction: the attack maximises the training loss of the reconstruction against the clean image (the
// target stays the clean image; the reference's target is the class label). Each step:
//   1. PGD L∞ from a random start x + U(−ε, ε), clamped to [−1, 1]: `iterations` times x ← clamp(proj_ε(x + α ·
//      sign ∂L/∂x)), the network in eval mode through its adversarial batch norms (as the reference crafts in eval
//      mode through its second set), parameter gradients paused;
//   2. the crafted batch forward in training mode through the adversarial batch norms, its loss (the backbone's
//      terms against the clean image) back-propagated into the parameters;
// then the trainer's clean pass through the clean batch norms adds its own; loss = clean + adversarial.
// ε 0.01 and α 0.005 on our [−1, 1] inputs are the reference's 0.005 and 0.0025 on [0, 1].
import MedNN

public struct AdversarialTraining: ObjectiveTerm {
    /// The backbone's terms, applied to the crafted batch's output.
    public let terms: [any ObjectiveTerm]
    public let epsilon: Float, stepSize: Float
    public let iterations: Int

    public init(terms: [any ObjectiveTerm], epsilon: Float, stepSize: Float, iterations: Int) {
        (self.terms, self.epsilon, self.stepSize, self.iterations) = (terms, epsilon, stepSize, iterations)
    }

    public func ownPass(model: AutoEncoder, input x: Tensor, step: TrainingStep) throws -> [ObjectivePart] {
        var generator = SeededGenerator(seed: step.seed ^ 0xADE5_0A7E, index: step.stream)
        let start = (0..<x.count).map { _ in Float(generator.uniform(-Double(epsilon), Double(epsilon))) }
        let crafted = try craft(model, x, start: start)
        model.normDomain = 1
        defer { model.normDomain = 0 }
        let output = try model.forward(crafted, training: true)
        var gradients = ObjectiveGradients()
        let parts = try terms.flatMap { try $0.evaluate(model: model, input: x, output: output, gradients: &gradients) }
        gradients.backward(through: model, inputGradient: false)
        return parts.map { ObjectivePart(column: .adversarial, value: $0.value, weight: $0.weight) }
    }

    /// The PGD example for x from x + start (start within ±ε), against the reconstruction terms of x.
    public func craft(_ model: AutoEncoder, _ x: Tensor, start: [Float]) throws -> Tensor {
        precondition(start.count == x.count)
        let domain = model.normDomain
        model.normDomain = 1
        model.pauseGradients(true)  // only dL/dx is needed
        defer {
            model.pauseGradients(false)
            model.normDomain = domain
        }
        var adversarial = x
        for i in x.data.indices { adversarial.data[i] = min(max(x.data[i] + start[i], -1), 1) }
        for _ in 0..<iterations {
            let output = try model.forward(adversarial, training: false)
            var gradients = ObjectiveGradients()
            _ = try terms.flatMap { try $0.evaluate(model: model, input: x, output: output, gradients: &gradients) }
            // The target is the clean x, so the gradient with respect to the crafted input is the network path's alone.
            let dx = gradients.backward(through: model, inputGradient: true)!
            for i in x.data.indices {
                let g = dx.data[i]
                let moved = adversarial.data[i] + stepSize * (g > 0 ? 1 : (g < 0 ? -1 : 0))
                adversarial.data[i] = min(max(min(max(moved, x.data[i] - epsilon), x.data[i] + epsilon), -1), 1)
            }
        }
        model.releaseCaches()
        return adversarial
    }
}
