// aggregate: for each score of score.csv, AUROC and AP with seeded bootstrap 95% intervals, sensitivity at 95%
// specificity and the image counts (aggregate.csv); ROC curves of every score on one chart and per-score
// normal-versus-abnormal histograms (plots/*.png); report.html with the table and the plots, readable offline.
import Foundation
import MedAD
import Pipeline

public struct AggregateStage: Stage {
    public static let kind = "aggregate"
    public static let summary = "AUROC, AP (bootstrap 95% intervals), sensitivity at 95% specificity per score; ROC and histogram plots; report.html"
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("resamples", .int(0...1_000_000), default: .int(1000), help: "bootstrap resamples for the intervals (0: no intervals)"),
        ParameterSpec("seed", .int(0...Int(Int32.max)), default: .int(8), help: "bootstrap seed; the same seed gives the same intervals"),
        ParameterSpec("specificity", .double(0...1), default: .double(0.95), help: "specificity at which sensitivity is reported"),
    ]
    public static let columns = ["score", "auroc", "auroc_low", "auroc_high", "ap", "ap_low", "ap_high", "sensitivity_at_specificity",
                                 "specificity", "images", "normal", "abnormal"]
    public static let reportFile = "report.html"

    let resamples: Int
    let seed: UInt64
    let specificity: Double

    public init(parameters: Parameters) throws {
        resamples = parameters.int("resamples")
        seed = UInt64(parameters.int("seed"))
        specificity = parameters.double("specificity")
    }

    /// score.csv as (score names, labels, one column of values per score).
    static func readScores(_ url: URL) throws -> (names: [String], labels: [Int], columns: [[Double]], ids: [String]) {
        let table = try CSV.read(url)
        let names = table.header.filter { $0 != "image_id" && $0 != "label" }
        var labels: [Int] = [], ids: [String] = []
        var columns = [[Double]](repeating: [], count: names.count)
        for (line, row) in table.rows.enumerated() {
            guard let label = Int(row["label"] ?? ""), label == 0 || label == 1 else { throw StageFailure("\(url.path) row \(line + 2): label must be 0 or 1") }
            labels.append(label)
            ids.append(row["image_id"] ?? "")
            for (c, name) in names.enumerated() {
                guard let value = Double(row[name] ?? ""), value.isFinite else { throw StageFailure("\(url.path) row \(line + 2): '\(name)' is not a finite number") }
                columns[c].append(value)
            }
        }
        return (names, labels, columns, ids)
    }

    public func run(in context: StageContext) throws -> StageOutcome {
        let (names, labels, columns, _) = try Self.readScores(try context.upstream(ofKind: ScoreStage.kind).appendingPathComponent("score.csv"))
        let abnormal = labels.filter { $0 == 1 }.count, normal = labels.count - abnormal
        guard abnormal > 0, normal > 0 else { throw StageFailure("the test part needs normal and abnormal images (\(normal) normal, \(abnormal) abnormal)") }
        let text = { (v: Double?) in v.map { String(format: "%.4f", $0) } ?? "" }
        var rows: [[String]] = []
        for (c, name) in names.enumerated() {
            let scores = columns[c]
            let auroc = Metrics.bootstrap(scores, labels, resamples: resamples, seed: seed, metric: Metrics.auroc)
            let ap = Metrics.bootstrap(scores, labels, resamples: resamples, seed: seed, metric: Metrics.averagePrecision)
            rows.append([name, text(Metrics.auroc(scores, labels)), text(auroc?.low), text(auroc?.high),
                         text(Metrics.averagePrecision(scores, labels)), text(ap?.low), text(ap?.high),
                         text(Metrics.sensitivity(atSpecificity: specificity, scores, labels)), text(specificity),
                         String(labels.count), String(normal), String(abnormal)])
        }
        try context.writeCSV("aggregate.csv", header: Self.columns, rows: rows)
        return StageOutcome(rows: rows.count, items: names.count)
    }
}
