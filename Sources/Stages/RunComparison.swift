// Night over night: an aggregate's figures against an earlier run's (the same run directory's previous outputs,
// or another run directory with `medad diff`). For each stage, method and score in both: the AUROC before and
// now, the change, and whether the new AUROC left the earlier run's 95% bootstrap interval (`moved`), the
// signal a cron job's reader acts on; scores only one side has are listed too (`only`).
import Foundation
import Pipeline

/// changes.csv: one row per stage, method and score.
public struct ChangeRow: CSVRecord, Equatable {
    public static let columns = ["stage", "method", "score", "previous_auroc", "previous_low", "previous_high", "auroc", "delta", "moved"]
    public var stage, method, score: String
    public var previousAuroc, previousLow, previousHigh, auroc: Double?
    /// "yes" (outside the earlier interval), "no", or "only before" / "only now".
    public var moved: String

    public var delta: Double? { auroc.flatMap { a in previousAuroc.map { a - $0 } } }

    public var fields: [String] {
        let text = { (v: Double?) in v.map { String(format: "%.4f", $0) } ?? "" }
        return [stage, method, score, text(previousAuroc), text(previousLow), text(previousHigh), text(auroc), text(delta), moved]
    }

    public init(
        stage: String, method: String, score: String, previousAuroc: Double?, previousLow: Double?, previousHigh: Double?, auroc: Double?,
        moved: String
    ) {
        (self.stage, self.method, self.score, self.moved) = (stage, method, score, moved)
        (self.previousAuroc, self.previousLow, self.previousHigh, self.auroc) = (previousAuroc, previousLow, previousHigh, auroc)
    }

    public init(_ row: CSV.Row) throws {
        self.init(
            stage: row.text("stage"), method: row.text("method"), score: row.text("score"), previousAuroc: try row.number("previous_auroc"),
            previousLow: try row.number("previous_low"), previousHigh: try row.number("previous_high"), auroc: try row.number("auroc"),
            moved: row.text("moved"))
    }
}

public enum RunComparison {
    /// Earlier rows against current ones, in the current rows' order, then what only the earlier run had.
    public static func changes(before: [AggregateRow], now: [AggregateRow]) -> [ChangeRow] {
        let key = { (r: AggregateRow) in "\(r.stage)\u{0}\(r.method)\u{0}\(r.score)" }
        let earlier = Dictionary(before.map { (key($0), $0) }, uniquingKeysWith: { first, _ in first })
        let current = Set(now.map(key))
        var rows = now.map { r -> ChangeRow in
            guard let old = earlier[key(r)] else {
                return ChangeRow(
                    stage: r.stage, method: r.method, score: r.score, previousAuroc: nil, previousLow: nil, previousHigh: nil,
                    auroc: r.auroc,
                    moved: "only now")
            }
            var moved = "no"
            if let auroc = r.auroc, let low = old.aurocLow, let high = old.aurocHigh, auroc < low || auroc > high { moved = "yes" }
            return ChangeRow(
                stage: r.stage, method: r.method, score: r.score, previousAuroc: old.auroc, previousLow: old.aurocLow,
                previousHigh: old.aurocHigh, auroc: r.auroc, moved: moved)
        }
        rows += before.filter { !current.contains(key($0)) }.map {
            ChangeRow(
                stage: $0.stage, method: $0.method, score: $0.score, previousAuroc: $0.auroc, previousLow: $0.aurocLow,
                previousHigh: $0.aurocHigh, auroc: nil, moved: "only before")
        }
        return rows
    }

    /// One line for the log and the report: which scores moved outside the earlier interval.
    public static func summary(_ rows: [ChangeRow]) -> String {
        let moved = rows.filter { $0.moved == "yes" }
        let compared = rows.filter { $0.moved == "yes" || $0.moved == "no" }.count
        guard !moved.isEmpty else {
            return "since the previous run: none of \(compared) scores moved outside its previous 95% interval"
        }
        let listed = moved.map { r in
            "\(r.method) \(r.score) \(String(format: "%.4f", r.previousAuroc ?? 0))→\(String(format: "%.4f", r.auroc ?? 0))"
        }
        return "since the previous run: \(moved.count) of \(compared) scores moved outside their previous 95% interval: "
            + listed.joined(separator: ", ")
    }
}
