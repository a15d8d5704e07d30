// MemAE's memory module (Gong et al., ICCV 2019, as the Med-AD benchmark's MemAE uses it on the latent code):
// M learned items of the latent size. For each sample's code z, the attention over items is
// a = softmax(W z), hard-shrunk to s = relu(a − λ)·a / (|a − λ| + 1e-12) and renormalised to â = s / max(Σ s, 1e-12)
// (PyTorch's F.normalize with p = 1); the module outputs Wᵀ â, a mix of remembered normal codes, so that an
// anomaly is reconstructed as something normal. Shapes, batch-last: z [C, N] → [C, N]; weight [M, C].
import Foundation

public final class MemoryModule: Layer {
    public let weight: Parameter
    public let shrinkThreshold: Float
    let name: String
    private var input = Tensor(zeros: [0])
    private var softmax: [Float] = []
    private var shrunk: [Float] = []
    public func releaseCaches() { (input, softmax, shrunk) = (Tensor(zeros: [0]), [], []) }
    /// â from the last forward pass, [M, N] batch-last.
    public private(set) var attention = Tensor(zeros: [0])

    /// PyTorch's MemAE initialises the items from U(−1/√C, 1/√C).
    public init(_ name: String, items: Int, latentSize: Int, shrinkThreshold: Float, initializer: inout UniformInit) {
        self.name = name
        self.shrinkThreshold = shrinkThreshold
        weight = .pytorchDefault("\(name).weight", shape: [items, latentSize], fanIn: latentSize, &initializer)
    }

    public var parameters: [Parameter] { [weight] }
    var items: Int { weight.value.shape[0] }
    var latentSize: Int { weight.value.shape[1] }

    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        guard x.shape.count == 2, x.shape[0] == latentSize else {
            throw ShapeError(layer: name, expected: "[\(latentSize), N]", got: x.shape)
        }
        input = x
        let n = x.shape[1], m = items, lambda = shrinkThreshold
        var logits = [Float](repeating: 0, count: m * n)
        BLAS.gemm(m: m, n: n, k: latentSize, a: weight.value.data, b: x.data, c: &logits)
        softmax = logits
        shrunk = logits
        var normalized = logits
        for j in 0..<n {
            // Softmax over the items of sample j (column j), shifted by the maximum as PyTorch does.
            var largest = -Float.infinity
            for i in 0..<m { largest = max(largest, logits[i * n + j]) }
            var total: Float = 0
            for i in 0..<m { let e = exp(logits[i * n + j] - largest); softmax[i * n + j] = e; total += e }
            var sum: Float = 0
            for i in 0..<m {
                let a = softmax[i * n + j] / total
                softmax[i * n + j] = a
                let s = lambda > 0 ? max(a - lambda, 0) * a / (abs(a - lambda) + 1e-12) : a
                shrunk[i * n + j] = s
                sum += abs(s)
            }
            for i in 0..<m { normalized[i * n + j] = lambda > 0 ? shrunk[i * n + j] / max(sum, 1e-12) : shrunk[i * n + j] }
        }
        attention = Tensor(shape: [m, n], data: normalized)
        // output [C, N] = Wᵀ [C, M] · â [M, N]
        return Tensor(shape: [latentSize, n]) {
            BLAS.gemm(transA: true, m: latentSize, n: n, k: m, a: weight.value.data, b: normalized, c: $0)
        }
    }

    public func backward(_ dy: Tensor) -> Tensor { backward(dy, attentionGradient: nil) }

    /// dL/dz given dL/d(output) and, for a loss on the attention itself (MemAE's entropy term), dL/dâ [M, N].
    public func backward(_ dy: Tensor, attentionGradient: Tensor?) -> Tensor {
        let n = dy.shape[1], m = items, lambda = shrinkThreshold
        let a = attention.data
        // output = Wᵀ â: dW += â dyᵀ, dâ = W dy
        if weight.accumulates {
            BLAS.gemm(transB: true, m: m, n: latentSize, k: n, a: a, b: dy.data, beta: 1, c: &weight.grad.data)
        }
        var dA = attentionGradient?.data ?? [Float](repeating: 0, count: m * n)
        precondition(dA.count == m * n, "\(name): attention gradient of \(dA.count) values, the attention has \(m * n)")
        BLAS.gemm(m: m, n: n, k: latentSize, a: weight.value.data, b: dy.data, beta: 1, c: &dA)
        var dLogits = [Float](repeating: 0, count: m * n)
        for j in 0..<n {
            var dSoftmax = [Float](repeating: 0, count: m)
            if lambda > 0 {
                // â = s / S with S = Σ|s|: ds_i = dâ_i / S − sign(s_i) Σ_k dâ_k s_k / S² (the floor makes S constant).
                var sum: Float = 0, dot: Float = 0
                for i in 0..<m { sum += abs(shrunk[i * n + j]); dot += dA[i * n + j] * shrunk[i * n + j] }
                let floored = sum <= 1e-12, total = max(sum, 1e-12)
                for i in 0..<m {
                    let s = shrunk[i * n + j]
                    let sign: Float = s > 0 ? 1 : (s < 0 ? -1 : 0)
                    let ds = dA[i * n + j] / total - (floored ? 0 : sign * dot / (total * total))
                    // s = relu(a − λ)·a / (|a − λ| + ε): zero (and flat) at or below λ.
                    let p = softmax[i * n + j], d = p - lambda
                    if d > 0 {
                        let denominator = d + 1e-12
                        dSoftmax[i] = ds * ((2 * p - lambda) * denominator - d * p) / (denominator * denominator)
                    }
                }
            } else {
                for i in 0..<m { dSoftmax[i] = dA[i * n + j] }
            }
            // softmax: dlogit_i = p_i (dp_i − Σ_k p_k dp_k)
            var dot: Float = 0
            for i in 0..<m { dot += softmax[i * n + j] * dSoftmax[i] }
            for i in 0..<m { dLogits[i * n + j] = softmax[i * n + j] * (dSoftmax[i] - dot) }
        }
        // logits = W z: dW += dlogits zᵀ, dz = Wᵀ dlogits
        if weight.accumulates {
            BLAS.gemm(transB: true, m: m, n: latentSize, k: n, a: dLogits, b: input.data, beta: 1, c: &weight.grad.data)
        }
        return Tensor(shape: [latentSize, n]) {
            BLAS.gemm(transA: true, m: latentSize, n: n, k: m, a: weight.value.data, b: dLogits, c: $0)
        }
    }
}

extension Loss {
    /// MemAE's entropy of the attention: mean over samples of −Σᵢ âᵢ log(âᵢ + 1e-12), for â batch-first
    /// [N, M]; the gradient is returned in dOutput (dTarget is empty).
    public static func memoryEntropy(_ attention: Tensor) -> LossResult {
        let n = attention.shape[0]
        var sum = 0.0
        var d = Tensor(zeros: attention.shape)
        for (i, a) in attention.data.enumerated() {
            let log = Foundation.log(Double(a) + 1e-12)
            sum -= Double(a) * log
            d.data[i] = Float(-(log + Double(a) / (Double(a) + 1e-12)) / Double(n))
        }
        return LossResult(value: sum / Double(n), dOutput: d, dTarget: Tensor(zeros: [0]))
    }
}
