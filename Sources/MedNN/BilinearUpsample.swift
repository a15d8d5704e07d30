// Bilinear resizing to a fixed size, as PyTorch's nn.Upsample(size, mode="bilinear", align_corners=False): output
// pixel y reads the input at (y + ½)·(in/out) − ½, clamped below at 0, from its two neighbours (the upper one
// clamped to the last row), weighted by distance. Backward spreads each output gradient over the same four input
// pixels with the same weights. Shapes: batch-last [C, h, w, N] → [C, size, size, N].
public final class BilinearUpsample: Layer {
    public let size: Int
    private var inputShape: [Int] = []
    public func releaseCaches() {}

    public init(size: Int) {
        precondition(size > 0)
        self.size = size
    }

    /// Per output index: the lower input index, the upper one and the upper one's weight.
    static func taps(input: Int, output: Int) -> [(low: Int, high: Int, weight: Float)] {
        let scale = Float(input) / Float(output)
        return (0..<output).map { o in
            let source = max(scale * (Float(o) + 0.5) - 0.5, 0)
            let low = Int(source)
            return (low, min(low + 1, input - 1), source - Float(low))
        }
    }

    /// The four input pixels (row, column, weight) an output pixel reads.
    @inline(__always) static func corners(
        _ r: (low: Int, high: Int, weight: Float), _ q: (low: Int, high: Int, weight: Float), _ body: (Int, Int, Float) -> Void
    ) {
        body(r.low, q.low, (1 - r.weight) * (1 - q.weight))
        body(r.low, q.high, (1 - r.weight) * q.weight)
        body(r.high, q.low, r.weight * (1 - q.weight))
        body(r.high, q.high, r.weight * q.weight)
    }

    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        guard x.shape.count == 4 else { throw ShapeError(layer: "BilinearUpsample", expected: "[C, H, W, N]", got: x.shape) }
        inputShape = x.shape
        let n = x.shape[3]
        var y = Tensor(zeros: [x.shape[0], size, size, n])
        x.data.withUnsafeBufferPointer { input in
            y.data.withUnsafeMutableBufferPointer { output in
                nonisolated(unsafe) let (input, output) = (input.baseAddress!, output.baseAddress!)
                forEachTap { o, i, w in for s in 0..<n { output[o * n + s] += w * input[i * n + s] } }
            }
        }
        return y
    }

    /// Each output gradient goes back to the same four input pixels, with the same weights.
    public func backward(_ dy: Tensor) -> Tensor {
        let n = inputShape[3]
        var dx = Tensor(zeros: inputShape)
        dy.data.withUnsafeBufferPointer { gradient in
            dx.data.withUnsafeMutableBufferPointer { result in
                nonisolated(unsafe) let (gradient, result) = (gradient.baseAddress!, result.baseAddress!)
                forEachTap { o, i, w in for s in 0..<n { result[i * n + s] += w * gradient[o * n + s] } }
            }
        }
        return dx
    }

    /// body(output pixel, input pixel, weight) for every output pixel and each of the four input pixels it reads
    /// (pixel indices within [C, H, W], in runs of N samples), the channels spread over the threads: forward and
    /// backward each write within one channel, so the threads never share a value.
    private func forEachTap(_ body: (_ output: Int, _ input: Int, _ weight: Float) -> Void) {
        let (channels, height, width, n) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let rows = Self.taps(input: height, output: size), columns = Self.taps(input: width, output: size)
        Parallel.chunks(channels, work: channels * size * size * n) { range in
            for c in range {
                for (oy, r) in rows.enumerated() {
                    for (ox, q) in columns.enumerated() {
                        let output = (c * size + oy) * size + ox
                        Self.corners(r, q) { iy, ix, w in body(output, (c * height + iy) * width + ix, w) }
                    }
                }
            }
        }
    }
}
