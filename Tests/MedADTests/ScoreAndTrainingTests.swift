// The anomaly scores against PyTorch on a two-learner toy (Tests/MedNNTests/Fixtures/make_fixtures.py,
// scores_*.safetensors), and training's checkpoint resume: a run killed mid-learner and resumed ends with the
// weights of an uninterrupted one.
import Foundation
import MedAD
import MedNN
import XCTest

final class ScoreAndTrainingTests: XCTestCase {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("MedNNTests/Fixtures")

    func check(_ name: String, channels: Int) throws {
        let tensors = try SafeTensors.read(fixtures.appendingPathComponent("scores_\(name).safetensors")).tensors
        let config = AutoEncoderConfig(inputSize: 32, baseWidth: 2, latentSize: 4, hiddenSize: 16, outputChannels: channels)
        let learners = try (0..<2).map { k -> AutoEncoder in
            let model = AutoEncoder(config, seed: 0)
            let prefix = "learner\(k)."
            try model.load(
                Dictionary(
                    uniqueKeysWithValues: tensors.filter { $0.key.hasPrefix(prefix) }.map {
                        (String($0.key.dropFirst(prefix.count)), $0.value)
                    }))
            model.setFrozen(true)
            return model
        }
        let result = MemberScorer.score(try EnsembleMembers.collect(try SafeTensors.float(tensors, "input"), learners: learners))
        XCTAssertEqual(result.names, ScoreRegistry.columns(MemberShape(members: 2, hasVariance: channels == 2)))
        for (column, score) in result.names.enumerated() {
            let expected = try SafeTensors.float(tensors, "score.\(score)").data
            for (i, row) in result.values.enumerated() {
                XCTAssertEqual(
                    row[column], Double(expected[i]), accuracy: 1e-4 * abs(Double(expected[i])) + 1e-9, "\(name) \(score) image \(i)")
            }
        }
    }

    func testAEScoresMatchPyTorch() throws { try check("ae", channels: 1) }
    func testAEUScoresMatchPyTorch() throws { try check("aeu", channels: 2) }

    /// Checkpoints in memory; `failAfter` makes a save throw once that many have succeeded (a kill).
    final class MemoryStore: CheckpointStore {
        var saved: [Int: (tensors: [String: SafeTensorValue], epoch: Int, records: [EpochRecord])] = [:]
        var failAfter: Int?
        var saves = 0
        func load(learner: Int) throws -> (tensors: [String: SafeTensorValue], epoch: Int, records: [EpochRecord])? { saved[learner] }
        func save(learner: Int, tensors: [String: SafeTensorValue], epoch: Int, records: [EpochRecord]) throws {
            if let failAfter, saves >= failAfter { throw TrainingError("killed") }
            saved[learner] = (tensors, epoch, records)
            saves += 1
        }
    }

    func settings(_ backbone: Backbone) -> TrainingSettings {
        var s = TrainingSettings()
        (s.backbone, s.learners, s.batchSize, s.epochs, s.inputSize, s.baseWidth, s.latentSize, s.hiddenSize) = (
            backbone, 2, 8, 3, 16, 2, 4, 16
        )
        (s.memoryItems, s.shrinkThreshold, s.validateEvery) = (6, 0.1, 5)
        return s
    }

    func images(_ count: Int, seed: UInt64) -> ImageSet {
        var random = UniformInit(seed: seed)
        return ImageSet(
            size: 16, pixels: random.uniform(count * 256, bound: 1), labels: (0..<count).map { $0 % 2 }, ids: (0..<count).map { "img\($0)" }
        )
    }

    func testResumedTrainingEqualsAnUninterruptedRun() throws {
        for backbone in Backbone.allCases {
            let trainer = try EnsembleTrainer(settings: settings(backbone), train: images(20, seed: 1), validation: images(10, seed: 2))
            let whole = try trainer.run(store: MemoryStore())
            // Killed during learner 1's second epoch (after 3 + 1 saved epochs), then run again on the same store.
            let store = MemoryStore()
            store.failAfter = 4
            XCTAssertThrowsError(try trainer.run(store: store))
            XCTAssertEqual(store.saved[1]?.epoch, 1)
            store.failAfter = nil
            let resumed = try trainer.run(store: store)
            for (a, b) in zip(whole.models, resumed.models) { XCTAssertEqual(a.stateDict(), b.stateDict(), "\(backbone): resumed weights") }
            XCTAssertEqual(
                whole.records.map { [$0.loss, $0.repulsion, $0.extra] }, resumed.records.map { [$0.loss, $0.repulsion, $0.extra] })
            XCTAssertEqual(whole.records.count, 6)
            XCTAssertEqual(whole.records.map { $0.validationAUROC != nil }, [true, false, true, true, false, true], "epoch 1 and the last")
            XCTAssertGreaterThan(whole.records[4].repulsion, 0, "d2ue: learner 1 is repelled from learner 0")
            XCTAssertEqual(whole.records[0].repulsion, 0)
        }
    }

    /// A NaN enters through one image that epoch 1 leaves out (its last, incomplete batch) and epoch 2 uses: training
    /// stops in epoch 2 before updating, names learner, epoch and batch, and epoch 1's checkpoint stays.
    func testDivergenceStopsWithItsPlaceAndKeepsTheLastGoodCheckpoint() throws {
        var s = settings(.ae)
        s.learners = 1
        var set = images(20, seed: 3)
        let probe = try EnsembleTrainer(settings: s, train: set, validation: nil)
        let used = { (epoch: Int) in Set(probe.order(learner: 0, epoch: epoch).prefix(16)) }  // 2 batches of 8
        let poisoned = try XCTUnwrap((0..<20).first { !used(1).contains($0) && used(2).contains($0) })
        var pixels = set.pixels
        pixels[poisoned * 256 + 17] = .nan
        set = ImageSet(size: 16, pixels: pixels, labels: set.labels, ids: set.ids)
        let store = MemoryStore()
        XCTAssertThrowsError(try EnsembleTrainer(settings: s, train: set, validation: nil).run(store: store)) { error in
            let diverged = error as? TrainingDiverged
            XCTAssertEqual(diverged?.learner, 0)
            XCTAssertEqual(diverged?.epoch, 2)
            XCTAssertTrue(diverged?.loss.isNaN ?? false)
            XCTAssertTrue("\(error)".contains("the checkpoint of epoch 1 is kept"), "\(error)")
        }
        XCTAssertEqual(store.saved[0]?.epoch, 1)
        let weights = try XCTUnwrap(store.saved[0]?.tensors)
        for case .float32(let t) in weights.values { XCTAssertTrue(t.data.allSatisfy(\.isFinite), "the kept checkpoint is finite") }
    }

    /// Weights holding NaN (a diverged or damaged file) are refused where they load, naming the tensor.
    func testNonFiniteWeightsAreRefusedByName() throws {
        let model = AutoEncoder(settings(.ae).modelConfig, seed: 1)
        var state = model.stateDict()
        guard case .float32(var t) = state["en_block2.model.0.weight"] else { return XCTFail("no en_block2 weight") }
        t.data[3] = .infinity
        state["en_block2.model.0.weight"] = .float32(t)
        XCTAssertThrowsError(try AutoEncoder(settings(.ae).modelConfig, seed: 2).load(state)) { error in
            XCTAssertTrue("\(error)".contains("'en_block2.model.0.weight' holds a non-finite value (inf at index 3)"), "\(error)")
        }
    }

    /// MC-dropout's passes: at p 0 every pass is the deterministic eval forward; at p 0.4 passes differ, the same
    /// seed repeats them, and an image's members do not depend on the batch it is scored in.
    func testMCDropoutPassesAreSeededPerImageAndIdentityAtZero() throws {
        var s = settings(.ae)
        (s.method, s.learners) = ("mc_dropout", 1)
        let x = images(4, seed: 5).batch(0..<4)
        s.dropout = 0
        let plain = AutoEncoder(s.modelConfig, seed: 3)
        XCTAssertTrue(plain.dropouts.isEmpty)
        let deterministic = try plain.forward(x, training: false)
        let atZero = try s.members(x, models: [plain], indices: [0, 1, 2, 3])
        XCTAssertEqual(atZero.members, s.samples)
        for member in atZero.reconstructions { XCTAssertEqual(member, deterministic.data) }

        s.dropout = 0.4
        let model = AutoEncoder(s.modelConfig, seed: 3)
        XCTAssertEqual(model.dropouts.count, 7)
        let whole = try s.members(x, models: [model], indices: [0, 1, 2, 3])
        XCTAssertNotEqual(whole.reconstructions[0], whole.reconstructions[1], "passes draw different masks")
        XCTAssertEqual(try s.members(x, models: [model], indices: [0, 1, 2, 3]).reconstructions, whole.reconstructions)
        let plane = 256
        let halves = [0..<2, 2..<4].map { range in
            try! s.members(images(4, seed: 5).batch(range), models: [model], indices: Array(range))
        }
        // The same masks per image; the products may round differently at another batch size.
        for pass in 0..<s.samples {
            for (a, b) in zip(halves[0].reconstructions[pass] + halves[1].reconstructions[pass], whole.reconstructions[pass]) {
                XCTAssertEqual(a, b, accuracy: 1e-5, "pass \(pass)")
            }
        }
        XCTAssertEqual(halves[1].reconstructions[0].count, 2 * plane)
    }

    /// The single-network methods resume to the weights of an uninterrupted run: MC-dropout's training masks come
    /// from (epoch, batch), and a layer ensemble's heads are part of the checkpoint (state_dict names head<i>.0.*).
    func testSingleNetworkMethodsResumeToTheSameWeights() throws {
        for (method, backbone) in [
            ("mc_dropout", Backbone.ae), ("layer_ensemble", .ae), ("layer_ensemble", .aeu), ("layer_ensemble", .memae),
        ] {
            var s = settings(backbone)
            (s.method, s.learners, s.dropout) = (method, 1, 0.4)
            let trainer = try EnsembleTrainer(settings: s, train: images(20, seed: 1), validation: nil)
            let whole = try trainer.run(store: MemoryStore())
            let store = MemoryStore()
            store.failAfter = 1
            XCTAssertThrowsError(try trainer.run(store: store))
            store.failAfter = nil
            let resumed = try trainer.run(store: store)
            XCTAssertEqual(whole.models[0].stateDict(), resumed.models[0].stateDict(), "\(method) \(backbone)")
            XCTAssertEqual(whole.records.count, 3)
            let heads = whole.models[0].stateDict().keys.filter { $0.hasPrefix("head") }.sorted()
            XCTAssertEqual(heads, method == "layer_ensemble" ? (1...3).flatMap { ["head\($0).0.bias", "head\($0).0.weight"] } : [])
        }
    }

    /// A layer ensemble's member set: one forward pass gives a member per head, shallowest first, the last the
    /// network's own output (rec reads it); skip_heads drops the shallowest; the heads' losses all train.
    func testLayerEnsembleMembersAreTheHeadsOfOnePass() throws {
        var s = settings(.aeu)
        (s.method, s.learners) = ("layer_ensemble", 1)
        let x = images(3, seed: 7).batch(0..<3)
        let model = AutoEncoder(s.modelConfig, seed: 4)
        let output = try model.forward(x, training: false)
        let members = try s.members(x, models: [model], indices: [0, 1, 2])
        XCTAssertEqual(members.members, 4)
        XCTAssertTrue(members.byDepth)
        XCTAssertEqual(members.reconstructions[3], (0..<3).flatMap { i in output.data[2 * i * 256..<(2 * i + 1) * 256] })
        let scores = MemberScorer.score(members)
        XCTAssertEqual(scores.names.last, "layer_agreement")
        XCTAssertEqual(scores.values[0][scores.names.firstIndex(of: "rec")!], scores.values[0][scores.names.firstIndex(of: "rec_3")!])
        s.skipHeads = 2
        let fewer = try s.members(x, models: [model], indices: [0, 1, 2])
        XCTAssertEqual(fewer.reconstructions, Array(members.reconstructions.suffix(2)))
        XCTAssertEqual(fewer.dual, Array(members.dual.suffix(2)))
        XCTAssertEqual(fewer.pointMember, 1)
        // Training touches every head: each head's convolution gets a gradient from its own loss.
        let trainer = try EnsembleTrainer(settings: s, train: images(16, seed: 1), validation: nil)
        let before = AutoEncoder(s.modelConfig, seed: s.modelSeed(0)).stateDict()
        let after = try trainer.run(store: MemoryStore()).models[0].stateDict()
        for head in 1...3 { XCTAssertNotEqual(after["head\(head).0.weight"], before["head\(head).0.weight"], "head \(head) trains") }
    }
}
