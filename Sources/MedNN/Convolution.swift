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
        batch = x.shape[0]
        let wide = batch * g.columns
        cols = [Float](repeating: 0, count: g.rows * wide)
        var product = [Float](repeating: 0, count: outChannels * wide)
        x.data.withUnsafeBufferPointer { input in
            cols.withUnsafeMutableBufferPointer { cols in
                for n in 0..<batch {
                    g.im2col(input.baseAddress! + n * inChannels * g.height * g.width, cols.baseAddress! + n * g.columns, rowStride: wide)
                }
                BLAS.gemm(m: outChannels, n: wide, k: g.rows, a: weight.value.data, b: cols.baseAddress!, c: &product)
            }
        }
        return Tensor(shape: [batch, outChannels, g.outHeight, g.outWidth],
                      data: Batched.split(product, rows: outChannels, batch: batch, columns: g.columns))
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let g = geometry!
        let wide = batch * g.columns
        let dyWide = Batched.join(dy.data, rows: outChannels, batch: batch, columns: g.columns)
        // dW += dY colsᵀ; dcols = Wᵀ dY; dx = col2im(dcols)
        if !weight.frozen {
            BLAS.gemm(transB: true, m: outChannels, n: g.rows, k: wide, a: dyWide, b: cols, beta: 1, c: &weight.grad.data)
        }
        var dcols = [Float](repeating: 0, count: g.rows * wide)
        BLAS.gemm(transA: true, m: g.rows, n: wide, k: outChannels, a: weight.value.data, b: dyWide, c: &dcols)
        var dx = Tensor(zeros: [batch, inChannels, g.height, g.width])
        dcols.withUnsafeBufferPointer { dcols in
            dx.data.withUnsafeMutableBufferPointer { dx in
                for n in 0..<batch {
                    g.col2im(dcols.baseAddress! + n * g.columns, dx.baseAddress! + n * inChannels * g.height * g.width, rowStride: wide)
                }
            }
        }
        return dx
    }
}

/// Moves between per-sample [N, rows, columns] and batch-wide [rows, N·columns] layouts.
enum Batched {
    static func join(_ data: [Float], rows: Int, batch: Int, columns: Int) -> [Float] {
        var out = [Float](repeating: 0, count: data.count)
        data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for n in 0..<batch {
                    for r in 0..<rows {
                        (dst.baseAddress! + r * batch * columns + n * columns)
                            .update(from: src.baseAddress! + (n * rows + r) * columns, count: columns)
                    }
                }
            }
        }
        return out
    }

    static func split(_ data: [Float], rows: Int, batch: Int, columns: Int) -> [Float] {
        var out = [Float](repeating: 0, count: data.count)
        data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for n in 0..<batch {
                    for r in 0..<rows {
                        (dst.baseAddress! + (n * rows + r) * columns)
                            .update(from: src.baseAddress! + r * batch * columns + n * columns, count: columns)
                    }
                }
            }
        }
        return out
    }
}

/// ConvTranspose2d without bias (the AE's decoder). Shapes: x [N, C, H, W] → y [N, O, (H−1)s − 2p + k, …];
/// weight [C, O, k, k] as PyTorch stores it. It is the data-gradient of a Conv2d, so it runs that way round.
public final class ConvTranspose2d: Layer {
    public let weight: Parameter
    let spec: ConvSpec
    private var input = Tensor(zeros: [0])
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
        let n = x.shape[0], hw = x.shape[2] * x.shape[3], wide = n * hw
        input = x
        inputWide = Batched.join(x.data, rows: inChannels, batch: n, columns: hw)
        // cols [O·k·k, N·HW] = Wᵀ [O·k·k, C] · x [C, N·HW], then scattered into each output image.
        var cols = [Float](repeating: 0, count: g.rows * wide)
        BLAS.gemm(transA: true, m: g.rows, n: wide, k: inChannels, a: weight.value.data, b: inputWide, c: &cols)
        var y = Tensor(zeros: [n, outChannels, outH, outW])
        cols.withUnsafeBufferPointer { cols in
            y.data.withUnsafeMutableBufferPointer { y in
                for i in 0..<n { g.col2im(cols.baseAddress! + i * hw, y.baseAddress! + i * outChannels * outH * outW, rowStride: wide) }
            }
        }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let g = geometry!
        let n = input.shape[0], hw = input.shape[2] * input.shape[3], wide = n * hw
        var dcols = [Float](repeating: 0, count: g.rows * wide)
        dy.data.withUnsafeBufferPointer { dy in
            dcols.withUnsafeMutableBufferPointer { dcols in
                for i in 0..<n { g.im2col(dy.baseAddress! + i * outChannels * g.height * g.width, dcols.baseAddress! + i * hw, rowStride: wide) }
            }
        }
        // dW [C, O·k·k] += x [C, N·HW] · dcolsᵀ; dx [C, N·HW] = W [C, O·k·k] · dcols
        if !weight.frozen {
            BLAS.gemm(transB: true, m: inChannels, n: g.rows, k: wide, a: inputWide, b: dcols, beta: 1, c: &weight.grad.data)
        }
        var dxWide = [Float](repeating: 0, count: inChannels * wide)
        BLAS.gemm(m: inChannels, n: wide, k: g.rows, a: weight.value.data, b: dcols, c: &dxWide)
        return Tensor(shape: input.shape, data: Batched.split(dxWide, rows: inChannels, batch: n, columns: hw))
    }
}
