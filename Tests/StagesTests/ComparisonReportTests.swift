// `medad report`'s cells: mean ± sample sd and the 95% t interval of the mean over seeds, by hand; the best
// method-level row per dataset marked, per-member rec_k rows left out of the contest.
import XCTest

@testable import Stages

final class ComparisonReportTests: XCTestCase {
    /// 0.6, 0.7, 0.8: mean 0.7, sd 0.1, t(0.975, 2) = 4.303, half width 4.303 · 0.1 / √3 = 0.248434.
    func testSeedSummaryByHand() throws {
        let s = try XCTUnwrap(ComparisonReport.summary([0.6, 0.7, 0.8]))
        XCTAssertEqual(s.mean, 0.7, accuracy: 1e-12)
        XCTAssertEqual(s.sd, 0.1, accuracy: 1e-12)
        XCTAssertEqual(s.low, 0.7 - 4.303 * 0.1 / 3.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(s.high, 0.7 + 0.248434, accuracy: 1e-6)
        XCTAssertEqual(ComparisonReport.studentT975(degreesOfFreedom: 22), 2.086, "the next lower tabulated entry")
        XCTAssertEqual(ComparisonReport.studentT975(degreesOfFreedom: 500), 1.960)
        XCTAssertNil(ComparisonReport.summary([]))
    }

    func testBestPerDatasetIsMarked() {
        let entry = { (method: String, score: String, dataset: String, seed: UInt64, auroc: Double) in
            ComparisonReport.Entry(method: method, score: score, dataset: dataset, seed: seed, auroc: auroc, ap: auroc)
        }
        let report = ComparisonReport(entries: [
            entry("d2ue ae", "rec_0", "rsna", 1, 0.99), entry("d2ue ae", "dsu", "rsna", 1, 0.7), entry("d2ue ae", "dsu", "rsna", 2, 0.8),
            entry("qdd ae", "ens_rec", "rsna", 1, 0.72), entry("qdd ae", "ens_rec", "lag", 1, 0.6),
        ])
        let table = report.table(\.auroc)
        XCTAssertEqual(table[0], ["method / score", "lag", "rsna"])
        XCTAssertEqual(table[1], ["d2ue ae / rec_0", "", "0.9900 (1)"], "rec_k is not a contender")
        XCTAssertEqual(table[2][2], "**0.7500 ± 0.0707 [0.1147, 1.3853] (2)**")
        XCTAssertEqual(table[3], ["qdd ae / ens_rec", "**0.6000 (1)**", "0.7200 (1)"])
    }
}
