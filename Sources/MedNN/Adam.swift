// Adam as torch.optim.Adam defines it (weight decay added to the gradient, bias corrections, eps outside
// the square root): m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε).
import CMedNNKernels
import Foundation

public final class Adam {
    public let parameters: [Parameter]
    public var learningRate: Float
    public let beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    public private(set) var step = 0
    /// First and second moments, per parameter (saved with checkpoints).
    public var firstMoments: [[Float]]
    public var secondMoments: [[Float]]

    public init(
        _ parameters: [Parameter], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
        eps: Float = 1e-8, weightDecay: Float = 0
    ) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        firstMoments = parameters.map { [Float](repeating: 0, count: $0.value.count) }
        secondMoments = parameters.map { [Float](repeating: 0, count: $0.value.count) }
    }

    public func zeroGrad() { parameters.forEach { $0.zeroGrad() } }

    /// The optimiser's state for a checkpoint: `exp_avg.<parameter>`, `exp_avg_sq.<parameter>` (PyTorch's
    /// names for the moments) and `step`. Restoring it continues training exactly where it stopped.
    public func stateDict() -> [String: SafeTensorValue] {
        var state: [String: SafeTensorValue] = ["step": .int64(shape: [], values: [Int64(step)])]
        for (k, p) in parameters.enumerated() {
            state["exp_avg.\(p.name)"] = .float32(Tensor(shape: p.value.shape, data: firstMoments[k]))
            state["exp_avg_sq.\(p.name)"] = .float32(Tensor(shape: p.value.shape, data: secondMoments[k]))
        }
        return state
    }

    /// Loads what stateDict wrote; a missing or mis-shaped moment is an error naming it.
    public func load(_ state: [String: SafeTensorValue]) throws {
        guard case .int64(_, let steps)? = state["step"], let saved = steps.first else {
            throw SafeTensorsError("optimiser state: 'step' is missing")
        }
        var first: [[Float]] = [], second: [[Float]] = []
        for p in parameters {
            for (prefix, target) in [("exp_avg", 0), ("exp_avg_sq", 1)] {
                let t = try SafeTensors.float(state, "\(prefix).\(p.name)")
                guard t.shape == p.value.shape else {
                    throw SafeTensorsError("tensor '\(prefix).\(p.name)': shape \(t.shape), the parameter has \(p.value.shape)")
                }
                if target == 0 { first.append(t.data) } else { second.append(t.data) }
            }
        }
        firstMoments = first
        secondMoments = second
        step = Int(saved)
    }

    public func update() {
        step += 1
        let correction1 = 1 - pow(beta1, Float(step)), correction2 = 1 - pow(beta2, Float(step))
        let stepSize = learningRate / correction1, root2 = correction2.squareRoot()
        let (beta1, beta2, eps, weightDecay) = (self.beta1, self.beta2, self.eps, self.weightDecay)
        for (k, p) in parameters.enumerated() {
            p.value.data.withUnsafeMutableBufferPointer { theta in
                p.grad.data.withUnsafeBufferPointer { grad in
                    firstMoments[k].withUnsafeMutableBufferPointer { m in
                        secondMoments[k].withUnsafeMutableBufferPointer { v in
                            Parallel.chunks(theta.count) { range in
                                let i = range.lowerBound
                                med_adam_update(
                                    theta.baseAddress! + i, grad.baseAddress! + i, m.baseAddress! + i, v.baseAddress! + i,
                                    range.count, beta1, beta2, stepSize, root2, eps, weightDecay)
                            }
                        }
                    }
                }
            }
        }
    }
}
