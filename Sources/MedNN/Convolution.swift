// Conv2d and ConvTranspose2d lowered to matrix products: im2col gathers each output position's receptive
// field into a column, one sgemm per sample does the rest, col2im scatters columns back (summing overlaps).
import Foundation

/// Geometry of a square-kernel convolution over one [C, H, W] image.
struct ConvGeometry {
    let channels, height, width, kernel, stride, padding: Int
    var outHeight: Int { (height + 2 * padding - kernel) / stride + 1 }
    var outWidth: Int { (width + 2 * padding - kernel) / stride + 1 }
    var rows: Int { channels * kernel * kernel }
    var columns: Int { outHeight * outWidth }

    /// cols [C·k·k, Ho·Wo] from image [C, H, W]; positions outside the image read as 0.
    func im2col(_ image: UnsafePointer<Float>, _ cols: UnsafeMutablePointer<Float>) {
        let oh = outHeight, ow = outWidth
        for c in 0..<channels {
            for ki in 0..<kernel {
                for kj in 0..<kernel {
                    let row = cols + ((c * kernel + ki) * kernel + kj) * oh * ow
                    for y in 0..<oh {
                        let iy = y * stride - padding + ki
                        let out = row + y * ow
                        guard iy >= 0, iy < height else { out.update(repeating: 0, count: ow); continue }
                        let line = image + (c * height + iy) * width
                        for x in 0..<ow {
                            let ix = x * stride - padding + kj
                            out[x] = ix >= 0 && ix < width ? line[ix] : 0
                        }
                    }
                }
            }
        }
    }

    /// image [C, H, W] += the columns scattered back.
    func col2im(_ cols: UnsafePointer<Float>, _ image: UnsafeMutablePointer<Float>) {
        let oh = outHeight, ow = outWidth
        for c in 0..<channels {
            for ki in 0..<kernel {
                for kj in 0..<kernel {
                    let row = cols + ((c * kernel + ki) * kernel + kj) * oh * ow
                    for y in 0..<oh {
                        let iy = y * stride - padding + ki
                        guard iy >= 0, iy < height else { continue }
                        let line = image + (c * height + iy) * width
                        for x in 0..<ow {
                            let ix = x * stride - padding + kj
                            if ix >= 0 && ix < width { line[ix] += row[y * ow + x] }
                        }
                    }
                }
            }
        }
    }
}

/// Conv2d without bias (the AE's blocks). Shapes: x [N, C, H, W] → y [N, O, Ho, Wo]; weight [O, C, k, k].
public final class Conv2d: Layer {
    public let weight: Parameter
    let name: String
    let inChannels, outChannels, kernel, stride, padding: Int
    private var cols: [Float] = []
    private var geometry: ConvGeometry?
    private var batch = 0

    /// PyTorch's default (kaiming_uniform with a = √5): U(-1/√fan_in, 1/√fan_in), fan_in = C·k·k.
    public init(_ name: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, initializer: inout UniformInit) {
        self.name = name
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        let fanIn = inChannels * kernel * kernel
        weight = Parameter(name: "\(name).weight", value: Tensor(shape: [outChannels, inChannels, kernel, kernel],
                                                                  data: initializer.uniform(outChannels * fanIn, bound: 1 / Float(fanIn).squareRoot())))
    }

    public var parameters: [Parameter] { [weight] }

    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        guard x.shape.count == 4, x.shape[1] == inChannels else {
            throw ShapeError(layer: name, expected: "[N, \(inChannels), H, W]", got: x.shape)
        }
        let g = ConvGeometry(channels: inChannels, height: x.shape[2], width: x.shape[3], kernel: kernel, stride: stride, padding: padding)
        guard g.outHeight > 0, g.outWidth > 0 else { throw ShapeError(layer: name, expected: "an image of at least \(kernel)×\(kernel)", got: x.shape) }
        geometry = g
        batch = x.shape[0]
        cols = [Float](repeating: 0, count: batch * g.rows * g.columns)
        var y = Tensor(zeros: [batch, outChannels, g.outHeight, g.outWidth])
        x.data.withUnsafeBufferPointer { input in
            cols.withUnsafeMutableBufferPointer { cols in
                y.data.withUnsafeMutableBufferPointer { out in
                    for n in 0..<batch {
                        let c = cols.baseAddress! + n * g.rows * g.columns
                        g.im2col(input.baseAddress! + n * inChannels * g.height * g.width, c)
                        BLAS.gemm(m: outChannels, n: g.columns, k: g.rows, a: weight.value.data, b: c,
                                  c: out.baseAddress! + n * outChannels * g.columns)
                    }
                }
            }
        }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let g = geometry!
        var dx = Tensor(zeros: [batch, inChannels, g.height, g.width])
        var dcols = [Float](repeating: 0, count: g.rows * g.columns)
        dy.data.withUnsafeBufferPointer { dy in
            for n in 0..<batch {
                let dyn = dy.baseAddress! + n * outChannels * g.columns
                // dW += dY cᵀ; dcols = Wᵀ dY; dx = col2im(dcols)
                cols.withUnsafeBufferPointer { cols in
                    BLAS.gemm(transB: true, m: outChannels, n: g.rows, k: g.columns, a: dyn,
                              b: cols.baseAddress! + n * g.rows * g.columns, beta: 1, c: &weight.grad.data)
                }
                BLAS.gemm(transA: true, m: g.rows, n: g.columns, k: outChannels, a: weight.value.data, b: dyn, c: &dcols)
                dx.data.withUnsafeMutableBufferPointer { dx in
                    g.col2im(dcols, dx.baseAddress! + n * inChannels * g.height * g.width)
                }
            }
        }
        return dx
    }
}

/// ConvTranspose2d without bias (the AE's decoder). Shapes: x [N, C, H, W] → y [N, O, (H−1)s − 2p + k, …];
/// weight [C, O, k, k] as PyTorch stores it. It is the data-gradient of a Conv2d, so it runs that way round.
public final class ConvTranspose2d: Layer {
    public let weight: Parameter
    let name: String
    let inChannels, outChannels, kernel, stride, padding: Int
    private var input = Tensor(zeros: [0])
    private var geometry: ConvGeometry?

    /// PyTorch's default for transposed convolutions: fan_in from weight.size(1)·k·k = O·k·k.
    public init(_ name: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, initializer: inout UniformInit) {
        self.name = name
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        let fanIn = outChannels * kernel * kernel
        weight = Parameter(name: "\(name).weight", value: Tensor(shape: [inChannels, outChannels, kernel, kernel],
                                                                  data: initializer.uniform(inChannels * fanIn, bound: 1 / Float(fanIn).squareRoot())))
    }

    public var parameters: [Parameter] { [weight] }

    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        guard x.shape.count == 4, x.shape[1] == inChannels else {
            throw ShapeError(layer: name, expected: "[N, \(inChannels), H, W]", got: x.shape)
        }
        let outH = (x.shape[2] - 1) * stride - 2 * padding + kernel, outW = (x.shape[3] - 1) * stride - 2 * padding + kernel
        // The output image is the "input" of the equivalent convolution; its columns are the x positions.
        let g = ConvGeometry(channels: outChannels, height: outH, width: outW, kernel: kernel, stride: stride, padding: padding)
        precondition(g.outHeight == x.shape[2] && g.outWidth == x.shape[3])
        geometry = g
        input = x
        let n = x.shape[0], hw = x.shape[2] * x.shape[3]
        var y = Tensor(zeros: [n, outChannels, outH, outW])
        var cols = [Float](repeating: 0, count: g.rows * hw)
        for i in 0..<n {
            x.data.withUnsafeBufferPointer { x in
                // cols [O·k·k, HW] = Wᵀ [O·k·k, C] · x [C, HW]
                BLAS.gemm(transA: true, m: g.rows, n: hw, k: inChannels, a: weight.value.data, b: x.baseAddress! + i * inChannels * hw, c: &cols)
            }
            y.data.withUnsafeMutableBufferPointer { y in g.col2im(cols, y.baseAddress! + i * outChannels * outH * outW) }
        }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let g = geometry!
        let n = input.shape[0], hw = input.shape[2] * input.shape[3]
        var dx = Tensor(zeros: input.shape)
        var dcols = [Float](repeating: 0, count: g.rows * hw)
        for i in 0..<n {
            dy.data.withUnsafeBufferPointer { dy in g.im2col(dy.baseAddress! + i * outChannels * g.height * g.width, &dcols) }
            input.data.withUnsafeBufferPointer { x in
                let xi = x.baseAddress! + i * inChannels * hw
                // dW [C, O·k·k] += x [C, HW] · dcolsᵀ; dx [C, HW] = W [C, O·k·k] · dcols
                BLAS.gemm(transB: true, m: inChannels, n: g.rows, k: hw, a: xi, b: dcols, beta: 1, c: &weight.grad.data)
            }
            dx.data.withUnsafeMutableBufferPointer { dx in
                BLAS.gemm(m: inChannels, n: hw, k: g.rows, a: weight.value.data, b: dcols, c: dx.baseAddress! + i * inChannels * hw)
            }
        }
        return dx
    }
}
