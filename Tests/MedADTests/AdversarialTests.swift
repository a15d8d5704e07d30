// Adversarial training with dual batch norm against PyTorch (Tests/MedNNTests/Fixtures/make_fixtures.py, adv_*):
// the PGD example from a given start, one training step's gradients (crafted batch through the adversarial set,
// clean batch through the clean set) and both sets' running statistics, kept apart.
import Foundation
import MedAD
import MedNN
import XCTest

final class AdversarialTests: XCTestCase {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("MedNNTests/Fixtures")
    let config = AutoEncoderConfig(inputSize: 32, baseWidth: 2, latentSize: 4, hiddenSize: 16, dualNorm: true)

    func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
        let diff = zip(a.data, b.data).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        return diff / max(b.data.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-12)
    }

    func testPGDAndADualBatchNormStepMatchPyTorch() throws {
        let case_ = try SafeTensors.read(fixtures.appendingPathComponent("adv_case.safetensors")).tensors
        let model = AutoEncoder(config, seed: 0)
        try model.load(try SafeTensors.read(fixtures.appendingPathComponent("adv_init.safetensors")).tensors)
        XCTAssertNotNil(model.stateDict()["en_block1.model.1.bns.1.running_var"], "PyTorch's names for the adversarial set")
        let x = try SafeTensors.float(case_, "input")
        let term = AdversarialTraining(terms: [SquaredErrorReconstruction()], epsilon: 0.01, stepSize: 0.005, iterations: 10)
        let crafted = try term.craft(model, x, start: try SafeTensors.float(case_, "start").data)
        let expected = try SafeTensors.float(case_, "pgd.output")
        XCTAssertLessThanOrEqual(zip(crafted.data, expected.data).map { abs($0 - $1) }.max()!, 1e-4, "the PGD example")
        XCTAssertLessThanOrEqual(zip(crafted.data, x.data).map { abs($0 - $1) }.max()!, 0.01 + 1e-6, "within ε of the clean input")
        XCTAssertEqual(model.normDomain, 0, "crafting leaves the clean set selected")

        // One step: the crafted batch through the adversarial set, the clean one through the clean set.
        model.zeroGrad()
        model.normDomain = 1
        let adversarial = Loss.mse(try model.forward(expected, training: true), x)
        model.backward(adversarial.dOutput, inputGradient: false)
        model.normDomain = 0
        let clean = Loss.mse(try model.forward(x, training: true), x)
        model.backward(clean.dOutput, inputGradient: false)
        let loss = try SafeTensors.float(case_, "loss").data[0]
        XCTAssertEqual(Float(adversarial.value + clean.value), loss, accuracy: 1e-4 * loss)
        let noise: Set<String> = ["bottle_neck.linear_enc.0.bias", "bottle_neck.linear_dec.0.bias", "bottle_neck.linear_enc.3.bias"]
        for p in model.parameters where !noise.contains(p.name) {
            XCTAssertLessThanOrEqual(relativeError(p.grad, try SafeTensors.float(case_, "grad.\(p.name)")), 1e-4, p.name)
        }
        for (name, value) in model.stateDict() {
            guard case .float32(let t) = value else { continue }
            XCTAssertLessThanOrEqual(relativeError(t, try SafeTensors.float(case_, "step.\(name)")), 1e-4, name)
        }
    }

    /// Training end to end: both batch-norm sets learn statistics of their own, and a resumed run ends equal.
    func testAdversarialTrainingKeepsTwoSetsAndResumes() throws {
        var s = TrainingSettings()
        (s.method, s.learners, s.inputSize, s.baseWidth, s.latentSize, s.hiddenSize) = ("adversarial", 1, 16, 2, 4, 16)
        (s.batchSize, s.epochs, s.validateEvery, s.pgdIterations) = (8, 3, 0, 3)
        var random = UniformInit(seed: 1)
        let images = ImageSet(
            size: 16, pixels: random.uniform(20 * 256, bound: 1), labels: Array(repeating: 0, count: 20), ids: (0..<20).map { "i\($0)" })
        let trainer = try EnsembleTrainer(settings: s, train: images, validation: nil)
        let whole = try trainer.run(store: ScoreAndTrainingTests.MemoryStore())
        let state = whole.models[0].stateDict()
        guard case .float32(let cleanMean)? = state["en_block2.model.1.bns.0.running_mean"],
            case .float32(let adversarialMean)? = state["en_block2.model.1.bns.1.running_mean"]
        else { return XCTFail("no dual batch-norm statistics") }
        XCTAssertNotEqual(cleanMean, adversarialMean, "each set saw its own batches")
        XCTAssertTrue(whole.records.allSatisfy { $0.adversarial > 0 }, "the adversarial loss is logged")
        XCTAssertEqual(whole.records[0].loss, whole.records[0].reconstruction + whole.records[0].adversarial, accuracy: 1e-9)
        let store = ScoreAndTrainingTests.MemoryStore()
        store.failAfter = 1
        XCTAssertThrowsError(try trainer.run(store: store))
        store.failAfter = nil
        XCTAssertEqual(try trainer.run(store: store).models[0].stateDict(), state, "resumed weights")
    }
}
