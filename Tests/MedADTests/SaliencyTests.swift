// Saliency (the input gradient of an image's anomaly score) against central finite differences of the score itself,
// for an ensemble (rec, ens_rec, ens_std), MC-dropout (its masks fixed per pass) and a layer ensemble
// (layer_agreement, rec through the deepest head).
import MedAD
import MedNN
import XCTest

final class SaliencyTests: XCTestCase {
    func settings(_ method: String, learners: Int) -> TrainingSettings {
        var s = TrainingSettings()
        (s.method, s.learners, s.inputSize, s.baseWidth, s.latentSize, s.hiddenSize) = (method, learners, 16, 2, 4, 16)
        s.samples = 3
        return s
    }

    /// The models after a few training steps, so that BatchNorm statistics and weights are not the initial ones.
    func trained(_ s: TrainingSettings) throws -> TrainedNetworks {
        var random = UniformInit(seed: 5)
        let images = ImageSet(
            size: 16, pixels: random.uniform(16 * 256, bound: 1), labels: Array(repeating: 0, count: 16), ids: (0..<16).map { "i\($0)" })
        var t = s
        (t.batchSize, t.epochs, t.validateEvery) = (8, 2, 0)
        return try EnsembleTrainer(settings: t, train: images, validation: nil).run(store: ScoreAndTrainingTests.MemoryStore()).models
    }

    func check(_ s: TrainingSettings, scores: [any MemberScore], file: StaticString = #filePath, line: UInt = #line) throws {
        let models = try trained(s)
        let method = s.uncertaintyMethod
        var random = UniformInit(seed: 9)
        let x = Tensor(shape: [2, 1, 16, 16], data: random.uniform(512, bound: 0.9))
        let value = { (input: Tensor, score: any MemberScore) -> Double in
            let set = try! s.members(input, models: models, indices: [0, 1])
            return MemberScorer.score(set, scores: [score]).values[1][0]  // image 1's score
        }
        for score in scores {
            let set = try s.members(x, models: models, indices: [0, 1])
            let gradient = try XCTUnwrap(
                try Saliency.inputGradient(of: score, set: set) { try method.pass($0, x, models: models, indices: [0, 1], settings: s) })
            // Each image's saliency is the gradient of its own score (eval mode keeps images independent): image 1's.
            // Directional derivatives along random directions over image 1's pixels: a per-pixel difference of a
            // float32 score drowns in rounding; a direction moves the score enough to measure.
            var analytic: [Double] = [], numeric: [Double] = []
            for _ in 0..<6 {
                let direction = random.uniform(256, bound: 1)
                var plus = x, minus = x
                for i in 0..<256 {
                    plus.data[256 + i] += 5e-3 * direction[i]
                    minus.data[256 + i] -= 5e-3 * direction[i]
                }
                numeric.append((value(plus, score) - value(minus, score)) / 1e-2)
                analytic.append((0..<256).reduce(0.0) { $0 + Double(gradient[256 + $1]) * Double(direction[$1]) })
            }
            let diff = zip(analytic, numeric).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
            let norm = numeric.map { $0 * $0 }.reduce(0, +).squareRoot()
            // ens_std (a square root) and layer_agreement (absolute differences) have kinks where members agree,
            // which a finite step crosses: they get a looser bound than the smooth reconstruction scores.
            let smooth = score is SingleModelReconstruction || score is EnsembleReconstruction
            XCTAssertLessThan(diff / max(norm, 1e-12), smooth ? 1e-2 : 6e-2, "\(s.method) \(type(of: score))", file: file, line: line)
        }
    }

    func testEnsembleSaliencyMatchesFiniteDifferences() throws {
        try check(
            settings("deep_ensemble", learners: 3), scores: [SingleModelReconstruction(), EnsembleReconstruction(), EnsembleSpread()])
    }

    func testMCDropoutAndLayerEnsembleSaliencyMatchFiniteDifferences() throws {
        var mc = settings("mc_dropout", learners: 1)
        mc.dropout = 0.3
        try check(mc, scores: [EnsembleSpread(), EnsembleReconstruction()])
        try check(settings("layer_ensemble", learners: 1), scores: [LayerAgreement(), SingleModelReconstruction()])
    }

    func testDualSpaceUncertaintyHasNoSaliency() throws {
        let s = settings("deep_ensemble", learners: 2)
        let models = try trained(s)
        let x = Tensor(zeros: [1, 1, 16, 16])
        let set = try s.members(x, models: models, indices: [0])
        XCTAssertNil(try Saliency.inputGradient(of: DualSpaceUncertainty(), set: set) { try MemberPass(models[$0], x) })
    }
}
