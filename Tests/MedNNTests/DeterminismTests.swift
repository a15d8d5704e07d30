// The same seed and thread count give bit-identical weights after training (issue 5), on shapes large enough
// that the products and loops really are split across threads.
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
}
