// The layer contract: forward caches what backward needs; backward takes dL/dy, adds into the parameters'
// gradients and returns dL/dx.
public protocol Layer: AnyObject {
    var parameters: [Parameter] { get }
    func forward(_ x: Tensor, training: Bool) throws -> Tensor
    func backward(_ dy: Tensor) -> Tensor
}

extension Layer {
    public var parameters: [Parameter] { [] }
}

/// max(0, x). Shapes: any → same.
public final class ReLU: Layer {
    private var output: [Float] = []
    public init() {}

    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        output = [Float](uninitializedCount: x.count) { y in
            x.data.withUnsafeBufferPointer { x in Parallel.chunks(x.count) { for i in $0 { y[i] = max(x[i], 0) } } }
        }
        return Tensor(shape: x.shape, data: output)
    }

    /// The gradient passes where the output is positive (a select, not a branch, so it vectorises).
    public func backward(_ dy: Tensor) -> Tensor {
        Tensor(shape: dy.shape) { d in
            output.withUnsafeBufferPointer { y in
                dy.data.withUnsafeBufferPointer { g in
                    Parallel.chunks(g.count) { range in
                        // 8 lanes at a time: as a scalar loop the compiler emits a branch, and a branch on the
                        // sign of activations mispredicts half the time (5 ns a value).
                        var i = range.lowerBound
                        while i + 8 <= range.upperBound {
                            let lanes = UnsafeRawPointer(g.baseAddress! + i).loadUnaligned(as: SIMD8<Float>.self)
                            let kept = lanes.replacing(with: 0, where: UnsafeRawPointer(y.baseAddress! + i).loadUnaligned(as: SIMD8<Float>.self) .<= 0)
                            UnsafeMutableRawPointer(d + i).storeBytes(of: kept, as: SIMD8<Float>.self)
                            i += 8
                        }
                        for j in i..<range.upperBound { d[j] = y[j] > 0 ? g[j] : 0 }
                    }
                }
            }
        }
    }
}

/// y = x Wᵀ + b. Shapes: x [N, in] → y [N, out]; weight [out, in], bias [out].
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
    var inFeatures: Int { weight.value.shape[1] }
    var outFeatures: Int { weight.value.shape[0] }

    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        guard x.shape.count == 2, x.shape[1] == inFeatures else {
            throw ShapeError(layer: name, expected: "[N, \(inFeatures)]", got: x.shape)
        }
        input = x
        let n = x.shape[0]
        var y = Tensor(zeros: [n, outFeatures])
        if let bias {
            for i in 0..<n { for j in 0..<outFeatures { y.data[i * outFeatures + j] = bias.value.data[j] } }
        }
        BLAS.gemm(transB: true, m: n, n: outFeatures, k: inFeatures, a: x.data, b: weight.value.data, beta: bias == nil ? 0 : 1, c: &y.data)
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let n = dy.shape[0]
        // dW += dyᵀ x; db += Σₙ dy; dx = dy W
        if !weight.frozen {
            BLAS.gemm(transA: true, m: outFeatures, n: inFeatures, k: n, a: dy.data, b: input.data, beta: 1, c: &weight.grad.data)
        }
        if let bias, !bias.frozen {
            for i in 0..<n { for j in 0..<outFeatures { bias.grad.data[j] += dy.data[i * outFeatures + j] } }
        }
        var dx = Tensor(zeros: [n, inFeatures])
        BLAS.gemm(m: n, n: inFeatures, k: outFeatures, a: dy.data, b: weight.value.data, c: &dx.data)
        return dx
    }
}

/// Batch normalisation over N (BatchNorm1d, input [N, C]) or over N, H, W (BatchNorm2d, input [N, C, H, W]).
/// Training: batch statistics with the biased variance; running estimates updated with momentum 0.1 and the
/// unbiased variance. Eval: running estimates. As PyTorch.
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
    private var xhat: [Float] = []
    private var inverseStd: [Float] = []
    private var lastShape: [Int] = []

    public init(_ name: String, channels: Int) {
        self.name = name
        self.channels = channels
        weight = Parameter(name: "\(name).weight", value: Tensor(shape: [channels], data: [Float](repeating: 1, count: channels)))
        bias = Parameter(name: "\(name).bias", value: Tensor(zeros: [channels]))
        runningMean = [Float](repeating: 0, count: channels)
        runningVar = [Float](repeating: 1, count: channels)
    }

    public var parameters: [Parameter] { [weight, bias] }

    /// (batch, spatial) for [N, C] or [N, C, H, W].
    func layout(_ shape: [Int]) throws -> (Int, Int) {
        guard (shape.count == 2 || shape.count == 4), shape[1] == channels else {
            throw ShapeError(layer: name, expected: "[N, \(channels)] or [N, \(channels), H, W]", got: shape)
        }
        return (shape[0], shape.count == 4 ? shape[2] * shape[3] : 1)
    }

    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        let (n, spatial) = try layout(x.shape)
        let m = n * spatial, channels = self.channels
        var mean = [Float](repeating: 0, count: channels), variance = [Float](repeating: 0, count: channels)
        if training {
            // Sums in double: a batch of 64 × 32² values per channel loses digits in single precision.
            x.data.withUnsafeBufferPointer { x in
                mean.withUnsafeMutableBufferPointer { mean in
                    variance.withUnsafeMutableBufferPointer { variance in
                        Parallel.forEach(channels, cost: m) { c in
                            var sum = 0.0, squares = 0.0
                            for i in 0..<n {
                                let row = x.baseAddress! + (i * channels + c) * spatial
                                for s in 0..<spatial { let v = Double(row[s]); sum += v; squares += v * v }
                            }
                            let mu = sum / Double(m)
                            mean[c] = Float(mu)
                            variance[c] = Float(max(squares / Double(m) - mu * mu, 0))
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
        let gamma = weight.value.data, beta = bias.value.data
        var y = Tensor(zeros: [0])
        xhat = [Float](uninitializedCount: x.count) { h in
            y = Tensor(shape: x.shape) { y in
                x.data.withUnsafeBufferPointer { x in
                    Parallel.forEach(n, cost: channels * spatial) { i in
                        for c in 0..<channels {
                            let base = (i * channels + c) * spatial
                            let g = gamma[c], b = beta[c], mu = mean[c], inv = inverse[c]
                            for s in 0..<spatial {
                                let v = (x[base + s] - mu) * inv
                                h[base + s] = v
                                y[base + s] = g * v + b
                            }
                        }
                    }
                }
            }
        }
        inverseStd = inverse
        lastShape = x.shape
        trainingForward = training
        return y
    }
    private var trainingForward = true

    public func backward(_ dy: Tensor) -> Tensor {
        let n = lastShape[0], spatial = lastShape.count == 4 ? lastShape[2] * lastShape[3] : 1
        let m = Float(n * spatial), channels = self.channels, training = trainingForward
        var sumsDy = [Float](repeating: 0, count: channels), sumsDyXhat = [Float](repeating: 0, count: channels)
        let gamma = weight.value.data, inverse = inverseStd
        let dx = dy.data.withUnsafeBufferPointer { dy in
            xhat.withUnsafeBufferPointer { h in
                sumsDy.withUnsafeMutableBufferPointer { sumsDy in
                    sumsDyXhat.withUnsafeMutableBufferPointer { sumsDyXhat in
                        Parallel.forEach(channels, cost: n * spatial) { c in
                            // Sums in double, as in forward: long single-precision sums drift from PyTorch's pairwise ones.
                            var sumDy = 0.0, sumDyXhat = 0.0
                            for i in 0..<n {
                                let base = (i * channels + c) * spatial
                                var a = 0.0, b = 0.0
                                for s in 0..<spatial { let d = Double(dy[base + s]); a += d; b += d * Double(h[base + s]) }
                                sumDy += a; sumDyXhat += b
                            }
                            sumsDy[c] = Float(sumDy)
                            sumsDyXhat[c] = Float(sumDyXhat)
                        }
                    }
                }
                return Tensor(shape: lastShape) { dx in
                    Parallel.forEach(n, cost: channels * spatial) { i in
                        for c in 0..<channels {
                            let base = (i * channels + c) * spatial
                            let scale = gamma[c] * inverse[c], meanDy = sumsDy[c] / m, meanDyXhat = sumsDyXhat[c] / m
                            // Training: the batch statistics depend on x too. Eval: a fixed affine map.
                            if training {
                                for s in 0..<spatial { dx[base + s] = scale * (dy[base + s] - meanDy - h[base + s] * meanDyXhat) }
                            } else {
                                for s in 0..<spatial { dx[base + s] = scale * dy[base + s] }
                            }
                        }
                    }
                }
            }
        }
        for c in 0..<channels {
            if !weight.frozen { weight.grad.data[c] += sumsDyXhat[c] }
            if !bias.frozen { bias.grad.data[c] += sumsDy[c] }
        }
        return dx
    }
}
