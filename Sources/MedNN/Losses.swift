// Losses as (value, gradients): the gradient with respect to the prediction for training, and with respect
// to the target image, which the dual-space uncertainty needs (the input enters both the network and the loss).
import Foundation

public struct LossResult {
    public var value: Double
    /// dL/d(network output), shaped as the output.
    public var dOutput: Tensor
    /// dL/d(target) from the loss term itself, shaped as the target.
    public var dTarget: Tensor

    public init(value: Double, dOutput: Tensor, dTarget: Tensor) {
        self.value = value
        self.dOutput = dOutput
        self.dTarget = dTarget
    }
}

public enum Loss {
    /// mean((x̂ − x)²)
    public static func mse(_ prediction: Tensor, _ target: Tensor) -> LossResult {
        elementwise("mse", prediction, target, value: { $0 * $0 }, derivative: { 2 * $0 })
    }

    /// mean(|x̂ − x|)
    public static func l1(_ prediction: Tensor, _ target: Tensor) -> LossResult {
        // copysign rather than comparisons: a branch on the error's sign mispredicts half the time.
        elementwise("l1", prediction, target, value: { abs($0) }, derivative: { $0 == 0 ? 0 : Double(signOf: $0, magnitudeOf: 1) })
    }

    /// mean(f(x̂ − x)) with dL/dx̂ = f′(e)/n and dL/dx = −f′(e)/n; e and the sum in double.
    static func elementwise(
        _ name: String, _ prediction: Tensor, _ target: Tensor,
        value: (Double) -> Double, derivative: (Double) -> Double
    ) -> LossResult {
        precondition(prediction.shape == target.shape, "\(name): prediction \(prediction.shape), target \(target.shape)")
        let n = Double(target.count)
        var sum = 0.0
        // Through buffer pointers: indexing the arrays took 0.6% of a training step, on one thread.
        let d = Tensor(shape: target.shape) { d in
            prediction.data.withUnsafeBufferPointer { prediction in
                target.data.withUnsafeBufferPointer { target in
                    for i in target.indices {
                        let e = Double(prediction[i] - target[i])
                        sum += value(e)
                        d[i] = Float(derivative(e) / n)
                    }
                }
            }
        }
        return LossResult(value: sum / n, dOutput: d, dTarget: Tensor(shape: d.shape, data: d.data.map { -$0 }))
    }

    /// AE-U's heteroscedastic loss: output [N, 2, H, W] holds the mean x̂ and the log-variance s;
    /// L = mean(exp(−s)(x̂ − x)²) + mean(s), means over N·H·W.
    public static func heteroscedastic(_ output: Tensor, _ target: Tensor) -> LossResult {
        precisionWeighted(output, target, plusLogVariance: true)
    }

    /// mean(exp(−s)(x̂ − x)²) alone: AE-U's loss without its mean(s) term (the dual-space uncertainty's Lₖ).
    public static func precisionWeightedError(_ output: Tensor, _ target: Tensor) -> LossResult {
        precisionWeighted(output, target, plusLogVariance: false)
    }

    static func precisionWeighted(_ output: Tensor, _ target: Tensor, plusLogVariance: Bool) -> LossResult {
        let (n, h, w) = (target.shape[0], target.shape[2], target.shape[3])
        precondition(
            output.shape == [n, 2, h, w] && target.shape[1] == 1, "heteroscedastic: output \(output.shape), target \(target.shape)")
        let plane = h * w, count = Double(n * plane), withS = plusLogVariance ? 1.0 : 0
        var sum = 0.0
        var dOut = Tensor(zeros: output.shape), dTarget = Tensor(zeros: target.shape)
        for i in 0..<n {
            for p in 0..<plane {
                let mean = output.data[(2 * i) * plane + p], logVar = output.data[(2 * i + 1) * plane + p]
                let e = Double(mean - target.data[i * plane + p]), precision = exp(-Double(logVar))
                sum += precision * e * e + withS * Double(logVar)
                dOut.data[(2 * i) * plane + p] = Float(2 * precision * e / count)
                dOut.data[(2 * i + 1) * plane + p] = Float((withS - precision * e * e) / count)
                dTarget.data[i * plane + p] = Float(-2 * precision * e / count)
            }
        }
        return LossResult(value: sum / count, dOutput: dOut, dTarget: dTarget)
    }
}
