// MedNN against PyTorch on the same weights and inputs (Fixtures/make_fixtures.py): outputs, loss,
// every parameter's gradient, the input gradient, and the state after three Adam steps, to 1e-4 relative.
import Foundation
import MedNN
import XCTest

final class PyTorchFixtureTests: XCTestCase {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    let config = { (channels: Int, memoryItems: Int, heads: Bool) in
        AutoEncoderConfig(
            inputSize: 32, baseWidth: 2, latentSize: 4, hiddenSize: 16, outputChannels: channels, memoryItems: memoryItems,
            shrinkThreshold: 0.125, heads: heads)
    }
    /// MemAE's weight on the attention's entropy (make_fixtures.py).
    let entropyWeight: Float = 0.0002

    /// Biases whose true gradient is 0 (they feed BatchNorm1d): compared in absolute terms, left out of Adam
    /// (see make_fixtures.py).
    /// MemAE's z feeds the memory's softmax, not a BatchNorm, so there linear_enc.3.bias has a real gradient.
    func noiseOnly(memory: Bool) -> Set<String> {
        Set(["bottle_neck.linear_enc.0.bias", "bottle_neck.linear_dec.0.bias"] + (memory ? [] : ["bottle_neck.linear_enc.3.bias"]))
    }

    func load(_ name: String) throws -> [String: SafeTensorValue] { try SafeTensors.read(fixtures.appendingPathComponent(name)).tensors }

    func assertClose(
        _ actual: Tensor, _ expected: Tensor, _ what: String, tolerance: Float = 1e-4, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(actual.shape, expected.shape, what, file: file, line: line)
        let diff = zip(actual.data, expected.data).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        let norm = expected.data.map { $0 * $0 }.reduce(0, +).squareRoot()
        XCTAssertLessThanOrEqual(diff / max(norm, 1e-12), tolerance, "\(what): relative error", file: file, line: line)
    }

    func model(_ prefix: String, channels: Int, memoryItems: Int = 0, heads: Bool = false) throws -> AutoEncoder {
        let model = AutoEncoder(config(channels, memoryItems, heads), seed: 0)
        try model.load(load("\(prefix)_init.safetensors"))
        return model
    }

    /// Forward in training mode, the loss (plus MemAE's weighted attention entropy; plus every head's loss) and
    /// its full backward; returns the loss and dL/dx through the network and through the loss's own use of x.
    func lossAndInputGradient(_ model: AutoEncoder, _ x: Tensor, _ loss: (Tensor, Tensor) -> LossResult) throws -> (Double, Tensor) {
        let result = loss(try model.forward(x, training: true), x)
        var value = result.value
        var headGradients: [Int: Tensor] = [:]
        var dTarget = result.dTarget
        for (i, head) in model.headOutputs().enumerated() {
            let own = loss(head, x)
            value += own.value
            headGradients[i] = own.dOutput
            for j in dTarget.data.indices { dTarget.data[j] += own.dTarget.data[j] }
        }
        var attentionGradient: Tensor?
        if let attention = model.attention() {
            let entropy = Loss.memoryEntropy(attention)
            value += Double(entropyWeight) * entropy.value
            attentionGradient = Tensor(shape: entropy.dOutput.shape, data: entropy.dOutput.data.map { $0 * entropyWeight })
        }
        var dx = model.backward(result.dOutput, headGradients: headGradients, attentionGradient: attentionGradient)!
        for i in dx.data.indices { dx.data[i] += dTarget.data[i] }
        return (value, dx)
    }

    func check(_ prefix: String, channels: Int, memoryItems: Int = 0, heads: Bool = false, loss: (Tensor, Tensor) -> LossResult) throws {
        let case_ = try load("\(prefix)_case.safetensors")
        let x = try SafeTensors.float(case_, "input")
        let ae = try model(prefix, channels: channels, memoryItems: memoryItems, heads: heads)
        let output = try ae.forward(x, training: true)
        assertClose(output, try SafeTensors.float(case_, "output"), "output")
        XCTAssertEqual(ae.headOutputs().count, heads ? 3 : 0)
        for (i, head) in ae.headOutputs().enumerated() { assertClose(head, try SafeTensors.float(case_, "head.\(i)"), "head \(i + 1)") }
        assertClose(ae.feature("z")!, try SafeTensors.float(case_, "z"), "z")
        if memoryItems > 0 { assertClose(ae.attention()!, try SafeTensors.float(case_, "att"), "attention") }
        ae.zeroGrad()
        let (value, dx) = try lossAndInputGradient(ae, x, loss)
        XCTAssertEqual(value, Double(try SafeTensors.float(case_, "loss").data[0]), accuracy: 1e-4 * abs(value))
        assertClose(dx, try SafeTensors.float(case_, "grad.input"), "dL/dx")
        for p in ae.parameters {
            let expected = try SafeTensors.float(case_, "grad.\(p.name)")
            if noiseOnly(memory: memoryItems > 0).contains(p.name) {
                XCTAssertLessThan((p.grad.data + expected.data).map(abs).max()!, 1e-6, "dL/d\(p.name) should be 0")
            } else {
                assertClose(p.grad, expected, "dL/d\(p.name)")
            }
        }
        ae.setFrozen(true)
        let (_, frozenDx) = try lossAndInputGradient(ae, x, loss)
        XCTAssertEqual(frozenDx, dx, "freezing parameters does not change the input gradient")
        XCTAssertTrue(ae.parameters.allSatisfy { $0.grad.count == 0 }, "frozen parameters hold and accumulate no gradient")
        ae.setFrozen(false)
        XCTAssertTrue(ae.parameters.allSatisfy { $0.grad == Tensor(zeros: $0.value.shape) }, "thawed: a zeroed gradient")

        let trained = try model(prefix, channels: channels, memoryItems: memoryItems, heads: heads)
        let adam = Adam(
            trained.parameters.filter { !noiseOnly(memory: memoryItems > 0).contains($0.name) }, learningRate: 5e-4, beta1: 0.5,
            beta2: 0.999)
        for _ in 0..<3 {
            adam.zeroGrad()
            _ = try lossAndInputGradient(trained, x, loss)
            adam.update()
        }
        let state = trained.stateDict()
        for (name, value) in state {
            switch value {
            case .float32(let t): assertClose(t, try SafeTensors.float(case_, "adam3.\(name)"), "after 3 Adam steps: \(name)")
            case .int64(_, let values):
                guard case .int64(_, let expected)? = case_["adam3.\(name)"] else { return XCTFail("no adam3.\(name)") }
                XCTAssertEqual(values, expected, name)
            }
        }
        assertClose(
            try trained.forward(x, training: false), try SafeTensors.float(case_, "adam3.eval_output"), "eval-mode output after training")
        if heads {
            // A layer-ensemble member's input gradient: L1 of head 1's mean channel, back through that head alone.
            let last = try trained.forward(x, training: false)
            let head = trained.headOutputs()[0]
            let plane = x.shape[2] * x.shape[3]
            let mean = Tensor(shape: x.shape, data: (0..<x.shape[0]).flatMap { i in head.data[2 * i * plane..<(2 * i + 1) * plane] })
            let l1 = Loss.l1(mean, x)
            var dHead = Tensor(zeros: head.shape)
            for i in 0..<x.shape[0] { for p in 0..<plane { dHead.data[2 * i * plane + p] = l1.dOutput.data[i * plane + p] } }
            var dx = trained.backward(Tensor(zeros: last.shape), headGradients: [0: dHead])!
            for i in dx.data.indices { dx.data[i] += l1.dTarget.data[i] }
            assertClose(dx, try SafeTensors.float(case_, "adam3.head0.grad.input"), "head 1's dL/dx")
        }
    }

    func testAEMatchesPyTorch() throws { try check("ae", channels: 1, loss: Loss.mse) }

    func testAEUMatchesPyTorch() throws { try check("aeu", channels: 2, loss: Loss.heteroscedastic) }

    /// A layer ensemble (AE-U with heads after de1…de3): every head's output, the summed loss, every gradient
    /// (heads' convolutions and biases included), three Adam steps, and a head member's input gradient.
    func testLayerEnsembleHeadsMatchPyTorch() throws { try check("layer", channels: 2, heads: true, loss: Loss.heteroscedastic) }

    /// MemAE with 8 items and threshold 1/8: attention, entropy term and the shrinkage's gradients.
    func testMemAEMatchesPyTorch() throws {
        try check("memae", channels: 1, memoryItems: 8, loss: Loss.mse)
        let attention = try SafeTensors.float(try load("memae_case.safetensors"), "att")
        XCTAssertGreaterThan(attention.data.filter { $0 == 0 }.count, 0, "the fixture exercises the hard shrinkage")
        XCTAssertEqual(
            try model("memae", channels: 1, memoryItems: 8).stateDict().keys.filter { $0.contains("memory") },
            ["bottle_neck.memory_module.memory.weight"])
    }

    func testStateDictRoundTripsThroughSafetensorsAndBadFilesNameTheTensor() throws {
        let ae = try model("ae", channels: 1)
        let bytes = try SafeTensors.encode(ae.stateDict(), metadata: ["format": "pt"])
        let decoded = try SafeTensors.decode(bytes)
        XCTAssertEqual(decoded.tensors, ae.stateDict())
        XCTAssertEqual(decoded.metadata, ["format": "pt"])
        XCTAssertEqual(
            decoded.tensors.keys.filter { $0.hasPrefix("en_block1.") }.sorted(),
            [
                "en_block1.model.0.weight", "en_block1.model.1.bias", "en_block1.model.1.num_batches_tracked",
                "en_block1.model.1.running_mean", "en_block1.model.1.running_var", "en_block1.model.1.weight",
            ])

        XCTAssertThrowsError(try SafeTensors.decode(bytes.prefix(bytes.count - 10))) {
            XCTAssertTrue("\($0)".contains("outside the"), "\($0)")
        }
        XCTAssertThrowsError(try SafeTensors.decode(Data([1, 0, 0, 0, 0, 0, 0, 1]))) {
            XCTAssertTrue("\($0)".contains("runs past the end"))
        }
        for shape in ["[-4]", "[4611686018427387904,4]"] {
            let header = Data("{\"a\":{\"dtype\":\"F32\",\"shape\":\(shape),\"data_offsets\":[0,0]}}".utf8)
            let file = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Data($0) } + header
            XCTAssertThrowsError(try SafeTensors.decode(file)) {
                XCTAssertEqual("\($0)", "tensor 'a': impossible shape \(shape.replacingOccurrences(of: ",", with: ", "))")
            }
        }
        var wrong = ae.stateDict()
        wrong["bottle_neck.linear_enc.3.weight"] = .float32(Tensor(zeros: [5, 16]))
        XCTAssertThrowsError(try ae.load(wrong)) {
            XCTAssertEqual("\($0)", "tensor 'bottle_neck.linear_enc.3.weight': shape [5, 16], the model needs [4, 16]")
        }
        wrong = ae.stateDict()
        wrong.removeValue(forKey: "de_block2.model.1.running_var")
        XCTAssertThrowsError(try ae.load(wrong)) { XCTAssertTrue("\($0)".contains("'de_block2.model.1.running_var' is missing")) }
        XCTAssertThrowsError(try AutoEncoder(config(2, 0, false), seed: 0).load(ae.stateDict())) {
            XCTAssertTrue("\($0)".contains("de_block4.model.0.weight"), "\($0)")
        }
    }
}
