// Conv2d and ConvTranspose2d lowered to matrix products. Images are batch-last, [C, H, W, N]: im2col then
// gathers, for each kernel tap and output position, the N samples' values as one contiguous run, and a
// layer's product [O, Ho·Wo·N] is already the next layer's input, so no per-sample copies are needed around
// the products (batch-first im2col with its short strided rows took about 40% of a training step).
import Foundation

/// Geometry of a square-kernel convolution over a batch-last image [C, H, W, N].
struct ConvGeometry {
    let channels, height, width, kernel, stride, padding, batch: Int
    var outHeight: Int { (height + 2 * padding - kernel) / stride + 1 }
    var outWidth: Int { (width + 2 * padding - kernel) / stride + 1 }
    /// The lowered matrix is [rows, columns]: one row per (channel, kernel row, kernel column), one column per
    /// (output row, output column, sample).
    var rows: Int { channels * kernel * kernel }
    var columns: Int { outHeight * outWidth * batch }

    /// For each tap (c, ki, kj) and output position (y, x): the input pixel it reads, or nil outside the image.
    @inline(__always) func source(_ y: Int, _ x: Int, _ ki: Int, _ kj: Int) -> Int? {
        let iy = y * stride - padding + ki, ix = x * stride - padding + kj
        guard iy >= 0, iy < height, ix >= 0, ix < width else { return nil }
        return iy * width + ix
    }

    /// cols [rows, columns] from image [C, H, W, N], for the given channels and samples (threads take slices);
    /// positions outside the image read as 0.
    func im2col(_ image: UnsafePointer<Float>, _ cols: UnsafeMutablePointer<Float>, channels: Range<Int>, samples: Range<Int>) {
        let n = batch, count = samples.count, plane = height * width * n
        for c in channels {
            for ki in 0..<kernel {
                for kj in 0..<kernel {
                    let row = cols + ((c * kernel + ki) * kernel + kj) * columns + samples.lowerBound
                    let input = image + c * plane + samples.lowerBound
                    for y in 0..<outHeight {
                        for x in 0..<outWidth {
                            let out = row + (y * outWidth + x) * n
                            if let pixel = source(y, x, ki, kj) {
                                out.update(from: input + pixel * n, count: count)
                            } else {
                                out.update(repeating: 0, count: count)
                            }
                        }
                    }
                }
            }
        }
    }

    /// image [C, H, W, N] += the columns scattered back (overlapping taps sum), for the given channels and samples.
    func col2im(_ cols: UnsafePointer<Float>, _ image: UnsafeMutablePointer<Float>, channels: Range<Int>, samples: Range<Int>) {
        let n = batch, count = samples.count, plane = height * width * n
        for c in channels {
            for ki in 0..<kernel {
                for kj in 0..<kernel {
                    let row = cols + ((c * kernel + ki) * kernel + kj) * columns + samples.lowerBound
                    let output = image + c * plane + samples.lowerBound
                    for y in 0..<outHeight {
                        for x in 0..<outWidth {
                            guard let pixel = source(y, x, ki, kj) else { continue }
                            add(row + (y * outWidth + x) * n, into: output + pixel * n, count: count)
                        }
                    }
                }
            }
        }
    }

    /// target[0..<count] += values[0..<count], 8 lanes at a time (the scalar loop did not vectorise: the
    /// compiler cannot rule out that the two runs overlap).
    @inline(__always) private func add(_ values: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, count: Int) {
        var s = 0
        while s + 8 <= count {
            let sum =
                UnsafeRawPointer(target + s).loadUnaligned(as: SIMD8<Float>.self)
                + UnsafeRawPointer(values + s).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(target + s).storeBytes(of: sum, as: SIMD8<Float>.self)
            s += 8
        }
        while s < count { target[s] += values[s]; s += 1 }
    }

    /// Threads take whole channels (runs of all N samples) where there are enough channels, else slices of the
    /// batch.
    private func split(_ body: (_ channels: Range<Int>, _ samples: Range<Int>) -> Void) {
        if channels >= Parallel.threads {
            Parallel.chunks(channels, work: rows * columns) { body($0, 0..<batch) }
        } else {
            Parallel.chunks(batch, work: rows * columns) { body(0..<channels, $0) }
        }
    }

    func im2col(_ image: [Float]) -> [Float] {
        [Float](uninitializedCount: rows * columns) { cols in
            image.withUnsafeBufferPointer { image in split { im2col(image.baseAddress!, cols, channels: $0, samples: $1) } }
        }
    }

    /// A new [C, H, W, N] image holding the scattered columns.
    func col2im(_ cols: [Float]) -> Tensor {
        var image = Tensor(zeros: [channels, height, width, batch])
        image.data.withUnsafeMutableBufferPointer { image in split { col2im(cols, image.baseAddress!, channels: $0, samples: $1) } }
        return image
    }
}

/// What Conv2d and ConvTranspose2d are configured with, and their shared input check.
struct ConvSpec {
    let name: String
    let inChannels, outChannels, kernel, stride, padding: Int

    func checkInput(_ x: Tensor) throws {
        guard x.shape.count == 4, x.shape[0] == inChannels else {
            throw ShapeError(layer: name, expected: "[\(inChannels), H, W, N]", got: x.shape)
        }
    }
}

/// Conv2d (the AE's blocks without bias; a layer ensemble's heads with). Shapes: x [C, H, W, N] → y [O, Ho, Wo, N];
/// weight [O, C, k, k] as PyTorch stores it, which is the [O, C·k·k] matrix im2col's rows are ordered for; bias [O].
public final class Conv2d: Layer {
    public let weight: Parameter
    public let bias: Parameter?
    let spec: ConvSpec
    /// The input, kept for the weight gradient: its columns are made again in backward rather than kept from
    /// forward (a layer ensemble's 3×3 heads would keep 66 MB of columns at batch 64; the input is shared with
    /// the layer before, so keeping it costs nothing).
    private var input = Tensor(zeros: [0])
    private var geometry: ConvGeometry?
    public func releaseCaches() { input = Tensor(zeros: [0]) }

    /// PyTorch's default: weight and bias from U(-1/√fan_in, 1/√fan_in), fan_in = C·k·k.
    public init(
        _ name: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, bias: Bool = false,
        initializer: inout UniformInit
    ) {
        spec = ConvSpec(name: name, inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride, padding: padding)
        let fanIn = inChannels * kernel * kernel
        weight = .pytorchDefault("\(name).weight", shape: [outChannels, inChannels, kernel, kernel], fanIn: fanIn, &initializer)
        self.bias = bias ? .pytorchDefault("\(name).bias", shape: [outChannels], fanIn: fanIn, &initializer) : nil
    }

    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }

    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        try spec.checkInput(x)
        let g = ConvGeometry(
            channels: spec.inChannels, height: x.shape[1], width: x.shape[2], kernel: spec.kernel,
            stride: spec.stride, padding: spec.padding, batch: x.shape[3])
        guard g.outHeight > 0, g.outWidth > 0 else {
            throw ShapeError(layer: spec.name, expected: "an image of at least \(spec.kernel)×\(spec.kernel)", got: x.shape)
        }
        geometry = g
        input = x
        return Tensor(shape: [spec.outChannels, g.outHeight, g.outWidth, g.batch]) { y in
            x.data.withUnsafeBufferPointer { x in
                DirectConvolution.convolve(
                    x.baseAddress!, channels: g.channels, height: g.height, width: g.width, batch: g.batch,
                    weight: weight.value.data, outChannels: spec.outChannels, kernel: g.kernel, stride: g.stride,
                    padding: g.padding, into: y)
            }
            if let bias {
                for o in 0..<spec.outChannels {
                    let b = bias.value.data[o], plane = y + o * g.columns
                    for i in 0..<g.columns { plane[i] += b }
                }
            }
        }
    }

    public func backward(_ dy: Tensor) -> Tensor { backward(dy, inputGradient: true)! }

    /// As backward, but without dL/dx when the caller has no use for it (the network's first layer in
    /// training): that saves a product and the scatter back into images.
    public func backward(_ dy: Tensor, inputGradient: Bool) -> Tensor? {
        let g = geometry!
        // dW += dY colsᵀ; dcols = Wᵀ dY; dx = col2im(dcols)
        if weight.accumulates {
            let cols = g.im2col(input.data)
            BLAS.gemm(transB: true, m: spec.outChannels, n: g.rows, k: g.columns, a: dy.data, b: cols, beta: 1, c: &weight.grad.data)
        }
        // db += Σ over positions and samples of dY, per output channel.
        if let bias, bias.accumulates {
            for o in 0..<spec.outChannels {
                bias.grad.data[o] += Float(dy.data[o * g.columns..<(o + 1) * g.columns].reduce(0.0) { $0 + Double($1) })
            }
        }
        guard inputGradient else { return nil }
        // dx is the transposed convolution of dY with the same weights.
        return Tensor(shape: [g.channels, g.height, g.width, g.batch]) { dx in
            dy.data.withUnsafeBufferPointer { dy in
                DirectConvolution.transposed(
                    dy.baseAddress!, channels: spec.outChannels, height: g.outHeight, width: g.outWidth, batch: g.batch,
                    weight: weight.value.data, outChannels: g.channels, kernel: g.kernel, stride: g.stride, padding: g.padding,
                    outHeight: g.height, outWidth: g.width, into: dx)
            }
        }
    }
}

/// ConvTranspose2d without bias (the AE's decoder). Shapes: x [C, H, W, N] → y [O, (H−1)s − 2p + k, …, N];
/// weight [C, O, k, k] as PyTorch stores it. It is the data-gradient of a Conv2d, so it runs that way round.
public final class ConvTranspose2d: Layer {
    public let weight: Parameter
    let spec: ConvSpec
    private var input = Tensor(zeros: [0])
    private var geometry: ConvGeometry?
    public func releaseCaches() { input = Tensor(zeros: [0]) }

    /// PyTorch's default for transposed convolutions: fan_in from weight.size(1)·k·k = O·k·k.
    public init(_ name: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, initializer: inout UniformInit) {
        spec = ConvSpec(name: name, inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride, padding: padding)
        weight = .pytorchDefault(
            "\(name).weight", shape: [inChannels, outChannels, kernel, kernel], fanIn: outChannels * kernel * kernel, &initializer)
    }

    public var parameters: [Parameter] { [weight] }

    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        try spec.checkInput(x)
        let (kernel, stride, padding) = (spec.kernel, spec.stride, spec.padding)
        // The output image is the "input" of the equivalent convolution; its columns are x's positions.
        let g = ConvGeometry(
            channels: spec.outChannels, height: (x.shape[1] - 1) * stride - 2 * padding + kernel,
            width: (x.shape[2] - 1) * stride - 2 * padding + kernel, kernel: kernel, stride: stride, padding: padding, batch: x.shape[3])
        precondition(g.outHeight == x.shape[1] && g.outWidth == x.shape[2])
        geometry = g
        input = x
        return Tensor(shape: [g.channels, g.height, g.width, g.batch]) { y in
            x.data.withUnsafeBufferPointer { x in
                DirectConvolution.transposed(
                    x.baseAddress!, channels: spec.inChannels, height: g.outHeight, width: g.outWidth, batch: g.batch,
                    weight: weight.value.data, outChannels: spec.outChannels, kernel: kernel, stride: stride, padding: padding,
                    outHeight: g.height, outWidth: g.width, into: y)
            }
        }
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let g = geometry!
        // dW [C, O·k·k] += x [C, H·W·N] · im2col(dY)ᵀ
        if weight.accumulates {
            let dcols = g.im2col(dy.data)
            BLAS.gemm(transB: true, m: spec.inChannels, n: g.rows, k: g.columns, a: input.data, b: dcols, beta: 1, c: &weight.grad.data)
        }
        // dx is the convolution of dY with the same weights, read as a Conv2d's [C, O, k, k].
        return Tensor(shape: input.shape) { dx in
            dy.data.withUnsafeBufferPointer { dy in
                DirectConvolution.convolve(
                    dy.baseAddress!, channels: g.channels, height: g.height, width: g.width, batch: g.batch,
                    weight: weight.value.data, outChannels: spec.inChannels, kernel: g.kernel, stride: g.stride,
                    padding: g.padding, into: dx)
            }
        }
    }
}
