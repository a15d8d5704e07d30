// QDD-Ens against PyTorch (Tests/MedNNTests/Fixtures/make_fixtures.py, qdd_step): the joint step of three learners
// and the meta-learner (loss, the diversity sum, the meta-learner's output, every parameter's gradient, so the
// meta-learner's forward and backward and its gradient into the learners' encoders), one incremental-quantization
// step at 5, 4, 3 and 5 bits, and an Adam step with the quantized entries fixed. Then training end to end: the
// schedule quantizes every weight, the quantized weights stay on their grids, and a resumed run ends equal.
import Foundation
import MedNN
import XCTest

@testable import MedAD

final class QDDTests: XCTestCase {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("MedNNTests/Fixtures")
    /// Biases feeding a BatchNorm: their true gradient is 0 and PyTorch's is rounding noise (make_fixtures.py).
    let noise: Set<String> = ["bottle_neck.linear_enc.0.bias", "bottle_neck.linear_dec.0.bias", "bottle_neck.linear_enc.3.bias"]

    func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
        let diff = zip(a.data, b.data).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        return diff / max(b.data.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-12)
    }

    func settings() -> TrainingSettings {
        var s = TrainingSettings()
        (s.method, s.learners, s.inputSize, s.baseWidth, s.latentSize, s.hiddenSize) = ("qdd", 3, 32, 2, 4, 16)
        (s.batchSize, s.learningRate, s.diversityWeight, s.bits) = (4, 1e-3, 0.05, [5, 4, 3])
        return s
    }

    func testJointStepQuantizationAndFixedEntriesMatchPyTorch() throws {
        let t = try SafeTensors.read(fixtures.appendingPathComponent("qdd_step.safetensors")).tensors
        let s = settings()
        let x = try SafeTensors.float(t, "input")
        let learners = (0..<3).map { _ in AutoEncoder(s.modelConfig, seed: 0) }
        let meta = try XCTUnwrap(s.uncertaintyMethod.metaLearner(s))
        func state(_ net: String, _ stage: String) -> [String: SafeTensorValue] {
            let head = "\(net).\(stage)."
            var state: [String: SafeTensorValue] = [:]
            for (name, value) in t where name.hasPrefix(head) { state[String(name.dropFirst(head.count))] = value }
            for bn in (net == "meta" ? meta.stateDict() : learners[0].stateDict()).keys where bn.hasSuffix("num_batches_tracked") {
                state[bn] = .int64(shape: [], values: [0])
            }
            return state
        }
        let names = ["learner0", "learner1", "learner2", "meta"]
        func reset() throws {
            for (k, model) in learners.enumerated() { try model.load(state(names[k], "init")) }
            try meta.load(state("meta", "init"))
        }
        try reset()
        let trainer = try EnsembleTrainer(
            settings: s, train: ImageSet(size: 32, pixels: x.data, labels: [0, 0, 0, 0], ids: ["a", "b", "c", "d"]), validation: nil)
        let training = QDDTraining(trainer: trainer)
        let networks = training.networks(learners, meta: meta)
        for network in networks {
            network.adam = QDDTraining.Network.adam(network.parameters.filter { !noise.contains($0.name) }, s)
        }

        // The joint step: loss, diversity, the meta-learner's output and every gradient.
        let parts = try training.step(x, learners: learners, meta: meta, networks: networks, quantizing: false)
        let loss = try SafeTensors.float(t, "loss").data[0]
        XCTAssertEqual(Float(parts.loss), loss, accuracy: 1e-4 * abs(loss))
        XCTAssertEqual(parts.diversity, Double(try SafeTensors.float(t, "diversity").data[0]), accuracy: 1e-4 * parts.diversity)
        let fused = try QDDTraining.fused(x, learners: learners, meta: meta)
        XCTAssertEqual(fused.shape, [4, 1, 32, 32])
        for (k, net) in names.enumerated() {
            let parameters = k < 3 ? learners[k].parameters : meta.parameters
            for p in parameters where !noise.contains(p.name) {
                XCTAssertLessThanOrEqual(relativeError(p.grad, try SafeTensors.float(t, "\(net).grad.\(p.name)")), 1e-4, "\(net) \(p.name)")
            }
        }
        // The meta-learner's training-mode output, against PyTorch's (its forward pass alone).
        try reset()
        for model in learners { _ = try model.forward(x, training: true) }
        let metaOutput = try meta.forward(learners.map { model in MetaDecoder.levels.map { model.batchLastFeature($0)! } }, training: true)
        XCTAssertLessThanOrEqual(relativeError(metaOutput, try SafeTensors.float(t, "meta.output")), 1e-4, "meta-learner output")

        // One quantization step from the initial weights, then an Adam step with the quantized entries fixed.
        try reset()
        for network in networks {
            network.quantization.quantize(upTo: 0.3)
            network.adam = QDDTraining.Network.adam(network.parameters.filter { !noise.contains($0.name) }, s)
        }
        for (k, net) in names.enumerated() {
            for (name, value) in k < 3 ? learners[k].stateDict() : meta.stateDict() {
                guard case .float32(let mine) = value else { continue }
                XCTAssertLessThanOrEqual(
                    relativeError(mine, try SafeTensors.float(t, "\(net).q1.\(name)")), 1e-6, "\(net) \(name) quantized")
            }
        }
        let quantized = networks.map { $0.parameters.map(\.value) }
        _ = try training.step(x, learners: learners, meta: meta, networks: networks, quantizing: true)
        for (k, net) in names.enumerated() {
            for (name, value) in k < 3 ? learners[k].stateDict() : meta.stateDict() {
                guard case .float32(let mine) = value else { continue }
                XCTAssertLessThanOrEqual(
                    relativeError(mine, try SafeTensors.float(t, "\(net).step.\(name)")), 1e-4, "\(net) \(name) stepped")
            }
            let masks = networks[k].quantization.masks
            for (w, weight) in IncrementalQuantization.quantizable(networks[k].parameters).enumerated() {
                let before = quantized[k][networks[k].parameters.firstIndex { $0 === weight }!]
                for i in weight.value.data.indices where masks[w][i] {
                    XCTAssertEqual(weight.value.data[i], before.data[i], "\(net) \(weight.name)[\(i)] stays quantized")
                }
                XCTAssertEqual(Double(masks[w].filter { $0 }.count), (0.3 * Double(weight.value.count)).rounded(), "\(weight.name)")
            }
        }
    }

    /// Training end to end: after the schedule every weight is quantized (at most 2^bits magnitudes per tensor),
    /// records come per network and epoch, and a run killed after its first checkpoint resumes to the same weights.
    func testTrainingQuantizesEveryWeightAndResumes() throws {
        var s = settings()
        (s.inputSize, s.batchSize, s.epochs, s.quantEpochs, s.validateEvery) = (16, 8, 2, 1, 0)
        var random = UniformInit(seed: 4)
        let images = ImageSet(
            size: 16, pixels: random.uniform(16 * 256, bound: 1), labels: Array(repeating: 0, count: 16), ids: (0..<16).map { "i\($0)" })
        let trainer = try EnsembleTrainer(settings: s, train: images, validation: nil)
        let whole = try trainer.run(store: ScoreAndTrainingTests.MemoryStore())
        XCTAssertEqual(whole.records.count, trainer.expectedRecords)
        XCTAssertEqual(whole.records.count, 4 * (2 + 4))
        XCTAssertEqual(whole.records.filter { $0.epoch == 3 }.map(\.quantized).max()!, 0.3, accuracy: 0.01)
        XCTAssertTrue(whole.records.filter { $0.epoch == 6 }.allSatisfy { $0.quantized == 1 })
        // Each step quantizes with the tensor's min and max at that step (as the reference), so a tensor ends on
        // at most one grid of 2^bits magnitudes per step.
        let meta = try XCTUnwrap(whole.models.meta)
        for (k, parameters) in (whole.models.map(\.parameters) + [meta.parameters]).enumerated() {
            let bits = QDD.bits(k, s)
            for weight in IncrementalQuantization.quantizable(parameters) {
                let magnitudes = Set(weight.value.data.map(abs)).count
                XCTAssertLessThanOrEqual(magnitudes, 4 << bits, "network \(k) \(weight.name) at \(bits) bits")
                if weight.value.count > 4 << bits { XCTAssertLessThan(magnitudes, weight.value.count / 2, weight.name) }
            }
        }
        let x = images.batch(0..<4)
        let set = try s.members(x, models: whole.models, indices: [0, 1, 2, 3])
        XCTAssertEqual(set.members, 3)
        XCTAssertEqual(set.fused, try QDDTraining.fused(x, learners: whole.models.networks, meta: meta).data)
        XCTAssertEqual(MemberScorer.score(set).names.last, "meta_rec")

        let store = ScoreAndTrainingTests.MemoryStore()
        store.failAfter = 2
        XCTAssertThrowsError(try trainer.run(store: store))
        store.failAfter = nil
        let resumed = try trainer.run(store: store)
        for k in 0..<3 { XCTAssertEqual(resumed.models[k].stateDict(), whole.models[k].stateDict(), "learner \(k)") }
        XCTAssertEqual(resumed.models.meta?.stateDict(), meta.stateDict())
        XCTAssertEqual(resumed.records.map(\.loss), whole.records.map(\.loss))
    }
}
