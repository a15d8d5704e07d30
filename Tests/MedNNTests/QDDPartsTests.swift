// QDD-Ens's parts against PyTorch (Fixtures/make_fixtures.py, qdd.safetensors): the log-min-max quantizer at 5, 3
// and 1 bits, and the deep diversity term of three learners with its gradients (also against finite differences).
// And the incremental quantization's selection of the largest magnitudes, against a sort.
import Foundation
import XCTest

@testable import MedNN

final class QDDPartsTests: XCTestCase {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    func testLogMinMaxQuantizerMatchesTheReference() throws {
        let t = try SafeTensors.read(fixtures.appendingPathComponent("qdd.safetensors")).tensors
        for name in ["conv", "linear"] {
            let w = try SafeTensors.float(t, "w.\(name)").data
            for bits in [5, 3, 1] {
                let expected = try SafeTensors.float(t, "q\(bits).\(name)").data
                let mine = LogMinMaxQuantizer.quantize(w, bits: bits)
                let worst = zip(mine, expected).map { abs($0 - $1) / max(abs($1), 1e-6) }.max()!
                XCTAssertLessThanOrEqual(worst, 1e-4, "\(name) at \(bits) bits")
                XCTAssertLessThanOrEqual(Set(mine.map(abs)).count, 1 << bits, "\(name): at most 2^bits magnitudes")
            }
        }
    }

    func testDeepDiversityMatchesPyTorchAndFiniteDifferences() throws {
        let t = try SafeTensors.read(fixtures.appendingPathComponent("qdd.safetensors")).tensors
        let features = try (0..<3).map { try SafeTensors.float(t, "f.\($0)") }
        let result = DeepDiversity.compute(features)
        XCTAssertEqual(result.value, Double(try SafeTensors.float(t, "diversity").data[0]), accuracy: 1e-5)
        for k in 0..<3 {
            let expected = try SafeTensors.float(t, "grad.f.\(k)")
            let diff = zip(result.gradients[k].data, expected.data).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
            XCTAssertLessThanOrEqual(diff / expected.data.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-4, "learner \(k)")
        }
        var probe = features
        for v in [0, 7, 23] {
            let saved = probe[1].data[v]
            probe[1].data[v] = saved + 1e-3
            let plus = DeepDiversity.compute(probe).value
            probe[1].data[v] = saved - 1e-3
            let minus = DeepDiversity.compute(probe).value
            probe[1].data[v] = saved
            XCTAssertEqual((plus - minus) / 2e-3, Double(result.gradients[1].data[v]), accuracy: 1e-3, "value \(v)")
        }
        // Identical features: the value is √1e-8 for the pair and no gradient, not NaN.
        let same = DeepDiversity.compute([features[0], features[0]])
        XCTAssertEqual(same.value, 1e-4, accuracy: 1e-12)
        XCTAssertTrue(same.gradients.allSatisfy { $0.data.allSatisfy { $0 == 0 } })
    }

    /// The selection against sorting by (magnitude descending, index): random values with many ties, some
    /// entries excluded, every count from none to all.
    func testLargestMagnitudesMatchASort() {
        var random = UniformInit(seed: 3)
        let values = random.uniform(500, bound: 1).map { ($0 * 20).rounded() / 20 }  // 41 levels: ties everywhere
        let excluded = random.uniform(500, bound: 1).map { $0 > 0.6 }
        let order = values.indices.filter { !excluded[$0] }.sorted {
            abs(values[$0]) != abs(values[$1]) ? abs(values[$0]) > abs(values[$1]) : $0 < $1
        }
        for count in [0, 1, 7, 50, 123, order.count - 1, order.count, order.count + 5] {
            XCTAssertEqual(
                Set(IncrementalQuantization.largest(count, of: values, except: excluded)), Set(order.prefix(count)), "count \(count)")
        }
    }
}
