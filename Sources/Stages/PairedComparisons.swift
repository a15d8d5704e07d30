// The aggregate stage's paired tests (DeLong's, MedAD/Metrics/DeLong.swift) on the same test images: every score
// of a method against the method's own single-model `rec`, and against every other method's best score (its
// highest AUROC; per-member rec_k columns left out). Written to delong.csv and the report; the p-values are
// each test's own, not corrected for the number of tests.
import Foundation
import MedAD
import Pipeline

/// delong.csv: one row per test; difference = auroc − versus_auroc, its 95% interval, z and two-sided p.
public struct DeLongRow: CSVRecord, Equatable {
    public static let columns = [
        "stage", "method", "score", "versus_stage", "versus_method", "versus_score", "auroc", "versus_auroc", "difference",
        "low", "high", "z", "p",
    ]
    public var stage, method, score, versusStage, versusMethod, versusScore: String
    public var auroc, versusAuroc, difference, low, high, z, p: Double

    public var fields: [String] {
        let four = { (v: Double) in String(format: "%.4f", v) }
        return [
            stage, method, score, versusStage, versusMethod, versusScore, four(auroc), four(versusAuroc), four(difference), four(low),
            four(high), String(format: "%.3f", z), String(format: "%.3g", p),
        ]
    }

    public init(
        _ s: (stage: String, method: String, score: String), versus v: (stage: String, method: String, score: String), _ t: DeLongTest
    ) {
        (stage, method, score, versusStage, versusMethod, versusScore) = (s.stage, s.method, s.score, v.stage, v.method, v.score)
        (auroc, versusAuroc, difference, low, high, z, p) = (t.aurocB, t.aurocA, t.difference, t.low, t.high, t.z, t.p)
    }

    public init(_ row: CSV.Row) throws {
        (stage, method, score) = (row.text("stage"), row.text("method"), row.text("score"))
        (versusStage, versusMethod, versusScore) = (row.text("versus_stage"), row.text("versus_method"), row.text("versus_score"))
        (auroc, versusAuroc, difference) = (
            try row.requiredNumber("auroc"), try row.requiredNumber("versus_auroc"), try row.requiredNumber("difference")
        )
        (low, high, z, p) = (
            try row.requiredNumber("low"), try row.requiredNumber("high"), try row.requiredNumber("z"), try row.requiredNumber("p")
        )
    }
}

enum PairedComparisons {
    /// The tests over the score stages; stages scored on other images than the first (another split) are compared
    /// with their own rec only, and named in `skipped`.
    static func tests(_ scored: [AggregateStage.Scored]) -> (rows: [DeLongRow], skipped: [String]) {
        func methodLevel(_ s: AggregateStage.Scored) -> [Int] { s.names.indices.filter { !s.names[$0].hasPrefix("rec_") } }
        // Each stage's best score, once (its AUROCs ranked, not recomputed per comparison).
        let bests = scored.map { s in
            let aurocs = methodLevel(s).map { ($0, Metrics.auroc(s.columns[$0], s.labels) ?? 0) }
            return aurocs.max { $0.1 < $1.1 }?.0
        }
        var rows: [DeLongRow] = []
        var skipped: [String] = []
        for s in scored {
            let rec = s.names.firstIndex(of: "rec")
            for c in methodLevel(s) {
                let me = (s.stage, s.method.method, s.names[c])
                if let rec, rec != c, let test = DeLongTest.compare(s.columns[rec], s.columns[c], labels: s.labels) {
                    rows.append(DeLongRow(me, versus: (s.stage, s.method.method, "rec"), test))
                }
                for (t, best) in zip(scored, bests) where t.stage != s.stage {
                    guard t.ids == s.ids, t.labels == s.labels else {
                        if !skipped.contains(t.stage) { skipped.append(t.stage) }
                        continue
                    }
                    guard let b = best, let test = DeLongTest.compare(t.columns[b], s.columns[c], labels: s.labels) else { continue }
                    rows.append(DeLongRow(me, versus: (t.stage, t.method.method, t.names[b]), test))
                }
            }
        }
        return (rows, skipped)
    }
}
