// Metrics against values worked out by hand (abnormal = 1 = positive), ties included.
import MedAD
import MedNN
import XCTest

final class MetricsTests: XCTestCase {
    func testAUROCAndAPWithoutTies() {
        // Pairs (abnormal, normal): 0.35>0.1 ✓, 0.35<0.4 ✗, 0.8>0.1 ✓, 0.8>0.4 ✓ → 3/4.
        // Thresholds 0.8: R ½ P 1; 0.4: R ½ P ½; 0.35: R 1 P ⅔; 0.1: R 1 → AP = ½·1 + ½·⅔ = 5/6.
        let scores = [0.1, 0.4, 0.35, 0.8], labels = [0, 0, 1, 1]
        XCTAssertEqual(Metrics.auroc(scores, labels)!, 0.75, accuracy: 1e-12)
        XCTAssertEqual(Metrics.averagePrecision(scores, labels)!, 5.0 / 6, accuracy: 1e-12)
        // Specificity ≥ 0.95 with 2 normals allows no false positive: only the 0.8 threshold, sensitivity ½.
        XCTAssertEqual(Metrics.sensitivity(atSpecificity: 0.95, scores, labels)!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(Metrics.sensitivity(atSpecificity: 0.5, scores, labels)!, 1.0, accuracy: 1e-12)
    }

    func testTiesCountHalfAndShareAThreshold() {
        // Abnormal {0.5, 0.9}, normal {0.5, 0.2}: (0.5 vs 0.5) ½, the other three pairs 1 → 3.5/4.
        // Thresholds 0.9: R ½ P 1; 0.5 (both tied images at once): R 1 P ⅔; 0.2: R 1 → AP = ½ + ½·⅔ = 5/6.
        let scores = [0.5, 0.5, 0.2, 0.9], labels = [1, 0, 0, 1]
        XCTAssertEqual(Metrics.auroc(scores, labels)!, 0.875, accuracy: 1e-12)
        XCTAssertEqual(Metrics.averagePrecision(scores, labels)!, 5.0 / 6, accuracy: 1e-12)
        // All scores equal: chance level, AP = prevalence.
        XCTAssertEqual(Metrics.auroc([1, 1, 1, 1], [0, 1, 0, 1])!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(Metrics.averagePrecision([1, 1, 1, 1], [0, 1, 0, 0])!, 0.25, accuracy: 1e-12)
        XCTAssertEqual(Metrics.rocCurve(scores, labels).map { [$0.fpr, $0.tpr] }, [[0, 0], [0, 0.5], [0.5, 1], [1, 1]])
    }

    func testOneClassHasNoAUROC() {
        XCTAssertNil(Metrics.auroc([0.1, 0.2], [0, 0]))
        XCTAssertNil(Metrics.averagePrecision([0.1, 0.2], [0, 0]))
    }

    func testBootstrapIsSeededAndBracketsTheEstimate() {
        var generator = SeededGeneratorForTests(seed: 3)
        let labels = (0..<200).map { $0 % 2 }
        let scores = labels.map { Double($0) * 0.6 + generator.uniform() }
        let a = Metrics.bootstrap(scores, labels, resamples: 500, seed: 8, metric: Metrics.auroc)!
        let b = Metrics.bootstrap(scores, labels, resamples: 500, seed: 8, metric: Metrics.auroc)!
        let c = Metrics.bootstrap(scores, labels, resamples: 500, seed: 9, metric: Metrics.auroc)!
        XCTAssertEqual(a, b, "same seed, same interval")
        XCTAssertNotEqual(a, c, "another seed, another interval")
        let estimate = Metrics.auroc(scores, labels)!
        XCTAssertLessThan(a.low, estimate)
        XCTAssertGreaterThan(a.high, estimate)
        XCTAssertLessThan(a.high - a.low, 0.2, "200 images give an interval narrower than 0.2")
    }
}

/// Uniform draws for test data (the tests do not depend on MedNN's generator's exact stream).
struct SeededGeneratorForTests {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func uniform() -> Double {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Double(state >> 11) / Double(1 << 53)
    }

    /// Map (0.9, 0.8, 0.1, 0.4) against mask (1, 0, 0, 1): pixel AUROC 3/4 (0.4 < 0.8 the one wrong pair); Dice at
    /// the thresholds 0.9, 0.8, 0.4, 0.1: 2/3, 1/2, 4/5, 2/3, so the best is 0.8 at 0.4.
    func testLocalisationByHand() throws {
        let result = try XCTUnwrap(Metrics.localisation(map: [0.9, 0.8, 0.1, 0.4], mask: [true, false, false, true]))
        XCTAssertEqual(result.auroc, 0.75)
        XCTAssertEqual(result.dice, 0.8, accuracy: 1e-12)
        XCTAssertEqual(result.threshold, 0.4)
        XCTAssertNil(Metrics.localisation(map: [0.2, 0.1], mask: [false, false]), "no lesion pixel")
        // The sweep's AUROC is the Mann–Whitney one, ties included.
        var random = SeededGenerator(seed: 4)
        let map = (0..<500).map { _ in Double(random.next() % 20) }
        let mask = (0..<500).map { map[$0] + Double(random.next() % 15) > 18 }
        let swept = try XCTUnwrap(Metrics.localisation(map: map, mask: mask)?.auroc)
        XCTAssertEqual(swept, try XCTUnwrap(Metrics.auroc(map, mask.map { $0 ? 1 : 0 })), accuracy: 1e-12)
    }
}

final class MapStripTests: XCTestCase {
    /// A 3×3 lesion in a 5×5 panel: its eight border pixels turn white, its centre and the outside stay.
    func testOutlineMarksTheMaskBorderOnly() {
        var mask = [Bool](repeating: false, count: 25)
        for y in 1...3 { for x in 1...3 { mask[y * 5 + x] = true } }
        let panel = [UInt8](repeating: 7, count: 25)
        let out = MapStrip.outlined(panel, mask: mask, size: 5)
        XCTAssertEqual(out.indices.filter { out[$0] == 255 }, [6, 7, 8, 11, 13, 16, 17, 18])
        XCTAssertEqual(out[12], 7)
        XCTAssertEqual(out[0], 7)
    }
}
