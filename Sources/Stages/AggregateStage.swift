// aggregate: for each score of score.csv, AUROC and AP with seeded bootstrap 95% intervals, sensitivity at 95%
// specificity and the image counts (aggregate.csv); ROC curves of every score on one chart and per-score
// normal-versus-abnormal histograms (plots/*.png); report.html with the table and the plots, readable offline.
import Foundation
import MedAD
import Pipeline

public struct AggregateStage: Stage {
    public static let kind = "aggregate"
    public static let summary =
        "AUROC, AP (bootstrap 95% intervals), sensitivity at 95% specificity per score; ROC and histogram plots; report.html"
    public static let parameters: [ParameterSpec] = [
        ParameterSpec(
            "resamples", .int(0...1_000_000), default: .int(1000), help: "bootstrap resamples for the intervals (0: no intervals)"),
        ParameterSpec("seed", .int(0...Int(Int32.max)), default: .int(8), help: "bootstrap seed; the same seed gives the same intervals"),
        ParameterSpec("specificity", .double(0...1), default: .double(0.95), help: "specificity at which sensitivity is reported"),
    ]
    public static let columns = [
        "score", "auroc", "auroc_low", "auroc_high", "ap", "ap_low", "ap_high", "sensitivity_at_specificity",
        "specificity", "images", "normal", "abnormal",
    ]
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
        let table = try CSV.read(url, requiring: ["image_id", "label"])
        let names = table.header.filter { $0 != "image_id" && $0 != "label" }
        var labels: [Int] = [], ids: [String] = []
        var columns = [[Double]](repeating: [], count: names.count)
        for (line, row) in table.rows.enumerated() {
            guard let label = Int(row["label"] ?? ""), label == 0 || label == 1 else {
                throw StageFailure("\(url.path) row \(line + 2): label must be 0 or 1")
            }
            labels.append(label)
            ids.append(row["image_id"] ?? "")
            for (c, name) in names.enumerated() {
                guard let value = Double(row[name] ?? ""), value.isFinite else {
                    throw StageFailure("\(url.path) row \(line + 2): '\(name)' is not a finite number")
                }
                columns[c].append(value)
            }
        }
        return (names, labels, columns, ids)
    }

    public func run(in context: StageContext) throws -> StageOutcome {
        let scoreFolder = try context.upstream(ofKind: ScoreStage.kind)
        let (names, labels, columns, _) = try Self.readScores(scoreFolder.appendingPathComponent("score.csv"))
        let abnormal = labels.filter { $0 == 1 }.count, normal = labels.count - abnormal
        guard abnormal > 0, normal > 0 else {
            throw StageFailure("the test part needs normal and abnormal images (\(normal) normal, \(abnormal) abnormal)")
        }
        let text = { (v: Double?) in v.map { String(format: "%.4f", $0) } ?? "" }
        var rows: [[String]] = []
        for (c, name) in names.enumerated() {
            let scores = columns[c]
            let auroc = Metrics.bootstrap(scores, labels, resamples: resamples, seed: seed, metric: Metrics.auroc)
            let ap = Metrics.bootstrap(scores, labels, resamples: resamples, seed: seed, metric: Metrics.averagePrecision)
            rows.append([
                name, text(Metrics.auroc(scores, labels)), text(auroc?.low), text(auroc?.high),
                text(Metrics.averagePrecision(scores, labels)), text(ap?.low), text(ap?.high),
                text(Metrics.sensitivity(atSpecificity: specificity, scores, labels)), text(specificity),
                String(labels.count), String(normal), String(abnormal),
            ])
        }
        try context.writeCSV("aggregate.csv", header: Self.columns, rows: rows)
        let plots = try writePlots(context, names: names, labels: labels, columns: columns)
        let report = Report.html(
            title: "medad: \(context.name)", table: [Self.columns] + rows, plots: plots,
            maps: Report.mapFiles(in: scoreFolder.appendingPathComponent("maps")))
        try AtomicFile.write(Data(report.utf8), to: context.outputDirectory.appendingPathComponent(Self.reportFile))
        context.log("report: \(context.runDirectory.appendingPathComponent(context.name).appendingPathComponent(Self.reportFile).path)")
        return StageOutcome(rows: rows.count, items: names.count)
    }

    /// plots/roc.png and plots/hist_<score>.png; returns their paths inside the output folder, ROC first.
    func writePlots(_ context: StageContext, names: [String], labels: [Int], columns: [[Double]]) throws -> [URL] {
        let folder = context.outputDirectory.appendingPathComponent("plots")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // Per-learner rec_k curves would crowd the chart: it shows the ensemble-level scores and rec (learner 0).
        let shown = names.indices.filter { !names[$0].hasPrefix("rec_") }
        let roc = Charts.roc(shown.map { (names[$0], Metrics.auroc(columns[$0], labels) ?? 0.5, Metrics.rocCurve(columns[$0], labels)) })
        var files = [folder.appendingPathComponent("roc.png")]
        try roc.writePNG(to: files[0].path)
        for c in shown {
            let file = try SafeName.child(folder, "hist_\(SafeName.fileName(names[c])).png")
            try Charts.histogram(name: names[c], scores: columns[c], labels: labels).writePNG(to: file.path)
            files.append(file)
        }
        return files
    }
}

/// report.html: one self-contained page (images inlined as data URIs), readable without a server.
enum Report {
    static func html(title: String, table: [[String]], plots: [URL], maps: [URL]) -> String {
        func escape(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(
                of: ">", with: "&gt;"
            )
            .replacingOccurrences(of: "\"", with: "&quot;")
        }
        func image(_ url: URL, width: Int? = nil) -> String {
            guard let data = try? Data(contentsOf: url) else { return "" }
            return
                "<img alt=\"\(escape(url.lastPathComponent))\" src=\"data:image/png;base64,\(data.base64EncodedString())\"\(width.map { " width=\"\($0)\"" } ?? "")>"
        }
        var page = """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>\(escape(title))</title>
            <style>body{font-family:sans-serif;margin:2em} table{border-collapse:collapse} td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
            th{background:#eee} td:first-child{text-align:left} img{margin:4px}</style></head><body>
            <h1>\(escape(title))</h1>
            <p>AUROC and AP with bootstrap 95% intervals (low, high); abnormal is the positive class.</p>
            <table>
            """
        for (i, row) in table.enumerated() {
            let cell = i == 0 ? "th" : "td"
            page += "<tr>" + row.map { "<\(cell)>\(escape($0))</\(cell)>" }.joined() + "</tr>\n"
        }
        page += "</table>\n<h2>ROC curves and score histograms</h2>\n"
        page += plots.map { image($0) }.joined(separator: "\n")
        if !maps.isEmpty {
            page +=
                "\n<h2>Anomaly maps</h2>\n<p>Each strip: input | mean reconstruction | the score's per-pixel map (min–max scaled).</p>\n"
            for url in maps {
                page += "<div>\(escape(url.deletingPathExtension().lastPathComponent)) \(image(url, width: 3 * 128 + 4))</div>\n"
            }
        }
        return page + "</body></html>\n"
    }

    /// The score stage's map strips, sorted by name; none when it wrote none.
    static func mapFiles(in folder: URL) -> [URL] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".png") }.sorted()
            .map { folder.appendingPathComponent($0) }
    }
}
