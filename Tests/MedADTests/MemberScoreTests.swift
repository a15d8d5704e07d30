// The score plug-ins on a toy member set (one image of two pixels, three members), against values worked out by
// hand: x = (0, 1); x̂ = (0.5, 1), (−0.5, 1), (0, 0.7); dₖ = (0.2, 0), (0.4, 0), (0, 0.3).
//   pixel 0: errors 0.25, 0.25, 0; mean 0, ens_rec 0; var 0.25 → std 0.5; d std 0.2
//   pixel 1: errors 0, 0, 0.09; mean 0.9, ens_rec 0.01; var 0.03 → std √0.03; d var 0.03 → std √0.03
// With sₖ = log 4 everywhere (σ̄² = 4, σ̄ = 2) the AE-U forms are ens_rec/4, ens_std/2 and dsu/2.
import MedAD
import MedNN
import XCTest

final class MemberScoreTests: XCTestCase {
    func toy(logVariance: Float?) -> MemberSet {
        let dual: [[Float]] = [[0.2, 0], [0.4, 0], [0, 0.3]]
        return MemberSet(
            input: Tensor(shape: [1, 1, 1, 2], data: [0, 1]), reconstructions: [[0.5, 1], [-0.5, 1], [0, 0.7]],
            logVariances: logVariance.map { s in Array(repeating: [s, s], count: 3) }, dual: dual,
            dualPrecision: logVariance == nil ? nil : dual)
    }

    func testScoresMatchHandComputedValues() {
        let result = MemberScorer.score(toy(logVariance: nil), keepMaps: true)
        XCTAssertEqual(result.names, ["rec_0", "rec_1", "rec_2", "rec", "ens_rec", "ens_std", "dsu"])
        let root3 = 0.03.squareRoot()
        let expected = [0.125, 0.125, 0.045, 0.125, 0.005, (0.5 + root3) / 2, (0.2 + root3) / 2]
        for (name, (value, want)) in zip(result.names, zip(result.values[0], expected)) {
            XCTAssertEqual(value, want, accuracy: 1e-7, name)
        }
        XCTAssertEqual(result.maps[0].reconstruction, [0, 0.9], "the members' mean")
        XCTAssertEqual(Set(result.maps[0].byScore.keys), ["rec", "ens_rec", "ens_std", "dsu"])
        XCTAssertEqual(result.maps[0].byScore["ens_std"]![0], 0.5, accuracy: 1e-7)
    }

    func testPrecisionFormsDivideByTheMeanPredictedVariance() {
        let result = MemberScorer.score(toy(logVariance: Float(log(4.0))))
        XCTAssertEqual(Array(result.names.suffix(3)), ["ens_rec_u", "ens_std_u", "dsu_u"])
        let root3 = 0.03.squareRoot()
        for (value, want) in zip(result.values[0].suffix(3), [0.005 / 4, (0.5 + root3) / 4, (0.2 + root3) / 4]) {
            XCTAssertEqual(value, want, accuracy: 1e-6)
        }
    }

    /// layer_agreement by hand: heads (shallowest first) (0.2, 0), (0.6, 0), (0.6, 0.4), (0.4, 0.4) on x = (0.5, 0.5).
    /// Agreements 1 − mean|x̂ₕ − x̂ₕ₊₁|/2: 1 − 0.2/2 = 0.9, 0.9, 1 − 0.1/2 = 0.95; trapezoid (0.9 + 0.9)/2 +
    /// (0.9 + 0.95)/2 = 1.825; the score is −1.825. rec reads the deepest head: (0.1² + 0.1²)/2 = 0.01.
    func testLayerAgreementIsTheNegatedTrapezoidOverDepth() {
        let heads: [[Float]] = [[0.2, 0], [0.6, 0], [0.6, 0.4], [0.4, 0.4]]
        let set = { (byDepth: Bool, members: Int) in
            MemberSet(
                input: Tensor(shape: [1, 1, 1, 2], data: [0.5, 0.5]), reconstructions: Array(heads.suffix(members)), logVariances: nil,
                dual: Array(repeating: [0, 0], count: members), dualPrecision: nil, byDepth: byDepth,
                pointMember: members - 1)
        }
        let result = MemberScorer.score(set(true, 4), keepMaps: true)
        let column = { (name: String) in result.values[0][result.names.firstIndex(of: name)!] }
        XCTAssertEqual(column("layer_agreement"), -1.825, accuracy: 1e-6)
        XCTAssertEqual(column("rec"), 0.01, accuracy: 1e-7)
        XCTAssertEqual(result.maps[0].byScore["layer_agreement"]!.count, 2)
        // Three heads: agreements 0.9, 0.95 → −(0.9 + 0.95)/2.
        let three = MemberScorer.score(set(true, 3))
        XCTAssertEqual(three.values[0][three.names.firstIndex(of: "layer_agreement")!], -0.925, accuracy: 1e-6)
        // Unordered members (an ensemble) and two heads (one agreement, no area) have no such column.
        XCTAssertFalse(MemberScorer.score(set(false, 4)).names.contains("layer_agreement"))
        XCTAssertFalse(MemberScorer.score(set(true, 2)).names.contains("layer_agreement"))
    }

    /// The derivatives saliency uses, by hand at pixel 0 of the toys: ens_std with members 0.5, −0.5, 0 (mean 0,
    /// σ 0.5): (x̂ₖ − x̄)/((M − 1)σ) = 0.5, −0.5, 0; layer_agreement with heads 0.2, 0.6, 0.6, 0.4 (signs −, 0, +;
    /// weights ½, 1, ½): −0.25, 0.25, 0.25, −0.25; ens_rec at x = 0: −2(x − x̄)/M = 0 and 2(x − x̄) = 0.
    func testSaliencyDerivativesByHand() {
        var slot = [Double](repeating: 9, count: 3)
        let pixel = PixelMembers(toy(logVariance: nil), pixel: 0)
        XCTAssertEqual(slot.withUnsafeMutableBufferPointer { EnsembleSpread().derivatives(pixel, members: $0) }, 0)
        XCTAssertEqual(slot, [0.5, -0.5, 0])
        XCTAssertEqual(slot.withUnsafeMutableBufferPointer { EnsembleReconstruction().derivatives(pixel, members: $0) }, 0)
        XCTAssertEqual(slot, [0, 0, 0])
        XCTAssertNil(slot.withUnsafeMutableBufferPointer { DualSpaceUncertainty().derivatives(pixel, members: $0) })
        let heads = MemberSet(
            input: Tensor(shape: [1, 1, 1, 1], data: [0.5]), reconstructions: [[0.2], [0.6], [0.6], [0.4]], logVariances: nil,
            dual: Array(repeating: [0], count: 4), dualPrecision: nil, byDepth: true, pointMember: 3)
        var four = [Double](repeating: 9, count: 4)
        XCTAssertEqual(four.withUnsafeMutableBufferPointer { LayerAgreement().derivatives(PixelMembers(heads, pixel: 0), members: $0) }, 0)
        for (a, b) in zip(four, [-0.25, 0.25, 0.25, -0.25]) { XCTAssertEqual(a, b, accuracy: 1e-12) }
    }
}
