// The same seed and thread count give bit-identical weights after training (issue 5), on shapes large enough
// that the products and loops really are split across threads; the convolutions alone do not depend on the
// thread count at all.
import MedNN
import XCTest

final class DeterminismTests: XCTestCase {
    func train(seed: UInt64, threads: Int) throws -> [String: SafeTensorValue] {
        let saved = Parallel.threads
        Parallel.threads = threads
        defer { Parallel.threads = saved }
        let model = AutoEncoder(AutoEncoderConfig(inputSize: 32, baseWidth: 8, latentSize: 8, hiddenSize: 256), seed: seed)
        let adam = Adam(model.parameters, learningRate: 5e-4, beta1: 0.5, beta2: 0.999)
        var data = UniformInit(seed: 100)
        for _ in 0..<3 {
            let x = Tensor(shape: [32, 1, 32, 32], data: data.uniform(32 * 32 * 32, bound: 1))
            adam.zeroGrad()
            model.backward(Loss.mse(try model.forward(x, training: true), x).dOutput, inputGradient: false)
            adam.update()
        }
        return model.stateDict()
    }

    func testSameSeedAndThreadsGiveIdenticalWeights() throws {
        let first = try train(seed: 8, threads: 2)
        XCTAssertEqual(try train(seed: 8, threads: 2), first, "two runs, seed 8, 2 threads")
        XCTAssertNotEqual(try train(seed: 9, threads: 2), first, "another seed gives other weights")
    }

    /// The direct convolutions split output rows (forward, data gradients) and blocks of 4 weight rows (weight
    /// gradients) across threads, each value summed the same way whatever the split: 1, 2 and 3 threads agree
    /// bit for bit (10 channels: blocks of 4, 4 and 2 rows, so 2 threads split them unevenly, and the last 2 rows
    /// take the kernel's path for the M mod 4 rows).
    func testConvolutionsDoNotDependOnTheThreadCount() throws {
        func run(threads: Int) throws -> [[Float]] {
            let saved = Parallel.threads
            Parallel.threads = threads
            defer { Parallel.threads = saved }
            var initializer = UniformInit(seed: 4)
            let conv = Conv2d("conv", inChannels: 3, outChannels: 10, kernel: 4, stride: 2, padding: 1, initializer: &initializer)
            let deconv = ConvTranspose2d(
                "deconv", inChannels: 10, outChannels: 3, kernel: 4, stride: 2, padding: 1, initializer: &initializer)
            var data = UniformInit(seed: 5)
            let x = Tensor(shape: [3, 32, 32, 40], data: data.uniform(3 * 32 * 32 * 40, bound: 1))
            let y = try deconv.forward(try conv.forward(x, training: true), training: true)
            let dx = conv.backward(deconv.backward(y))
            return [y.data, dx.data, conv.weight.grad.data, deconv.weight.grad.data]
        }
        let one = try run(threads: 1)
        XCTAssertEqual(try run(threads: 2), one, "2 threads")
        XCTAssertEqual(try run(threads: 3), one, "3 threads")
    }
}
