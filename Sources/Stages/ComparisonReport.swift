// `medad report RUN_DIR…`: several runs (seeds, datasets, backbones) in one comparison table. Each run directory
// contributes its aggregate stage's rows; the method is each row's method and backbone plus the score,
// the dataset is "synthetic" for runs with a synthesize stage and the split's dataset otherwise. Cells are
// mean ± sample standard deviation over the runs (seeds) that share method and dataset.
import Foundation
import MedAD
import Pipeline

public struct ComparisonReport {
    public struct Entry: Equatable {
        public var method: String
        public var score: String
        public var dataset: String
        public var seed: UInt64
        public var auroc: Double
        public var ap: Double
    }

    public let entries: [Entry]

    /// Reads every run directory; a directory without a finished aggregate stage is an error naming it.
    public init(runDirectories: [URL]) throws {
        var entries: [Entry] = []
        for run in runDirectories {
            let stages = try Self.stages(in: run)
            guard let aggregate = stages.first(where: { $0.kind == AggregateStage.kind }) else {
                throw StageFailure("\(run.path): no finished aggregate stage (run the pipeline first)")
            }
            let dataset: String
            if stages.contains(where: { $0.kind == SynthesizeStage.kind }) {
                dataset = "synthetic"
            } else if let split = stages.first(where: { $0.kind == SplitStage.kind }) {
                dataset = split.parameters["preset"] ?? split.parameters["dataset"] ?? "?"
            } else {
                dataset = "?"
            }
            let file = aggregate.folder.appendingPathComponent("aggregate.csv")
            for row in try CSV.records(file, as: AggregateRow.self) {
                guard let auroc = row.auroc, let ap = row.ap else { continue }
                entries.append(
                    Entry(method: "\(row.method) \(row.backbone)", score: row.score, dataset: dataset, seed: row.seed, auroc: auroc, ap: ap)
                )
            }
        }
        self.entries = entries
    }

    struct StageFolder {
        let kind: String
        let folder: URL
        let parameters: [String: String]
    }

    /// The committed stage folders of a run directory (those with a stage.json).
    static func stages(in run: URL) throws -> [StageFolder] {
        let names = try FileManager.default.contentsOfDirectory(atPath: run.path).filter { !$0.hasPrefix(".") }.sorted()
        return names.compactMap { name in
            let folder = run.appendingPathComponent(name)
            guard let data = try? Data(contentsOf: folder.appendingPathComponent("stage.json")),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let kind = object["kind"] as? String
            else { return nil }
            let parameters = (object["parameters"] as? [String: Any] ?? [:]).mapValues { "\($0)" }
            return StageFolder(kind: kind, folder: folder, parameters: parameters)
        }
    }

    /// (rows "method / score", columns datasets, cells "mean ± std (runs)") for one metric.
    public func table(_ metric: KeyPath<Entry, Double>) -> [[String]] {
        let datasets = Array(Set(entries.map(\.dataset))).sorted()
        var rowKeys: [String] = []
        for e in entries where !rowKeys.contains("\(e.method) / \(e.score)") { rowKeys.append("\(e.method) / \(e.score)") }
        var table = [["method / score"] + datasets]
        for key in rowKeys {
            table.append(
                [key]
                    + datasets.map { dataset in
                        let values = entries.filter { "\($0.method) / \($0.score)" == key && $0.dataset == dataset }.map {
                            $0[keyPath: metric]
                        }
                        guard !values.isEmpty else { return "" }
                        let mean = values.reduce(0, +) / Double(values.count)
                        guard values.count > 1 else { return String(format: "%.4f (1)", mean) }
                        let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
                        return String(format: "%.4f ± %.4f (%d)", mean, std, values.count)
                    })
        }
        return table
    }

    public var markdown: String {
        func render(_ title: String, _ table: [[String]]) -> String {
            var text =
                "## \(title)\n\n| " + table[0].joined(separator: " | ") + " |\n|" + table[0].map { _ in "---" }.joined(separator: "|")
                + "|\n"
            for row in table.dropFirst() { text += "| " + row.joined(separator: " | ") + " |\n" }
            return text
        }
        return render("AUROC, mean ± std over runs (number of runs)", table(\.auroc)) + "\n"
            + render("AP, mean ± std over runs (number of runs)", table(\.ap))
    }

    /// One row per run, method and score (the long form of the tables).
    public var csvRows: [[String]] {
        entries.map { [$0.method, $0.score, $0.dataset, String($0.seed), String(format: "%.4f", $0.auroc), String(format: "%.4f", $0.ap)] }
    }
    public static let csvColumns = ["method", "score", "dataset", "seed", "auroc", "ap"]
}
