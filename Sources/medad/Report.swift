import ArgumentParser
import Foundation
import Pipeline
import Stages

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare finished runs: methods as rows, datasets as columns, mean ± std of AUROC and AP over runs (seeds).")

    @Argument(help: "Run directories (each with finished train and aggregate stages).")
    var runDirectories: [String]

    @Option(help: "Also write the tables to PATH.md and one row per run and score to PATH.csv.")
    var output: String?

    func run() throws {
        let report: ComparisonReport
        do { report = try ComparisonReport(runDirectories: runDirectories.map { URL(fileURLWithPath: $0) }) } catch {
            fail(String(describing: error))
        }
        print(report.markdown, terminator: "")
        if let output {
            try AtomicFile.write(Data(report.markdown.utf8), to: URL(fileURLWithPath: output + ".md"))
            try CSV.write(URL(fileURLWithPath: output + ".csv"), header: ComparisonReport.csvColumns, rows: report.csvRows)
            print("wrote \(output).md and \(output).csv")
        }
    }
}
