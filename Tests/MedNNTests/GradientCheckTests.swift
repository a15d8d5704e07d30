// Finite-difference checks of every layer's backward on small batch-last shapes: L = Σ y ⊙ r for a fixed random r, so
// dL/dy = r; central differences of L against the analytic dL/dx and dL/dθ.
import MedNN
import XCTest

final class GradientCheckTests: XCTestCase {
    var random = UniformInit(seed: 99)

    func tensor(_ shape: [Int]) -> Tensor { Tensor(shape: shape, data: random.uniform(shape.reduce(1, *), bound: 1)) }

    /// Relative error ‖a − b‖ / max(‖a‖, ‖b‖).
    func relativeError(_ a: [Float], _ b: [Float]) -> Float {
        let diff = zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        let scale = max(a.map { $0 * $0 }.reduce(0, +).squareRoot(), b.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-12)
        return diff / scale
    }

    /// (loss(values + eps·eᵢ) − loss(values − eps·eᵢ)) / 2eps for each i.
    func centralDifferences(_ values: [Float], eps: Float, _ loss: ([Float]) throws -> Double) rethrows -> [Float] {
        var probe = values
        return try values.indices.map { i in
            probe[i] = values[i] + eps; let plus = try loss(probe)
            probe[i] = values[i] - eps; let minus = try loss(probe)
            probe[i] = values[i]
            return Float((plus - minus) / Double(2 * eps))
        }
    }

    func check(
        _ layer: Layer, input shape: [Int], training: Bool = true, tolerance: Float = 1e-2,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let x = tensor(shape)
        let y = try layer.forward(x, training: training)
        let r = tensor(y.shape)
        func loss(_ input: Tensor) throws -> Double {
            // Evaluating in eval-free form would update running statistics; they do not enter training outputs.
            zip(try layer.forward(input, training: training).data, r.data).map { Double($0) * Double($1) }.reduce(0, +)
        }
        layer.parameters.forEach { $0.zeroGrad() }
        _ = try layer.forward(x, training: training)
        let dx = layer.backward(r)
        let eps: Float = 1e-2
        let numeric = try centralDifferences(x.data, eps: eps) { try loss(Tensor(shape: x.shape, data: $0)) }
        XCTAssertLessThan(relativeError(dx.data, numeric), tolerance, "dL/dx", file: file, line: line)
        for parameter in layer.parameters {
            let saved = parameter.value.data
            let numericParameter = try centralDifferences(saved, eps: eps) {
                parameter.value.data = $0; return try loss(x)
            }
            parameter.value.data = saved
            XCTAssertLessThan(
                relativeError(parameter.grad.data, numericParameter), tolerance, "dL/d\(parameter.name)", file: file, line: line)
        }
    }

    func testLinear() throws {
        var initializer = UniformInit(seed: 1)
        try check(Linear("fc", inFeatures: 7, outFeatures: 5, initializer: &initializer), input: [7, 3])
        try check(Linear("fc", inFeatures: 4, outFeatures: 6, bias: false, initializer: &initializer), input: [4, 2])
    }

    func testConv2dAtBothGeometries() throws {
        var initializer = UniformInit(seed: 2)
        try check(
            Conv2d("conv", inChannels: 2, outChannels: 3, kernel: 4, stride: 2, padding: 1, initializer: &initializer), input: [2, 6, 6, 2])
        try check(
            Conv2d("conv", inChannels: 3, outChannels: 2, kernel: 3, stride: 1, padding: 1, initializer: &initializer), input: [3, 5, 4, 2])
        // An odd height (the last input row feeds no output, so its gradient is 0), and 5 outputs × 20 samples: the
        // direct kernel's blocks of 4 outputs and 16 samples with their remainders.
        try check(
            Conv2d("conv", inChannels: 2, outChannels: 5, kernel: 4, stride: 2, padding: 1, initializer: &initializer),
            input: [2, 7, 5, 20])
    }

    /// A layer ensemble's head: the 3/1/1 convolution with bias, then bilinear upsampling (integer and
    /// non-integer factors, and one that shrinks).
    func testHeadLayers() throws {
        var initializer = UniformInit(seed: 3)
        try check(
            Conv2d("head", inChannels: 3, outChannels: 2, kernel: 3, stride: 1, padding: 1, bias: true, initializer: &initializer),
            input: [3, 4, 5, 2])
        try check(BilinearUpsample(size: 8), input: [2, 2, 2, 3])
        try check(BilinearUpsample(size: 7), input: [1, 3, 5, 2])
        try check(BilinearUpsample(size: 3), input: [1, 5, 4, 2])
    }

    /// PyTorch's F.interpolate([[0, 1], [2, 3]], size 4, bilinear, align_corners=False), by hand: the first output
    /// row and column read the first input row and column alone (the source index clamps at 0), the others blend
    /// ¾ and ¼.
    func testBilinearUpsampleValues() throws {
        let y = try BilinearUpsample(size: 4).forward(Tensor(shape: [1, 2, 2, 1], data: [0, 1, 2, 3]), training: false)
        XCTAssertEqual(y.data, [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3])
    }

    /// Forward values against the definitions written as plain loops (batch-last [C, H, W, N]): a 3/1/1 and a
    /// 4/2/1 convolution, and the 4/2/1 transposed convolution (each input pixel spreads its kernel over the output);
    /// with 2 outputs and samples, and with 6 outputs and 83 samples (the direct kernel's blocks of 4 outputs and
    /// of 64 and 16 samples, and every remainder).
    func testConvolutionForwardAgainstDirectLoops() throws {
        try convolutionForwardAgainstDirectLoops(outputs: 2, samples: 2)
        try convolutionForwardAgainstDirectLoops(outputs: 6, samples: 83)
    }

    func convolutionForwardAgainstDirectLoops(outputs: Int, samples n: Int) throws {
        var initializer = UniformInit(seed: 8)
        let (c, h, w) = (3, 6, 5)
        let x = tensor([c, h, w, n])
        func at(_ t: Tensor, _ ch: Int, _ y: Int, _ xx: Int, _ s: Int) -> Float {
            t.data[((ch * t.shape[1] + y) * t.shape[2] + xx) * t.shape[3] + s]
        }
        for (kernel, stride, padding) in [(3, 1, 1), (4, 2, 1)] {
            let conv = Conv2d(
                "conv", inChannels: c, outChannels: outputs, kernel: kernel, stride: stride, padding: padding, initializer: &initializer)
            let y = try conv.forward(x, training: true)
            let (oh, ow) = ((h + 2 * padding - kernel) / stride + 1, (w + 2 * padding - kernel) / stride + 1)
            XCTAssertEqual(y.shape, [outputs, oh, ow, n])
            for o in 0..<outputs {
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        for s in 0..<n {
                            var sum: Float = 0
                            for ci in 0..<c {
                                for ki in 0..<kernel {
                                    for kj in 0..<kernel {
                                        let iy = oy * stride - padding + ki, ix = ox * stride - padding + kj
                                        guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                                        sum += conv.weight.value.data[((o * c + ci) * kernel + ki) * kernel + kj] * at(x, ci, iy, ix, s)
                                    }
                                }
                            }
                            XCTAssertEqual(
                                at(y, o, oy, ox, s), sum, accuracy: 1e-5, "\(kernel)/\(stride)/\(padding) at \(o),\(oy),\(ox),\(s)")
                        }
                    }
                }
            }
        }
        let deconv = ConvTranspose2d(
            "deconv", inChannels: c, outChannels: outputs, kernel: 4, stride: 2, padding: 1, initializer: &initializer)
        let y = try deconv.forward(x, training: true)
        XCTAssertEqual(y.shape, [outputs, 2 * h, 2 * w, n])
        var expected = [Float](repeating: 0, count: y.count)
        for ci in 0..<c {
            for iy in 0..<h {
                for ix in 0..<w {
                    for o in 0..<outputs {
                        for ki in 0..<4 {
                            for kj in 0..<4 {
                                for s in 0..<n {
                                    let oy = iy * 2 - 1 + ki, ox = ix * 2 - 1 + kj
                                    guard oy >= 0, oy < 2 * h, ox >= 0, ox < 2 * w else { continue }
                                    expected[((o * 2 * h + oy) * 2 * w + ox) * n + s] +=
                                        deconv.weight.value.data[((ci * outputs + o) * 4 + ki) * 4 + kj] * at(x, ci, iy, ix, s)
                                }
                            }
                        }
                    }
                }
            }
        }
        XCTAssertLessThan(zip(y.data, expected).map { abs($0 - $1) }.max()!, 1e-5, "transposed convolution")
    }

    func testConvTranspose2d() throws {
        var initializer = UniformInit(seed: 3)
        try check(
            ConvTranspose2d("deconv", inChannels: 3, outChannels: 2, kernel: 4, stride: 2, padding: 1, initializer: &initializer),
            input: [3, 3, 4, 2])
        try check(
            ConvTranspose2d("deconv", inChannels: 5, outChannels: 2, kernel: 4, stride: 2, padding: 1, initializer: &initializer),
            input: [5, 2, 3, 20])
    }

    func testBatchNormTrainingAndEval() throws {
        try check(BatchNorm("bn2d", channels: 3), input: [3, 2, 3, 4])
        try check(BatchNorm("bn1d", channels: 5), input: [5, 6])
        let bn = BatchNorm("bn", channels: 2)
        bn.runningMean = [0.3, -0.2]
        bn.runningVar = [0.5, 2.0]
        try check(bn, input: [2, 2, 2, 3], training: false)
    }

    /// BatchNorm with `relu` against BatchNorm then ReLU (each checked above by finite differences, which ReLU's
    /// kink at 0 makes too coarse for the two at once), bit for bit: outputs, dL/dx, parameter gradients and
    /// running statistics, in training and in eval mode (with and without parameter gradients: scoring's path).
    func testBatchNormWithReLUIsBatchNormThenReLU() throws {
        for (shape, training, frozen) in [
            ([3, 4, 5, 6], true, false), ([5, 7], true, false), ([3, 4, 5, 6], false, false), ([3, 4, 5, 6], false, true),
        ] {
            let fused = BatchNorm("bn", channels: shape[0], relu: true)
            let (plain, relu) = (BatchNorm("bn", channels: shape[0]), ReLU())
            for bn in [fused, plain] {
                // Shifted weights and biases (γ of both signs), running statistics away from the identity.
                bn.weight.value.data = (0..<shape[0]).map { 0.5 - Float($0) * 0.6 }
                bn.bias.value.data = (0..<shape[0]).map { Float($0) * 0.3 - 0.2 }
                (bn.runningMean, bn.runningVar) = ((0..<shape[0]).map { Float($0) * 0.1 }, (0..<shape[0]).map { 0.5 + Float($0) })
                bn.parameters.forEach { $0.frozen = frozen }
            }
            let x = tensor(shape), dy = tensor(shape)
            let y = try fused.forward(x, training: training)
            let expected = try relu.forward(try plain.forward(x, training: training), training: training)
            let context = "\(shape), training \(training), frozen \(frozen)"
            XCTAssertEqual(y.data, expected.data, "output, \(context)")
            XCTAssert(y.data.contains(0) && y.data.contains { $0 > 0 }, "both sides of ReLU, \(context)")
            XCTAssertEqual(fused.backward(dy).data, plain.backward(relu.backward(dy)).data, "dL/dx, \(context)")
            for (a, b) in zip(fused.parameters, plain.parameters) where !frozen {
                XCTAssertEqual(a.grad.data, b.grad.data, "\(a.name) gradient, \(context)")
                XCTAssertNotEqual(a.grad.data, [Float](repeating: 0, count: shape[0]), context)
            }
            XCTAssertEqual(fused.runningMean, plain.runningMean, context)
            XCTAssertEqual(fused.runningVar, plain.runningVar, context)
        }
    }

    func testMemoryModule() throws {
        var initializer = UniformInit(seed: 5)
        // Threshold 0.16 with 6 items (attention near 1/6): some weights are shrunk to 0, some kept.
        try check(MemoryModule("mem", items: 6, latentSize: 4, shrinkThreshold: 0.16, initializer: &initializer), input: [4, 5])
        try check(MemoryModule("mem", items: 6, latentSize: 4, shrinkThreshold: 0, initializer: &initializer), input: [4, 5])
    }

    /// MemAE's entropy term through the memory: L = entropy(attention(z)), dL/dz against central differences.
    func testMemoryEntropyGradient() throws {
        var initializer = UniformInit(seed: 7)
        let memory = MemoryModule("mem", items: 6, latentSize: 4, shrinkThreshold: 0.16, initializer: &initializer)
        let z = tensor([4, 5])
        func entropy(_ z: Tensor) throws -> Double {
            _ = try memory.forward(z, training: true)
            return Loss.memoryEntropy(memory.attention.batchFirst()).value
        }
        _ = try memory.forward(z, training: true)
        let dAttention = Loss.memoryEntropy(memory.attention.batchFirst()).dOutput.batchLast()
        let dz = memory.backward(Tensor(zeros: [4, 5]), attentionGradient: dAttention)
        let numeric = try centralDifferences(z.data, eps: 1e-3) { try entropy(Tensor(shape: z.shape, data: $0)) }
        _ = try memory.forward(z, training: true)
        XCTAssertGreaterThan(memory.attention.data.filter { $0 == 0 }.count, 0, "some attention shrunk to 0")
        XCTAssertLessThan(relativeError(dz.data, numeric), 1e-2, "dEntropy/dz")
    }

    func testReLU() throws {
        try check(ReLU(), input: [3, 4, 2, 2])
    }

    func testShapeErrorsNameTheLayerAndBothShapes() throws {
        var initializer = UniformInit(seed: 4)
        let conv = Conv2d("en_block1.model.0", inChannels: 1, outChannels: 16, kernel: 4, stride: 2, padding: 1, initializer: &initializer)
        XCTAssertThrowsError(try conv.forward(Tensor(zeros: [3, 8, 8, 2]), training: true)) {
            XCTAssertEqual("\($0)", "en_block1.model.0: expected input [1, H, W, N], got [3, 8, 8, 2]")
        }
    }
}
