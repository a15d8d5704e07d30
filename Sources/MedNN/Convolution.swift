// Conv2d and ConvTranspose2d. Images are batch-last, [C, H, W, N]: each (channel, pixel) is a contiguous run of
// the N samples, which DirectConvolution's kernels read in place for every kernel tap, and a layer's output
// [O, Ho, Wo, N] is already the next layer's input, so no copies are needed around the products (batch-first
// im2col with its short strided rows once took about 40% of a training step; batch-last im2col + sgemm + col2im
// ran training at 920 img/s where the direct kernels run 1,260, batch 64 at 64×64).
import Foundation

/// Geometry of a square-kernel convolution over a batch-last image [C, H, W, N].
struct ConvGeometry {
    let channels, height, width, kernel, stride, padding, batch: Int
    var outHeight: Int { (height + 2 * padding - kernel) / stride + 1 }
    var outWidth: Int { (width + 2 * padding - kernel) / stride + 1 }
    /// Values in one output channel: (output row, output column, sample).
    var columns: Int { outHeight * outWidth * batch }

    /// The convolution of `image` (this geometry's input) with `weight` [outChannels, channels, k, k]:
    /// [outChannels, outHeight, outWidth, batch].
    func convolve(_ image: Tensor, weight: [Float], outChannels: Int) -> Tensor {
        Tensor(shape: [outChannels, outHeight, outWidth, batch]) { y in
            image.data.withUnsafeBufferPointer { x in
                DirectConvolution.convolve(
                    x.baseAddress!, channels: channels, height: height, width: width, batch: batch, weight: weight,
                    outChannels: outChannels, kernel: kernel, stride: stride, padding: padding, into: y)
            }
        }
    }

    /// The transposed convolution of `source` (`sourceChannels` channels at this geometry's output positions) with
    /// `weight` [sourceChannels, channels, k, k]: an image of this geometry's input, [channels, height, width, batch].
    func transposed(_ source: Tensor, sourceChannels: Int, weight: [Float]) -> Tensor {
        Tensor(shape: [channels, height, width, batch]) { y in
            source.data.withUnsafeBufferPointer { x in
                DirectConvolution.transposed(
                    x.baseAddress!, channels: sourceChannels, height: outHeight, width: outWidth, batch: batch, weight: weight,
                    outChannels: channels, kernel: kernel, stride: stride, padding: padding, outHeight: height, outWidth: width,
                    into: y)
            }
        }
    }

    /// weight.grad += DirectConvolution.weightGradient of `a` (`rows` channels at this geometry's output
    /// positions) against `image` (this geometry's input).
    func addWeightGradient(_ a: Tensor, rows: Int, image: Tensor, into weight: Parameter) {
        a.data.withUnsafeBufferPointer { a in
            image.data.withUnsafeBufferPointer { image in
                weight.grad.data.withUnsafeMutableBufferPointer { dW in
                    DirectConvolution.weightGradient(
                        a.baseAddress!, rows: rows, image: image.baseAddress!, channels: channels, height: height, width: width,
                        batch: batch, kernel: kernel, stride: stride, padding: padding, outHeight: outHeight, outWidth: outWidth,
                        into: dW.baseAddress!)
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
        guard x.shape.count == 4, x.shape[0] == inChannels else {
            throw ShapeError(layer: name, expected: "[\(inChannels), H, W, N]", got: x.shape)
        }
    }
}

/// Conv2d (the AE's blocks without bias; a layer ensemble's heads with). Shapes: x [C, H, W, N] → y [O, Ho, Wo, N];
/// weight [O, C, k, k] as PyTorch stores it, which is the [O, C·k·k] matrix the direct kernel reads; bias [O].
public final class Conv2d: Layer {
    public let weight: Parameter
    public let bias: Parameter?
    let spec: ConvSpec
    /// The input, kept for the weight gradient (it is shared with the layer before, so keeping it costs nothing).
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
        var y = g.convolve(x, weight: weight.value.data, outChannels: spec.outChannels)
        if let bias {
            y.data.withUnsafeMutableBufferPointer { y in
                for o in 0..<spec.outChannels {
                    let b = bias.value.data[o], plane = y.baseAddress! + o * g.columns
                    for i in 0..<g.columns { plane[i] += b }
                }
            }
        }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor { backward(dy, inputGradient: true)! }

    /// As backward, but without dL/dx when the caller has no use for it (the network's first layer in
    /// training): that saves a product and the scatter back into images.
    public func backward(_ dy: Tensor, inputGradient: Bool) -> Tensor? {
        let g = geometry!
        // dW [O, C·k·k] += dY · (x's taps)ᵀ
        if weight.accumulates { g.addWeightGradient(dy, rows: spec.outChannels, image: input, into: weight) }
        // db += Σ over positions and samples of dY, per output channel.
        if let bias, bias.accumulates {
            for o in 0..<spec.outChannels {
                bias.grad.data[o] += Float(dy.data[o * g.columns..<(o + 1) * g.columns].reduce(0.0) { $0 + Double($1) })
            }
        }
        guard inputGradient else { return nil }
        // dx is the transposed convolution of dY with the same weights.
        return g.transposed(dy, sourceChannels: spec.outChannels, weight: weight.value.data)
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
        // The output image is the "input" of the equivalent convolution, x's pixels its output positions.
        let g = ConvGeometry(
            channels: spec.outChannels, height: (x.shape[1] - 1) * stride - 2 * padding + kernel,
            width: (x.shape[2] - 1) * stride - 2 * padding + kernel, kernel: kernel, stride: stride, padding: padding, batch: x.shape[3])
        precondition(g.outHeight == x.shape[1] && g.outWidth == x.shape[2])
        geometry = g
        input = x
        return g.transposed(x, sourceChannels: spec.inChannels, weight: weight.value.data)
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let g = geometry!
        // dW [C, O·k·k] += x · (dY's taps at x's pixels)ᵀ
        if weight.accumulates { g.addWeightGradient(input, rows: spec.inChannels, image: dy, into: weight) }
        // dx is the convolution of dY with the same weights, read as a Conv2d's [C, O, k, k].
        return g.convolve(dy, weight: weight.value.data, outChannels: spec.inChannels)
    }
}
