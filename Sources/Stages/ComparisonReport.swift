// `medad report RUN_DIR…`: several runs (seeds, datasets, backbones) in one comparison table. Each run directory
// contributes its aggregate stage's rows; the method is each row's method and backbone plus the score,
// the dataset is "synthetic" for runs with a synthesize stage and the split's dataset otherwise. Cells are
// mean ± sample standard deviation and the 95% t interval of the mean over the runs (seeds) that share method and
// dataset; the best method-level row per dataset is marked.
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

    init(entries: [Entry]) { self.entries = entries }

    /// The rows of a run directory's (first) finished aggregate stage; an error naming the directory without one.
    public static func aggregateRows(in run: URL) throws -> [AggregateRow] {
        guard let aggregate = try stages(in: run).first(where: { $0.kind == AggregateStage.kind }) else {
            throw StageFailure("\(run.path): no finished aggregate stage (run the pipeline first)")
        }
        return try CSV.records(aggregate.folder.appendingPathComponent("aggregate.csv"), as: AggregateRow.self)
    }

    /// Reads every run directory; a directory without a finished aggregate stage is an error naming it.
    public init(runDirectories: [URL]) throws {
        var entries: [Entry] = []
        for run in runDirectories {
            let stages = try Self.stages(in: run)
            let rows = try Self.aggregateRows(in: run)
            let dataset: String
            if stages.contains(where: { $0.kind == SynthesizeStage.kind }) {
                dataset = "synthetic"
            } else if let split = stages.first(where: { $0.kind == SplitStage.kind }) {
                dataset = split.parameters["preset"] ?? split.parameters["dataset"] ?? "?"
            } else {
                dataset = "?"
            }
            for row in rows {
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

    /// (rows "method / score", columns datasets, cells "mean ± std [95% interval] (runs)") for one metric; in each
    /// column the method-level row with the highest mean (per-member rec_k rows left out of the contest) is marked
    /// with **…**.
    public func table(_ metric: KeyPath<Entry, Double>) -> [[String]] {
        let datasets = Array(Set(entries.map(\.dataset))).sorted()
        var rowKeys: [String] = []
        for e in entries where !rowKeys.contains("\(e.method) / \(e.score)") { rowKeys.append("\(e.method) / \(e.score)") }
        let cells = rowKeys.map { key in
            datasets.map { dataset in
                Self.summary(entries.filter { "\($0.method) / \($0.score)" == key && $0.dataset == dataset }.map { $0[keyPath: metric] })
            }
        }
        var table = [["method / score"] + datasets]
        let contenders = rowKeys.indices.filter {
            !(rowKeys[$0].split(separator: "/").last ?? "").trimmingCharacters(in: .whitespaces).hasPrefix("rec_")
        }
        let best = datasets.indices.map { d in contenders.filter { cells[$0][d] != nil }.max { cells[$0][d]!.mean < cells[$1][d]!.mean } }
        for (r, key) in rowKeys.enumerated() {
            table.append(
                [key]
                    + datasets.indices.map { d in
                        guard let cell = cells[r][d] else { return "" }
                        let text =
                            cell.count > 1
                            ? String(format: "%.4f ± %.4f [%.4f, %.4f] (%d)", cell.mean, cell.sd, cell.low, cell.high, cell.count)
                            : String(format: "%.4f (1)", cell.mean)
                        return best[d] == r ? "**\(text)**" : text
                    })
        }
        return table
    }

    /// Mean, sample standard deviation and the 95% t interval of the mean over runs (seeds): mean ± t(0.975, n − 1)
    /// · sd / √n; nil for no values, the mean alone (interval collapsed) for one.
    static func summary(_ values: [Double]) -> (mean: Double, sd: Double, low: Double, high: Double, count: Int)? {
        guard !values.isEmpty else { return nil }
        let n = values.count, mean = values.reduce(0, +) / Double(n)
        guard n > 1 else { return (mean, 0, mean, mean, 1) }
        let sd = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n - 1)).squareRoot()
        let half = studentT975(degreesOfFreedom: n - 1) * sd / Double(n).squareRoot()
        return (mean, sd, mean - half, mean + half, n)
    }

    /// The 0.975 quantile of Student's t (two-sided 95%), from the standard table; between tabulated degrees of
    /// freedom the next lower one's (a slightly wider interval).
    static func studentT975(degreesOfFreedom df: Int) -> Double {
        let table: [(Int, Double)] = [
            (1, 12.706), (2, 4.303), (3, 3.182), (4, 2.776), (5, 2.571), (6, 2.447), (7, 2.365), (8, 2.306), (9, 2.262),
            (10, 2.228), (11, 2.201), (12, 2.179), (13, 2.160), (14, 2.145), (15, 2.131), (16, 2.120), (17, 2.110), (18, 2.101),
            (19, 2.093), (20, 2.086), (25, 2.060), (30, 2.042), (40, 2.021), (60, 2.000), (120, 1.980),
        ]
        return table.last { $0.0 <= df }.map { df > 120 ? 1.960 : $0.1 } ?? 12.706
    }

    public var markdown: String {
        func render(_ title: String, _ table: [[String]]) -> String {
            var text =
                "## \(title)\n\n| " + table[0].joined(separator: " | ") + " |\n|" + table[0].map { _ in "---" }.joined(separator: "|")
                + "|\n"
            for row in table.dropFirst() { text += "| " + row.joined(separator: " | ") + " |\n" }
            return text
        }
        return render("AUROC, mean ± std [95% interval of the mean] over runs (number of runs); best per dataset in bold", table(\.auroc))
            + "\n" + render("AP, mean ± std [95% interval of the mean] over runs (number of runs); best per dataset in bold", table(\.ap))
    }

    /// One row per run, method and score (the long form of the tables).
    public var csvRows: [[String]] {
        entries.map { [$0.method, $0.score, $0.dataset, String($0.seed), String(format: "%.4f", $0.auroc), String(format: "%.4f", $0.ap)] }
    }
    public static let csvColumns = ["method", "score", "dataset", "seed", "auroc", "ap"]
}
