// DeLong's test against MLstatkit's (Fixtures/make_delong_fixture.py, delong.json; its z and p match R's
// pROC::roc.test), and against a hand calculation on four images.
import Foundation
import MedAD
import XCTest

final class DeLongTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable {
            let name: String
            let a: [Double], b: [Double]
            let auroc_a: Double, auroc_b: Double, z: Double, p: Double
        }
        let labels: [Int]
        let cases: [Case]
    }

    func testMatchesMLstatkit() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/delong.json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        for c in fixture.cases {
            let test = try XCTUnwrap(DeLongTest.compare(c.a, c.b, labels: fixture.labels))
            XCTAssertEqual(test.aurocA, c.auroc_a, accuracy: 1e-12, c.name)
            XCTAssertEqual(test.aurocB, c.auroc_b, accuracy: 1e-12, c.name)
            XCTAssertEqual(test.z, c.z, accuracy: 1e-9, c.name)
            XCTAssertEqual(test.p, c.p, accuracy: 1e-9, c.name)
            XCTAssertEqual(test.aurocA, Metrics.auroc(c.a, fixture.labels)!, accuracy: 1e-12, "the same AUROC as the aggregate's")
        }
    }

    /// Two abnormal (1) and two normal images. A = (0.9, 0.4 | 0.5, 0.1): placements V10 = (1, 0.5) (the share of
    /// normal images below each abnormal one), V01 = (0.5, 1) (of abnormal images above each normal one) → AUROC_A
    /// 0.75. B = (0.9, 0.8 | 0.5, 0.1): V10 = (1, 1), V01 = (1, 1) → AUROC_B 1. S10: var(V10ᴬ) 0.125,
    /// var(V10ᴮ) 0, cov 0; S01: var(V01ᴬ) 0.125, var(V01ᴮ) 0, cov 0 → Var = 0.125/2 + 0.125/2 = 0.125.
    func testByHand() throws {
        let test = try XCTUnwrap(DeLongTest.compare([0.9, 0.4, 0.5, 0.1], [0.9, 0.8, 0.5, 0.1], labels: [1, 1, 0, 0]))
        XCTAssertEqual(test.aurocA, 0.75)
        XCTAssertEqual(test.aurocB, 1)
        XCTAssertEqual(test.standardError, 0.125.squareRoot(), accuracy: 1e-15)
        XCTAssertEqual(test.z, 0.25 / 0.125.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(test.p, erfc(0.25 / 0.125.squareRoot() / 2.0.squareRoot()), accuracy: 1e-12)
        let same = try XCTUnwrap(DeLongTest.compare([0.3, 0.2, 0.1, 0.4], [0.3, 0.2, 0.1, 0.4], labels: [1, 1, 0, 0]))
        XCTAssertEqual([same.difference, same.z, same.p], [0, 0, 1])
        XCTAssertNil(DeLongTest.compare([1, 2], [2, 1], labels: [1, 1]))
    }
}
