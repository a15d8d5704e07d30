import ArgumentParser
import Foundation
import Pipeline
import Stages

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Compare two runs' aggregate figures: for each stage, method and score, the AUROC before and after, the change, and whether it left the earlier run's 95% interval."
    )

    @Argument(help: "The earlier run directory (with a finished aggregate stage).")
    var before: String

    @Argument(help: "The later run directory.")
    var after: String

    @Option(help: "Also write the rows to PATH (CSV: changes.csv's columns).")
    var output: String?

    func run() throws {
        let rows: [ChangeRow]
        do {
            rows = RunComparison.changes(
                before: try ComparisonReport.aggregateRows(in: URL(fileURLWithPath: before)),
                now: try ComparisonReport.aggregateRows(in: URL(fileURLWithPath: after)))
        } catch { fail(String(describing: error)) }
        let table =
            [["stage", "method", "score", "before", "after", "delta", "moved"]]
            + rows.filter { !$0.score.hasPrefix("rec_") }.map { r in
                let text = { (v: Double?) in v.map { String(format: "%.4f", $0) } ?? "" }
                return [r.stage, r.method, r.score, text(r.previousAuroc), text(r.auroc), text(r.delta), r.moved]
            }
        let widths = table[0].indices.map { c in table.map { $0[c].count }.max()! }
        for row in table {
            print(row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  "))
        }
        print(RunComparison.summary(rows).replacingOccurrences(of: "since the previous run", with: "\(before) → \(after)"))
        if let output {
            try CSV.write(URL(fileURLWithPath: output), header: ChangeRow.columns, rows: rows.map(\.fields))
            print("wrote \(output)")
        }
    }
}
