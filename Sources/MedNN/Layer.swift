// The layer contract: forward caches what backward needs; backward takes dL/dy, adds into the parameters'
// gradients and returns dL/dx.
import CMedNNKernels

public protocol Layer: AnyObject {
    var parameters: [Parameter] { get }
    func forward(_ x: Tensor, training: Bool) throws -> Tensor
    func backward(_ dy: Tensor) -> Tensor
    /// Drops what forward kept for backward (a frozen network between uses holds no activations).
    func releaseCaches()
}

extension Layer {
    public var parameters: [Parameter] { [] }
}

/// max(0, x). Shapes: any → same.
public final class ReLU: Layer {
    private var output: [Float] = []
    public init() {}
    public func releaseCaches() { output = [] }

    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        output = [Float](uninitializedCount: x.count) { y in
            x.data.withUnsafeBufferPointer { x in
                Parallel.chunks(x.count) { med_relu(x.baseAddress! + $0.lowerBound, $0.count, y + $0.lowerBound) }
            }
        }
        return Tensor(shape: x.shape, data: output)
    }

    /// The gradient passes where the output is positive.
    public func backward(_ dy: Tensor) -> Tensor {
        Tensor(shape: dy.shape) { d in
            output.withUnsafeBufferPointer { y in
                dy.data.withUnsafeBufferPointer { g in
                    Parallel.chunks(g.count) {
                        med_relu_backward(g.baseAddress! + $0.lowerBound, y.baseAddress! + $0.lowerBound, $0.count, d + $0.lowerBound)
                    }
                }
            }
        }
    }
}

/// y = W x + b, batch-last (PyTorch's x Wᵀ + b transposed). Shapes: x [in, N] → y [out, N]; weight [out, in],
/// bias [out].
public final class Linear: Layer {
    public let weight: Parameter
    public let bias: Parameter?
    let name: String
    private var input = Tensor(zeros: [0])

    /// PyTorch's default: weight and bias from U(-1/√in, 1/√in).
    public init(_ name: String, inFeatures: Int, outFeatures: Int, bias: Bool = true, initializer: inout UniformInit) {
        self.name = name
        weight = .pytorchDefault("\(name).weight", shape: [outFeatures, inFeatures], fanIn: inFeatures, &initializer)
        self.bias = bias ? .pytorchDefault("\(name).bias", shape: [outFeatures], fanIn: inFeatures, &initializer) : nil
    }

    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }
    public func releaseCaches() { input = Tensor(zeros: [0]) }
    var inFeatures: Int { weight.value.shape[1] }
    var outFeatures: Int { weight.value.shape[0] }

    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        guard x.shape.count == 2, x.shape[0] == inFeatures else {
            throw ShapeError(layer: name, expected: "[\(inFeatures), N]", got: x.shape)
        }
        input = x
        let n = x.shape[1], outFeatures = self.outFeatures
        return Tensor(shape: [outFeatures, n]) { y in
            if let bias { for o in 0..<outFeatures { (y + o * n).update(repeating: bias.value.data[o], count: n) } }
            DirectProduct.multiply(
                outputs: outFeatures, inner: inFeatures, samples: n, a: weight.value.data, x: x.data, accumulate: bias != nil, into: y)
        }
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let n = dy.shape[1]
        // dW += dy xᵀ; db += Σₙ dy; dx = Wᵀ dy
        if weight.accumulates {
            BLAS.gemm(transB: true, m: outFeatures, n: inFeatures, k: n, a: dy.data, b: input.data, beta: 1, c: &weight.grad.data)
        }
        if let bias, bias.accumulates {
            // Through buffer pointers: indexing both arrays in the loop took 1% of a training step.
            dy.data.withUnsafeBufferPointer { dy in
                bias.grad.data.withUnsafeMutableBufferPointer { db in
                    for o in 0..<outFeatures {
                        var sum = db[o]
                        for i in 0..<n { sum += dy[o * n + i] }
                        db[o] = sum
                    }
                }
            }
        }
        return Tensor(shape: [inFeatures, n]) {
            BLAS.gemm(transA: true, m: inFeatures, n: n, k: outFeatures, a: weight.value.data, b: dy.data, c: $0)
        }
    }
}

/// Batch normalisation per channel over everything else: BatchNorm1d on [C, N], BatchNorm2d on [C, H, W, N]
/// (batch-last, so each channel's values are one contiguous run). Training: batch statistics with the biased
/// variance; running estimates updated with momentum 0.1 and the unbiased variance. Eval: running estimates.
/// As PyTorch. With `relu`, the ReLU that follows it in every block of the networks here is part of the layer:
/// the same values, bit for bit, with two passes over the activations fewer each way and no array of its own
/// (backward takes ReLU's mask from the input it keeps anyway).
public final class BatchNorm: Layer {
    public let weight: Parameter
    public let bias: Parameter
    public var runningMean: [Float]
    public var runningVar: [Float]
    public var batchesTracked: Int64 = 0
    public let momentum: Float = 0.1
    public let eps: Float = 1e-5
    let name: String
    let channels: Int
    public let relu: Bool
    /// The input and the statistics forward normalised it with; backward recomputes x̂ = (x − mean)·inverse from
    /// them rather than keeping x̂ (the input is the layer before's output, so keeping it costs nothing).
    private var input = Tensor(zeros: [0])
    private var means: [Float] = []
    private var inverseStd: [Float] = []
    private var trainingForward = true
    public func releaseCaches() { (input, means, inverseStd) = (Tensor(zeros: [0]), [], []) }

    public init(_ name: String, channels: Int, relu: Bool = false) {
        self.name = name
        self.channels = channels
        self.relu = relu
        weight = Parameter(name: "\(name).weight", value: Tensor(shape: [channels], data: [Float](repeating: 1, count: channels)))
        bias = Parameter(name: "\(name).bias", value: Tensor(zeros: [channels]))
        runningMean = [Float](repeating: 0, count: channels)
        runningVar = [Float](repeating: 1, count: channels)
    }

    public var parameters: [Parameter] { [weight, bias] }

    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        guard x.shape.count == 2 || x.shape.count == 4, x.shape[0] == channels else {
            throw ShapeError(layer: name, expected: "[\(channels), N] or [\(channels), H, W, N]", got: x.shape)
        }
        let m = x.count / channels
        var mean = [Float](repeating: 0, count: channels), variance = [Float](repeating: 0, count: channels)
        if training {
            // Sums in double: a batch of 64 × 32² values per channel loses digits in single precision.
            x.data.withUnsafeBufferPointer { x in
                mean.withUnsafeMutableBufferPointer { mean in
                    variance.withUnsafeMutableBufferPointer { variance in
                        Parallel.chunks(channels, work: x.count) { range in
                            for c in range {
                                var sum = 0.0, squares = 0.0
                                med_sum_squares(x.baseAddress! + c * m, m, &sum, &squares)
                                let mu = sum / Double(m)
                                mean[c] = Float(mu)
                                variance[c] = Float(max(squares / Double(m) - mu * mu, 0))
                            }
                        }
                    }
                }
            }
            for c in 0..<channels {
                runningMean[c] = (1 - momentum) * runningMean[c] + momentum * mean[c]
                let unbiased = m > 1 ? Double(variance[c]) * Double(m) / Double(m - 1) : Double(variance[c])
                runningVar[c] = (1 - momentum) * runningVar[c] + momentum * Float(unbiased)
            }
            batchesTracked += 1
        } else {
            mean = runningMean
            variance = runningVar
        }
        let eps = self.eps
        let inverse = variance.map { 1 / ($0 + eps).squareRoot() }
        (input, means, inverseStd, trainingForward) = (x, mean, inverse, training)
        return Tensor(shape: x.shape) { y in
            x.data.withUnsafeBufferPointer { x in
                Parallel.chunks(channels, work: x.count) { range in
                    for c in range { med_bn_apply(x.baseAddress! + c * m, m, channel(c), y + c * m) }
                }
            }
        }
    }

    /// Channel c as the kernels take it, with the statistics of the last forward pass.
    private func channel(_ c: Int) -> med_bn_channel {
        med_bn_channel(
            mean: means[c], inverse: inverseStd[c], gamma: weight.value.data[c], beta: bias.value.data[c], relu: relu ? 1 : 0)
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let m = dy.count / channels, training = trainingForward, shape = dy.shape
        var sumsDy = [Float](repeating: 0, count: channels), sumsDyXhat = [Float](repeating: 0, count: channels)
        let parameters = (0..<channels).map(channel)
        // The sums feed the batch-statistics term and the parameters' gradients; eval with frozen parameters
        // (scoring) needs neither.
        let needsSums = training || weight.accumulates || bias.accumulates
        let dx = dy.data.withUnsafeBufferPointer { dy in
            input.data.withUnsafeBufferPointer { x in
                sumsDy.withUnsafeMutableBufferPointer { sumsDy in
                    sumsDyXhat.withUnsafeMutableBufferPointer { sumsDyXhat in
                        Tensor(shape: shape) { dx in
                            Parallel.chunks(channels, work: dy.count) { range in
                                for c in range {
                                    let (g, h, out) = (dy.baseAddress! + c * m, x.baseAddress! + c * m, dx + c * m)
                                    // Sums in double, as in forward: long single-precision sums drift from PyTorch's pairwise ones.
                                    var sumDy = 0.0, sumDyXhat = 0.0
                                    let channel = parameters[c]
                                    if needsSums { med_bn_sums(g, h, m, channel, &sumDy, &sumDyXhat) }
                                    sumsDy[c] = Float(sumDy)
                                    sumsDyXhat[c] = Float(sumDyXhat)
                                    let scale = channel.gamma * channel.inverse
                                    // Training: the batch statistics depend on x too. Eval: a fixed affine map.
                                    if training {
                                        med_bn_backward(
                                            g, h, m, channel, scale, Float(sumDy) / Float(m), Float(sumDyXhat) / Float(m), out)
                                    } else {
                                        med_bn_scale(g, h, m, channel, scale, out)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        for c in 0..<channels {
            if weight.accumulates { weight.grad.data[c] += sumsDyXhat[c] }
            if bias.accumulates { bias.grad.data[c] += sumsDy[c] }
        }
        return dx
    }
}
