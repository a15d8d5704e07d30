// MC-dropout's layer against PyTorch (Fixtures/make_fixtures.py, mcdrop_*): the AE with Dropout2d(0.4) after
// en1…en4 and de1…de3 and given keep masks, in training mode (output, MSE loss, every parameter's gradient) and
// as an MC pass (BatchNorm in eval mode, masks applied: output and the input gradient of the L1 loss); then the
// layer's own properties: p 0 is the identity, masks depend only on (seed, stream), whole channels drop.
import Foundation
import MedNN
import XCTest

final class ChannelDropoutTests: XCTestCase {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    let config = AutoEncoderConfig(inputSize: 32, baseWidth: 2, latentSize: 4, hiddenSize: 16, dropout: 0.4)

    func assertClose(_ actual: Tensor, _ expected: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.shape, expected.shape, what, file: file, line: line)
        let diff = zip(actual.data, expected.data).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        let norm = expected.data.map { $0 * $0 }.reduce(0, +).squareRoot()
        XCTAssertLessThanOrEqual(diff / max(norm, 1e-12), 1e-4, "\(what): relative error", file: file, line: line)
    }

    /// The fixture's model with its masks: PyTorch's [N, C] keep masks, moved to the batch-last index c·N + n.
    func fixtureModel() throws -> (AutoEncoder, [String: SafeTensorValue]) {
        let case_ = try SafeTensors.read(fixtures.appendingPathComponent("mcdrop_case.safetensors")).tensors
        let model = AutoEncoder(config, seed: 0)
        try model.load(try SafeTensors.read(fixtures.appendingPathComponent("mcdrop_init.safetensors")).tensors)
        XCTAssertEqual(model.dropouts.count, 7)
        for (k, layer) in model.dropouts.enumerated() {
            let mask = try SafeTensors.float(case_, "mask.\(k)")
            let (n, c) = (mask.shape[0], mask.shape[1])
            layer.keep = (0..<c * n).map { mask.data[($0 % n) * c + $0 / n] }
        }
        return (model, case_)
    }

    func testTrainingWithMasksMatchesPyTorch() throws {
        let (model, case_) = try fixtureModel()
        let x = try SafeTensors.float(case_, "input")
        let output = try model.forward(x, training: true)
        assertClose(output, try SafeTensors.float(case_, "output"), "output")
        let loss = Loss.mse(output, x)
        XCTAssertEqual(loss.value, Double(try SafeTensors.float(case_, "loss").data[0]), accuracy: 1e-4 * loss.value)
        model.zeroGrad()
        let dx = model.inputGradient(of: loss)
        assertClose(dx, try SafeTensors.float(case_, "grad.input"), "dL/dx")
        // Biases feeding a BatchNorm have a true gradient of 0; PyTorch's is rounding noise (PyTorchFixtureTests).
        let noiseOnly: Set = ["bottle_neck.linear_enc.0.bias", "bottle_neck.linear_dec.0.bias", "bottle_neck.linear_enc.3.bias"]
        for parameter in model.parameters {
            let expected = try SafeTensors.float(case_, "grad.\(parameter.name)")
            if noiseOnly.contains(parameter.name) {
                for (a, b) in zip(parameter.grad.data, expected.data) { XCTAssertEqual(a, b, accuracy: 1e-5, parameter.name) }
            } else {
                assertClose(parameter.grad, expected, "grad.\(parameter.name)")
            }
        }
    }

    func testMCPassInputGradientMatchesPyTorch() throws {
        let (model, case_) = try fixtureModel()
        model.setFrozen(true)
        for layer in model.dropouts { layer.sampling = true }
        let x = try SafeTensors.float(case_, "input")
        let (output, _, dx) = try model.inputGradient(x, training: false) { Loss.l1($0, $1) }
        assertClose(output, try SafeTensors.float(case_, "mc.output"), "MC pass output")
        assertClose(dx, try SafeTensors.float(case_, "mc.grad.input"), "MC pass dL/dx")
    }

    func testZeroProbabilityIsTheIdentityAndMasksDependOnlyOnSeedAndStream() throws {
        let x = Tensor(shape: [3, 2, 2, 5], data: (0..<60).map { Float($0) + 1 })  // batch-last [C, H, W, N]
        let off = ChannelDropout(probability: 0)
        off.sampling = true
        XCTAssertEqual(try off.forward(x, training: true).data, x.data)
        let a = ChannelDropout(probability: 0.5), b = ChannelDropout(probability: 0.5)
        (a.seed, a.stream, b.seed, b.stream) = (9, 4, 9, 4)
        _ = try b.forward(Tensor(shape: [3, 2, 2, 5], data: Array(repeating: 1, count: 60)), training: true)  // b's history
        let y = try a.forward(x, training: true), z = try b.forward(x, training: true)
        XCTAssertEqual(y.data, z.data, "same seed and stream, same masks")
        for c in 0..<3 {
            for n in 0..<5 {
                let values = (0..<4).map { y.data[(c * 4 + $0) * 5 + n] / x.data[(c * 4 + $0) * 5 + n] }
                XCTAssertTrue(values.allSatisfy { $0 == 0 } || values.allSatisfy { $0 == 2 }, "channel \(c) of sample \(n): \(values)")
            }
        }
        XCTAssertEqual(try a.forward(x, training: false).data, x.data, "eval without sampling is the identity")
    }
}
