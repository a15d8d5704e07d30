// Conv2d and ConvTranspose2d lowered to matrix products: im2col gathers each output position's receptive
// field into a column, col2im scatters columns back (summing overlaps). The whole batch's columns sit side by
// side ([rows, N·positions]), so each product is one large sgemm rather than one small one per sample.
import Foundation

/// Geometry of a square-kernel convolution over one [C, H, W] image.
struct ConvGeometry {
    let channels, height, width, kernel, stride, padding: Int
    var outHeight: Int { (height + 2 * padding - kernel) / stride + 1 }
    var outWidth: Int { (width + 2 * padding - kernel) / stride + 1 }
    var rows: Int { channels * kernel * kernel }
    var columns: Int { outHeight * outWidth }

    /// The output columns x whose input column x·stride − padding + kj lies inside the image.
    @inline(__always) func validColumns(_ kj: Int) -> Range<Int> {
        let first = max(0, (padding - kj + stride - 1) / stride)
        let last = min(outWidth, (width - 1 + padding - kj) / stride + 1)
        return first..<max(first, last)
    }

    /// cols [C·k·k, Ho·Wo] (rows `rowStride` apart) from image [C, H, W]; positions outside the image read as 0.
    func im2col(_ image: UnsafePointer<Float>, _ cols: UnsafeMutablePointer<Float>, rowStride: Int? = nil) {
        let oh = outHeight, ow = outWidth, ld = rowStride ?? oh * ow
        for c in 0..<channels {
            for ki in 0..<kernel {
                for kj in 0..<kernel {
                    let row = cols + ((c * kernel + ki) * kernel + kj) * ld
                    let valid = validColumns(kj)
                    for y in 0..<oh {
                        let iy = y * stride - padding + ki
                        let out = row + y * ow
                        guard iy >= 0, iy < height, !valid.isEmpty else { out.update(repeating: 0, count: ow); continue }
                        let line = image + (c * height + iy) * width + kj - padding
                        for x in 0..<valid.lowerBound { out[x] = 0 }
                        for x in valid { out[x] = line[x * stride] }
                        for x in valid.upperBound..<ow { out[x] = 0 }
                    }
                }
            }
        }
    }

    /// image [C, H, W] += the columns (rows `rowStride` apart) scattered back.
    func col2im(_ cols: UnsafePointer<Float>, _ image: UnsafeMutablePointer<Float>, rowStride: Int? = nil) {
        let oh = outHeight, ow = outWidth, ld = rowStride ?? oh * ow
        for c in 0..<channels {
            for ki in 0..<kernel {
                for kj in 0..<kernel {
                    let row = cols + ((c * kernel + ki) * kernel + kj) * ld
                    let valid = validColumns(kj)
                    for y in 0..<oh {
                        let iy = y * stride - padding + ki
                        guard iy >= 0, iy < height else { continue }
                        let line = image + (c * height + iy) * width + kj - padding
                        let source = row + y * ow
                        for x in valid { line[x * stride] += source[x] }
                    }
                }
            }
        }
    }
}

/// What Conv2d and ConvTranspose2d are configured with, and their shared input check.
struct ConvSpec {
    let name: String
    let inChannels, outChannels, kernel, stride, padding: Int

    func checkInput(_ x: Tensor) throws {
        guard x.shape.count == 4, x.shape[1] == inChannels else {
            throw ShapeError(layer: name, expected: "[N, \(inChannels), H, W]", got: x.shape)
        }
    }
}

/// Conv2d without bias (the AE's blocks). Shapes: x [N, C, H, W] → y [N, O, Ho, Wo]; weight [O, C, k, k].
public final class Conv2d: Layer {
    public let weight: Parameter
    let spec: ConvSpec
    private var cols: [Float] = []
    private var geometry: ConvGeometry?
    private var batch = 0

    /// PyTorch's default: fan_in = C·k·k.
    public init(_ name: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, initializer: inout UniformInit) {
        spec = ConvSpec(name: name, inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride, padding: padding)
        weight = .pytorchDefault("\(name).weight", shape: [outChannels, inChannels, kernel, kernel], fanIn: inChannels * kernel * kernel, &initializer)
    }

    public var parameters: [Parameter] { [weight] }
    var inChannels: Int { spec.inChannels }
    var outChannels: Int { spec.outChannels }

    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        try spec.checkInput(x)
        let (kernel, stride, padding) = (spec.kernel, spec.stride, spec.padding)
        let g = ConvGeometry(channels: inChannels, height: x.shape[2], width: x.shape[3], kernel: kernel, stride: stride, padding: padding)
        guard g.outHeight > 0, g.outWidth > 0 else { throw ShapeError(layer: spec.name, expected: "an image of at least \(kernel)×\(kernel)", got: x.shape) }
        geometry = g
        let batch = x.shape[0], wide = batch * g.columns, imageSize = inChannels * g.height * g.width
        self.batch = batch
        cols = [Float](uninitializedCount: g.rows * wide) { cols in
            x.data.withUnsafeBufferPointer { input in
                Parallel.forEach(batch, cost: g.rows * g.columns) { n in
                    g.im2col(input.baseAddress! + n * imageSize, cols + n * g.columns, rowStride: wide)
                }
            }
        }
        let product = [Float](uninitializedCount: outChannels * wide) { product in
            BLAS.gemm(m: outChannels, n: wide, k: g.rows, a: weight.value.data, b: cols, c: product)
        }
        return Tensor(shape: [batch, outChannels, g.outHeight, g.outWidth]) {
            Batched.split(product, into: $0, rows: outChannels, batch: batch, columns: g.columns)
        }
    }

    public func backward(_ dy: Tensor) -> Tensor { backward(dy, inputGradient: true)! }

    /// As backward, but without dL/dx when the caller has no use for it (the network's first layer in
    /// training): that saves a product and the scatter back into images.
    public func backward(_ dy: Tensor, inputGradient: Bool) -> Tensor? {
        let g = geometry!, batch = self.batch
        let wide = batch * g.columns
        let dyWide = [Float](uninitializedCount: dy.count) { Batched.join(dy.data, into: $0, rows: outChannels, batch: batch, columns: g.columns) }
        // dW += dY colsᵀ; dcols = Wᵀ dY; dx = col2im(dcols)
        if !weight.frozen {
            BLAS.gemm(transB: true, m: outChannels, n: g.rows, k: wide, a: dyWide, b: cols, beta: 1, c: &weight.grad.data)
        }
        guard inputGradient else { return nil }
        let dcols = [Float](uninitializedCount: g.rows * wide) { dcols in
            BLAS.gemm(transA: true, m: g.rows, n: wide, k: outChannels, a: weight.value.data, b: dyWide, c: dcols)
        }
        var dx = Tensor(zeros: [batch, inChannels, g.height, g.width])
        let imageSize = inChannels * g.height * g.width
        dcols.withUnsafeBufferPointer { dcols in
            dx.data.withUnsafeMutableBufferPointer { dx in
                Parallel.forEach(batch, cost: g.rows * g.columns) { n in
                    g.col2im(dcols.baseAddress! + n * g.columns, dx.baseAddress! + n * imageSize, rowStride: wide)
                }
            }
        }
        return dx
    }
}

/// Moves between per-sample [N, rows, columns] and batch-wide [rows, N·columns] layouts.
enum Batched {
    static func join(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, rows: Int, batch: Int, columns: Int) {
        Parallel.forEach(batch, cost: rows * columns) { n in
            for r in 0..<rows {
                (destination + r * batch * columns + n * columns).update(from: source + (n * rows + r) * columns, count: columns)
            }
        }
    }

    static func split(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, rows: Int, batch: Int, columns: Int) {
        Parallel.forEach(batch, cost: rows * columns) { n in
            for r in 0..<rows {
                (destination + (n * rows + r) * columns).update(from: source + r * batch * columns + n * columns, count: columns)
            }
        }
    }
}

/// ConvTranspose2d without bias (the AE's decoder). Shapes: x [N, C, H, W] → y [N, O, (H−1)s − 2p + k, …];
/// weight [C, O, k, k] as PyTorch stores it. It is the data-gradient of a Conv2d, so it runs that way round.
public final class ConvTranspose2d: Layer {
    public let weight: Parameter
    let spec: ConvSpec
    private var inputShape: [Int] = []
    private var inputWide: [Float] = []
    private var geometry: ConvGeometry?

    /// PyTorch's default for transposed convolutions: fan_in from weight.size(1)·k·k = O·k·k.
    public init(_ name: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, initializer: inout UniformInit) {
        spec = ConvSpec(name: name, inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride, padding: padding)
        weight = .pytorchDefault("\(name).weight", shape: [inChannels, outChannels, kernel, kernel], fanIn: outChannels * kernel * kernel, &initializer)
    }

    public var parameters: [Parameter] { [weight] }
    var inChannels: Int { spec.inChannels }
    var outChannels: Int { spec.outChannels }

    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        try spec.checkInput(x)
        let (kernel, stride, padding) = (spec.kernel, spec.stride, spec.padding)
        let outH = (x.shape[2] - 1) * stride - 2 * padding + kernel, outW = (x.shape[3] - 1) * stride - 2 * padding + kernel
        // The output image is the "input" of the equivalent convolution; its columns are the x positions.
        let g = ConvGeometry(channels: outChannels, height: outH, width: outW, kernel: kernel, stride: stride, padding: padding)
        precondition(g.outHeight == x.shape[2] && g.outWidth == x.shape[3])
        geometry = g
        let n = x.shape[0], hw = x.shape[2] * x.shape[3], wide = n * hw, imageSize = outChannels * outH * outW
        inputShape = x.shape
        inputWide = [Float](uninitializedCount: x.count) { Batched.join(x.data, into: $0, rows: inChannels, batch: n, columns: hw) }
        // cols [O·k·k, N·HW] = Wᵀ [O·k·k, C] · x [C, N·HW], then scattered into each output image.
        let cols = [Float](uninitializedCount: g.rows * wide) { cols in
            BLAS.gemm(transA: true, m: g.rows, n: wide, k: inChannels, a: weight.value.data, b: inputWide, c: cols)
        }
        var y = Tensor(zeros: [n, outChannels, outH, outW])
        cols.withUnsafeBufferPointer { cols in
            y.data.withUnsafeMutableBufferPointer { y in
                Parallel.forEach(n, cost: g.rows * hw) { i in g.col2im(cols.baseAddress! + i * hw, y.baseAddress! + i * imageSize, rowStride: wide) }
            }
        }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let g = geometry!
        let n = inputShape[0], hw = inputShape[2] * inputShape[3], wide = n * hw, imageSize = outChannels * g.height * g.width
        let dcols = [Float](uninitializedCount: g.rows * wide) { dcols in
            dy.data.withUnsafeBufferPointer { dy in
                Parallel.forEach(n, cost: g.rows * hw) { i in g.im2col(dy.baseAddress! + i * imageSize, dcols + i * hw, rowStride: wide) }
            }
        }
        // dW [C, O·k·k] += x [C, N·HW] · dcolsᵀ; dx [C, N·HW] = W [C, O·k·k] · dcols
        if !weight.frozen {
            BLAS.gemm(transB: true, m: inChannels, n: g.rows, k: wide, a: inputWide, b: dcols, beta: 1, c: &weight.grad.data)
        }
        let dxWide = [Float](uninitializedCount: inChannels * wide) { dxWide in
            BLAS.gemm(m: inChannels, n: wide, k: g.rows, a: weight.value.data, b: dcols, c: dxWide)
        }
        return Tensor(shape: inputShape) { Batched.split(dxWide, into: $0, rows: inChannels, batch: n, columns: hw) }
    }
}
