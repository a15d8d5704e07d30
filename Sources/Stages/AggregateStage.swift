// aggregate: one comparison of every method × score. For each upstream score stage (one per trained method) and
// each score of its score.csv: AUROC and AP with seeded bootstrap 95% intervals, sensitivity at 95% specificity
// and the image counts (aggregate.csv); the cost of each method (costs.csv: training seconds, scoring
// milliseconds per image, parameters, peak memory of training and of scoring, from the stages' stage.json);
// ROC curves per method and per-score histograms (plots/*.png); report.html with the tables and the plots,
// readable offline.
import Foundation
import MedAD
import Pipeline

public struct AggregateStage: Stage {
    public static let kind = "aggregate"
    public static let gathersCells = true
    public static let summary =
        "AUROC, AP (bootstrap 95% intervals), sensitivity at 95% specificity per method and score; costs; plots; report.html"
    struct Settings {
        var resamples = 1000
        var seed: UInt64 = 8
        var specificity = 0.95
    }
    static let settings: [Setting<Settings>] = [
        .int("resamples", \.resamples, 0...1_000_000, "bootstrap resamples for the intervals (0: no intervals)"),
        .seed("seed", \.seed, "bootstrap seed; the same seed gives the same intervals"),
        .double("specificity", \.specificity, 0...1, "specificity at which sensitivity is reported"),
    ]
    public static let parameters = settings.specs(defaults: Settings())
    public static let reportFile = "report.html"

    let settings: Settings

    public init(parameters: Parameters) throws { settings = Self.settings.apply(parameters, to: Settings()) }

    /// score.csv as (score names, labels, one column of values per score).
    static func readScores(_ url: URL) throws -> (names: [String], labels: [Int], columns: [[Double]], ids: [String]) {
        let table = try CSV.table(url, requiring: ["image_id", "label"])
        let names = table.header.filter { $0 != "image_id" && $0 != "label" }
        var labels: [Int] = [], ids: [String] = []
        var columns = [[Double]](repeating: [], count: names.count)
        for row in table.rows {
            guard let label = try row.integer("label"), label == 0 || label == 1 else {
                throw StageFailure("\(url.path): line \(row.line): column 'label' must be 0 or 1")
            }
            labels.append(label)
            ids.append(row["image_id"] ?? "")
            for (c, name) in names.enumerated() {
                guard let value = try row.number(name) else {
                    throw StageFailure("\(url.path): line \(row.line): column '\(name)' is empty")
                }
                columns[c].append(value)
            }
        }
        return (names, labels, columns, ids)
    }

    /// One upstream score stage: what it scored with and its scores.
    struct Scored {
        let stage: String
        let folder: URL
        let method: ScoredMethod
        let names: [String]
        let labels: [Int]
        let columns: [[Double]]
        let ids: [String]
        var title: String { "\(method.method) (\(method.backbone)), stage \(stage)" }
    }

    public func run(in context: StageContext) throws -> StageOutcome {
        let scored = try context.upstreams(ofKind: ScoreStage.kind).map { stage, folder in
            let (names, labels, columns, ids) = try Self.readScores(folder.appendingPathComponent("score.csv"))
            let abnormal = labels.filter { $0 == 1 }.count, normal = labels.count - abnormal
            guard abnormal > 0, normal > 0 else {
                throw StageFailure("\(stage): the test part needs normal and abnormal images (\(normal) normal, \(abnormal) abnormal)")
            }
            return Scored(
                stage: stage, folder: folder, method: try ScoredMethod(file: folder.appendingPathComponent(ScoredMethod.file)),
                names: names, labels: labels, columns: columns, ids: ids)
        }
        var rows: [AggregateRow] = []
        for s in scored {
            let abnormal = s.labels.filter { $0 == 1 }.count
            for (c, name) in s.names.enumerated() {
                let scores = s.columns[c]
                let auroc = Metrics.bootstrap(scores, s.labels, resamples: settings.resamples, seed: settings.seed, metric: Metrics.auroc)
                let ap = Metrics.bootstrap(
                    scores, s.labels, resamples: settings.resamples, seed: settings.seed, metric: Metrics.averagePrecision)
                rows.append(
                    AggregateRow(
                        stage: s.stage, method: s.method.method, backbone: s.method.backbone, seed: s.method.seed, score: name,
                        auroc: Metrics.auroc(scores, s.labels), aurocLow: auroc?.low, aurocHigh: auroc?.high,
                        ap: Metrics.averagePrecision(scores, s.labels), apLow: ap?.low, apHigh: ap?.high,
                        sensitivity: Metrics.sensitivity(atSpecificity: settings.specificity, scores, s.labels),
                        specificity: settings.specificity, images: s.labels.count, normal: s.labels.count - abnormal, abnormal: abnormal))
            }
        }
        try context.writeCSV("aggregate.csv", records: rows)
        // Night over night: against this stage's previous outputs, when there are some.
        var changes: [ChangeRow] = []
        if let previous = context.previousOutputDirectory,
            let before = try? CSV.records(previous.appendingPathComponent("aggregate.csv"), as: AggregateRow.self)
        {
            // Both sides as written (4 decimals), so that `medad diff` on the two run directories says the same.
            changes = RunComparison.changes(
                before: before, now: try CSV.records(context.outputDirectory.appendingPathComponent("aggregate.csv"), as: AggregateRow.self)
            )
            try context.writeCSV("changes.csv", records: changes)
            let summary = RunComparison.summary(changes)
            if changes.contains(where: { $0.moved == "yes" }) { context.warn(summary) } else { context.log(summary) }
        }
        // Localisation, where the score stages had lesion masks.
        var localisation: [[String]] = []
        for s in scored {
            let file = s.folder.appendingPathComponent("localisation.csv")
            guard FileManager.default.fileExists(atPath: file.path) else { continue }
            let table = try CSV.table(file, requiring: ScoreStage.localisationColumns)
            localisation += table.rows.map { row in [s.stage, s.method.method] + row.texts(ScoreStage.localisationColumns) }
        }
        let localisationHeader = ["stage", "method"] + ScoreStage.localisationColumns
        if !localisation.isEmpty { try context.writeCSV("localisation.csv", header: localisationHeader, rows: localisation) }
        let (tests, skipped) = PairedComparisons.tests(scored)
        try context.writeCSV("delong.csv", records: tests)
        if !skipped.isEmpty {
            context.warn("not compared across methods (scored on other images than \(scored[0].stage)): \(skipped.joined(separator: ", "))")
        }
        let costs = try scored.map { try costRow($0, context: context) }
        try context.writeCSV("costs.csv", records: costs)
        var sections = try scored.map { s in
            HTMLReport.Section(title: s.title, charts: try writePlots(context, s, label: scored.count > 1), strips: try strips(of: s))
        }
        let (shiftTrends, shiftSections) = try shiftResults(context)
        sections += shiftSections
        let tables = [
            HTMLReport.Table(
                heading: "Methods and scores",
                note:
                    "AUROC and AP with bootstrap 95% intervals (low, high); abnormal is the positive class. Marked: the highest AUROC and AP among the method-level scores (per-member rec_k left out).",
                header: AggregateRow.columns, rows: rows.map(\.fields), best: Self.bestCells(rows)),
            HTMLReport.Table(
                heading: "Localisation",
                note: localisation.isEmpty
                    ? "No lesion masks reached the score stages."
                    : "Each mapped score's per-pixel map against the lesion masks, every pixel of every test image one sample: pixel-level AUROC and the best Dice over thresholds.",
                header: localisationHeader, rows: localisation),
            HTMLReport.Table(
                heading: "Since the previous run",
                note: changes.isEmpty
                    ? "No previous run of this stage to compare with."
                    : RunComparison.summary(changes) + ". moved: the AUROC left the previous run's 95% bootstrap interval.",
                header: ChangeRow.columns, rows: changes.map(\.fields)),
            HTMLReport.Table(
                heading: "Paired tests (DeLong)",
                note:
                    "Each score against its method's single-model rec and against every other method's best score, on the same test images: difference = AUROC − the other's, its 95% interval, z and two-sided p (not corrected for the number of tests).",
                header: DeLongRow.columns, rows: tests.map(\.fields)),
            HTMLReport.Table(
                heading: "Shift: does the score rise with the shift?",
                note: shiftTrends.isEmpty
                    ? "No shift stage in this stage's 'after'."
                    : "Normal test images rotated and elastically deformed by growing amounts: Spearman's ρ between score and magnitude over every image and magnitude, with its bootstrap 95% interval over images (shift.csv has the AUROC of each shifted set against the unshifted one).",
                header: ShiftStage.trendColumns, rows: shiftTrends),
            HTMLReport.Table(
                heading: "Costs",
                note:
                    "Whole-stage wall time (training: all networks; scoring: per test image, maps included) and the process's peak resident memory while the stage ran alone.",
                header: CostRow.columns, rows: costs.map(\.fields)),
        ]
        let report = HTMLReport.html(
            title: "medad: \(context.runDirectory.lastPathComponent), stage \(context.name)", tables: tables, sections: sections)
        try AtomicFile.write(Data(report.utf8), to: context.outputDirectory.appendingPathComponent(Self.reportFile))
        context.log("report: \(context.runDirectory.appendingPathComponent(context.name).appendingPathComponent(Self.reportFile).path)")
        return StageOutcome(rows: rows.count, items: scored.count)
    }

    /// A method's costs from its score stage's stage.json and that of the train stage it read (found through
    /// the score stage's recorded upstream).
    func costRow(_ s: Scored, context: StageContext) throws -> CostRow {
        guard let score = StageRecord.read(s.folder.appendingPathComponent("stage.json")) else {
            throw StageFailure("\(s.folder.path)/stage.json: missing or unreadable")
        }
        let train = score.upstream.keys.sorted().lazy.compactMap { name in
            StageRecord.read(context.runDirectory.appendingPathComponent(name).appendingPathComponent("stage.json"))
        }.first { $0.kind == TrainStage.kind }
        return CostRow(
            stage: s.stage, method: s.method.method, backbone: s.method.backbone, networks: s.method.networks, members: s.method.members,
            parameters: s.method.parameters, trainSeconds: train?.seconds,
            scoreMsPerImage: score.seconds * 1000 / Double(max(score.items, 1)),
            trainPeakMB: train?.peakMemoryMB, scorePeakMB: score.peakMemoryMB)
    }

    /// The (row, column) cells of the highest AUROC and the highest AP among method-level scores (rec_k left out).
    static func bestCells(_ rows: [AggregateRow]) -> Set<[Int]> {
        let contenders = rows.indices.filter { !rows[$0].score.hasPrefix("rec_") }
        var best: Set<[Int]> = []
        for (metric, column) in [(\AggregateRow.auroc, 5), (\AggregateRow.ap, 8)] {
            if let r = contenders.filter({ rows[$0][keyPath: metric] != nil }).max(by: {
                rows[$0][keyPath: metric]! < rows[$1][keyPath: metric]!
            }) {
                best.insert([r, column])
            }
        }
        return best
    }

    /// The score stage's map strips with their captions (maps.csv); none when it drew none.
    func strips(of s: Scored) throws -> [HTMLReport.Strip] {
        let index = s.folder.appendingPathComponent(MapStripRow.file)
        guard FileManager.default.fileExists(atPath: index.path) else { return [] }
        return try CSV.records(index, as: MapStripRow.self).map { row in
            let file = s.folder.appendingPathComponent("maps").appendingPathComponent(row.file)
            guard let png = try? Data(contentsOf: file) else { throw StageFailure("\(file.path): listed in \(index.path) but unreadable") }
            return HTMLReport.Strip(png: png, caption: row.caption)
        }
    }

    /// The shift stages in 'after': their shift_trend.csv rows for the table and their charts, redrawn from shift.csv.
    func shiftResults(_ context: StageContext) throws -> (trends: [[String]], sections: [HTMLReport.Section]) {
        var trends: [[String]] = [], sections: [HTMLReport.Section] = []
        // upstreams(ofKind:) throws only when there is none: then the report has no shift section.
        for (stage, folder) in (try? context.upstreams(ofKind: ShiftStage.kind)) ?? [] {
            let trend = try CSV.table(folder.appendingPathComponent("shift_trend.csv"), requiring: ShiftStage.trendColumns)
            // The method-level scores (per-member rec_k stay in shift_trend.csv: MC-dropout alone has 15).
            trends += trend.rows.filter { !($0["score"] ?? "").hasPrefix("rec_") }.map { row in
                row.texts(ShiftStage.trendColumns)
            }
            let shift = try CSV.table(folder.appendingPathComponent("shift.csv"), requiring: ShiftStage.columns)
            let charts = ShiftStage.charts(shift.rows.map { $0.texts(ShiftStage.columns) })
            sections.append(
                HTMLReport.Section(
                    title: "Shift experiment, stage \(stage)",
                    note:
                        "Each method-level score's mean over the normal test images against the size of the shift, min–max scaled per score so that rising and falling read alike.",
                    charts: charts.map(\.drawing)))
        }
        return (trends, sections)
    }

    /// plots/roc[_<stage>].png and plots/hist_[<stage>_]<score>.png; returns the charts, ROC first.
    func writePlots(_ context: StageContext, _ s: Scored, label: Bool) throws -> [SVGDrawing] {
        let folder = context.outputDirectory.appendingPathComponent("plots")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let prefix = label ? "\(SafeName.fileName(s.stage))_" : ""
        // Per-member rec_k curves would crowd the chart: it shows the method-level scores.
        let shown = s.names.indices.filter { !s.names[$0].hasPrefix("rec_") }
        let roc = Charts.roc(
            title: label ? "ROC: \(s.method.method)" : "ROC",
            shown.map { (s.names[$0], Metrics.auroc(s.columns[$0], s.labels) ?? 0.5, Metrics.rocCurve(s.columns[$0], s.labels)) })
        try roc.writePNG(to: try SafeName.child(folder, label ? "roc_\(prefix.dropLast()).png" : "roc.png").path)
        var charts = [roc]
        for c in shown {
            let histogram = Charts.histogram(
                name: label ? "\(s.method.method) \(s.names[c])" : s.names[c], scores: s.columns[c], labels: s.labels)
            try histogram.writePNG(to: try SafeName.child(folder, "hist_\(prefix)\(SafeName.fileName(s.names[c])).png").path)
            charts.append(histogram)
        }
        return charts
    }
}

/// aggregate.csv: one row per score stage and score. Metrics with 4 decimals; empty where undefined (no
/// intervals with resamples 0).
public struct AggregateRow: CSVRecord, Equatable {
    public static let columns = [
        "stage", "method", "backbone", "seed", "score", "auroc", "auroc_low", "auroc_high", "ap", "ap_low", "ap_high",
        "sensitivity_at_specificity", "specificity", "images", "normal", "abnormal",
    ]
    public var stage, method, backbone: String
    public var seed: UInt64
    public var score: String
    public var auroc, aurocLow, aurocHigh, ap, apLow, apHigh, sensitivity: Double?
    public var specificity: Double
    public var images, normal, abnormal: Int

    public var fields: [String] {
        let text = { (v: Double?) in v.map { String(format: "%.4f", $0) } ?? "" }
        return [
            stage, method, backbone, String(seed), score, text(auroc), text(aurocLow), text(aurocHigh), text(ap), text(apLow), text(apHigh),
            text(sensitivity), text(specificity), String(images), String(normal), String(abnormal),
        ]
    }

    public init(
        stage: String, method: String, backbone: String, seed: UInt64, score: String, auroc: Double?, aurocLow: Double?,
        aurocHigh: Double?, ap: Double?, apLow: Double?, apHigh: Double?, sensitivity: Double?, specificity: Double, images: Int,
        normal: Int, abnormal: Int
    ) {
        (self.stage, self.method, self.backbone, self.seed, self.score) = (stage, method, backbone, seed, score)
        (self.auroc, self.aurocLow, self.aurocHigh, self.ap, self.apLow, self.apHigh) = (auroc, aurocLow, aurocHigh, ap, apLow, apHigh)
        (self.sensitivity, self.specificity) = (sensitivity, specificity)
        (self.images, self.normal, self.abnormal) = (images, normal, abnormal)
    }

    public init(_ row: CSV.Row) throws {
        self.init(
            stage: row.text("stage"), method: row.text("method"), backbone: row.text("backbone"),
            seed: UInt64(try row.requiredInteger("seed")), score: row.text("score"), auroc: try row.number("auroc"),
            aurocLow: try row.number("auroc_low"), aurocHigh: try row.number("auroc_high"), ap: try row.number("ap"),
            apLow: try row.number("ap_low"), apHigh: try row.number("ap_high"), sensitivity: try row.number("sensitivity_at_specificity"),
            specificity: try row.requiredNumber("specificity"), images: try row.requiredInteger("images"),
            normal: try row.requiredInteger("normal"), abnormal: try row.requiredInteger("abnormal"))
    }
}

/// costs.csv: one row per method (score stage).
public struct CostRow: CSVRecord, Equatable {
    public static let columns = [
        "stage", "method", "backbone", "networks", "members", "parameters", "train_seconds", "score_ms_per_image",
        "train_peak_mb", "score_peak_mb",
    ]
    public var stage, method, backbone: String
    public var networks, members, parameters: Int
    /// Empty where the train stage's stage.json is gone or has no peak (a run made before peaks were recorded).
    public var trainSeconds: Double?
    public var scoreMsPerImage: Double
    public var trainPeakMB, scorePeakMB: Double?

    public var fields: [String] {
        let one = { (v: Double?) in v.map { String(format: "%.1f", $0) } ?? "" }
        // Seconds to the millisecond stage.json records: a small training rounded to tenths read 0.0.
        let seconds = trainSeconds.map { String(format: "%.3f", $0) } ?? ""
        return [
            stage, method, backbone, String(networks), String(members), String(parameters), seconds,
            String(format: "%.2f", scoreMsPerImage), one(trainPeakMB), one(scorePeakMB),
        ]
    }

    public init(
        stage: String, method: String, backbone: String, networks: Int, members: Int, parameters: Int, trainSeconds: Double?,
        scoreMsPerImage: Double, trainPeakMB: Double?, scorePeakMB: Double?
    ) {
        (self.stage, self.method, self.backbone, self.networks, self.members, self.parameters) =
            (stage, method, backbone, networks, members, parameters)
        (self.trainSeconds, self.scoreMsPerImage, self.trainPeakMB, self.scorePeakMB) = (
            trainSeconds, scoreMsPerImage, trainPeakMB, scorePeakMB
        )
    }

    public init(_ row: CSV.Row) throws {
        self.init(
            stage: row.text("stage"), method: row.text("method"), backbone: row.text("backbone"),
            networks: try row.requiredInteger("networks"),
            members: try row.requiredInteger("members"), parameters: try row.requiredInteger("parameters"),
            trainSeconds: try row.number("train_seconds"), scoreMsPerImage: try row.requiredNumber("score_ms_per_image"),
            trainPeakMB: try row.number("train_peak_mb"), scorePeakMB: try row.number("score_peak_mb"))
    }
}
