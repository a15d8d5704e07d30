// shift: the deep-learning-uncertainty thesis's experiments 1 and 2 on every trained method in `after`: the normal
// test images rotated by growing angles and elastically deformed with growing strength (MedAD/Data/
// ShiftTransforms), each version scored with every score the method writes. Does the uncertainty rise with the
// shift? shift.csv: per method, score, transform and magnitude, the AUROC of the shifted images against the
// unshifted ones (0.5: the score does not see the shift) and the mean score; shift_trend.csv: Spearman's ρ between
// score and magnitude over every image and magnitude (0 included), with a bootstrap interval over images.
// plots/shift_<stage>_<transform>.png: each score's mean (min–max scaled over the magnitudes) against magnitude.
import Foundation
import MedAD
import MedNN
import Pipeline

public struct ShiftStage: Stage {
    public static let kind = "shift"
    public static let gathersCells = true
    public static let summary =
        "rotate and elastically deform the normal test images by growing amounts and score them with every trained method: does uncertainty rise with the shift?"
    public static let usesEveryCore = true
    struct Settings {
        var angles = [0.0, 5, 10, 15, 20, 30, 45]
        var strengths = [0.0, 0.5, 1, 1.5, 2, 3]
        var smoothness = 4.0
        var seed: UInt64 = 8
        var batchSize = 64
        var resamples = 1000
    }
    static let settings: [Setting<Settings>] = [
        .numbers("angles", \.angles, 0...180, "rotation angles in degrees (0: the unshifted images)"),
        .numbers("strengths", \.strengths, 0...64, "elastic strengths: the RMS displacement in model-input pixels (0: unshifted)"),
        .double("smoothness", \.smoothness, 0.5...64, "σ in pixels of the Gaussian that smooths the random displacement field"),
        .seed("seed", \.seed, "the displacement fields and the bootstrap; the same seed gives the same outputs"),
        .int("batch_size", \.batchSize, 1...4096, "images scored at once"),
        .int("resamples", \.resamples, 0...100_000, "bootstrap resamples of images for ρ's interval (0: none)"),
    ]
    public static let parameters = settings.specs(defaults: Settings())

    let settings: Settings
    public init(parameters: Parameters) throws { settings = Self.settings.apply(parameters, to: Settings()) }

    public static let columns = ["stage", "method", "score", "transform", "magnitude", "auroc", "mean_score", "images"]
    public static let trendColumns = ["stage", "method", "score", "transform", "spearman", "low", "high"]

    public func run(in context: StageContext) throws -> StageOutcome {
        let trained = try context.upstreams(ofKind: TrainStage.kind)
        guard !trained.isEmpty else { throw StageFailure("shift needs a train stage in its 'after'") }
        var rows: [[String]] = [], trends: [[String]] = []
        let plots = context.outputDirectory.appendingPathComponent("plots")
        try FileManager.default.createDirectory(at: plots, withIntermediateDirectories: true)
        for (index, (stage, folder)) in trained.enumerated() {
            context.progress(done: index, total: trained.count)
            let (training, networks) = try ScoreStage.learners(in: folder)
            let normal = try ModelInputs.load(context, parts: ["test"], labels: [0], size: training.inputSize)
            guard normal.count > 1 else { throw StageFailure("shift needs two or more normal test images (\(normal.count))") }
            context.log("\(stage): \(training.method), \(normal.count) normal test images")
            let plane = normal.size * normal.size
            let fields = (0..<normal.count).map {
                ShiftTransforms.field(size: normal.size, sigma: settings.smoothness, seed: settings.seed, index: $0)
            }
            let transforms: [(name: String, magnitudes: [Double], apply: (Int, Double) -> [Float])] = [
                (
                    "rotation", settings.angles,
                    { i, m in ShiftTransforms.rotate(normal.pixels[(i * plane)..<((i + 1) * plane)], size: normal.size, degrees: m) }
                ),
                (
                    "elastic", settings.strengths,
                    { i, m in
                        ShiftTransforms.deform(
                            normal.pixels[(i * plane)..<((i + 1) * plane)], size: normal.size, field: fields[i], strength: m)
                    }
                ),
            ]
            let original = try score(normal.pixels, count: normal.count, size: normal.size, training: training, networks: networks)
            for transform in transforms {
                // scores[magnitude][image][column]; magnitude 0 is the unshifted set itself.
                var scores: [[[Double]]] = []
                for magnitude in transform.magnitudes {
                    if magnitude == 0 {
                        scores.append(original.values)
                        continue
                    }
                    let pixels = (0..<normal.count).flatMap { transform.apply($0, magnitude) }
                    scores.append(try score(pixels, count: normal.count, size: normal.size, training: training, networks: networks).values)
                }
                for (c, name) in original.names.enumerated() {
                    for (m, magnitude) in transform.magnitudes.enumerated() {
                        let shifted = scores[m].map { $0[c] }, unshifted = original.values.map { $0[c] }
                        let auroc = Metrics.auroc(
                            unshifted + shifted, Array(repeating: 0, count: normal.count) + Array(repeating: 1, count: normal.count))
                        let mean = shifted.reduce(0, +) / Double(shifted.count)
                        rows.append([
                            stage, training.method, name, transform.name, String(magnitude), auroc.map { String(format: "%.4f", $0) } ?? "",
                            String(format: "%.6g", mean), String(normal.count),
                        ])
                    }
                    let groups = (0..<normal.count).map { i in
                        transform.magnitudes.indices.map { (transform.magnitudes[$0], scores[$0][i][c]) }
                    }
                    let trend = Metrics.spearmanInterval(groups: groups, resamples: settings.resamples, seed: settings.seed)
                    let text = { (v: Double?) in v.map { String(format: "%.4f", $0) } ?? "" }
                    trends.append([stage, training.method, name, transform.name, text(trend?.rho), text(trend?.low), text(trend?.high)])
                }
            }
        }
        try context.writeCSV("shift.csv", header: Self.columns, rows: rows)
        for chart in Self.charts(rows) {
            try chart.drawing.writePNG(to: try SafeName.child(plots, "shift_\(SafeName.fileName(chart.stage))_\(chart.transform).png").path)
        }
        try context.writeCSV("shift_trend.csv", header: Self.trendColumns, rows: trends)
        return StageOutcome(rows: rows.count, items: trained.count)
    }

    /// One chart per train stage and transform from shift.csv's rows (`columns` order): each method-level score's
    /// mean against the magnitude (per-member rec_k left out). The shift stage writes them as PNGs, aggregate inlines them.
    public static func charts(_ rows: [[String]]) -> [(stage: String, transform: String, drawing: SVGDrawing)] {
        var order: [[String]] = []  // (stage, method, transform) in first-seen order
        var series: [[String]: [(score: String, magnitude: Double, mean: Double)]] = [:]
        for row in rows where row.count == columns.count && !row[2].hasPrefix("rec_") {
            let key = [row[0], row[1], row[3]]
            if series[key] == nil { order.append(key) }
            series[key, default: []].append((row[2], Double(row[4]) ?? 0, Double(row[6]) ?? 0))
        }
        return order.map { key in
            let points = series[key]!
            var scores: [String] = []
            for p in points where !scores.contains(p.score) { scores.append(p.score) }
            let x = points.filter { $0.score == scores[0] }.map(\.magnitude)
            let drawing = Charts.lines(
                title: "\(key[1]): \(key[2])", xLabel: key[2] == "rotation" ? "degrees" : "RMS pixels", x: x,
                series: scores.map { name in (name, points.filter { $0.score == name }.map(\.mean)) })
            return (key[0], key[2], drawing)
        }
    }

    /// Every score of the method on `count` images (in batches; each image's place is its index, so MC-dropout
    /// draws the same masks for an image in every version).
    func score(
        _ pixels: [Float], count: Int, size: Int, training: TrainingSettings, networks: TrainedNetworks
    ) throws -> (
        names: [String], values: [[Double]]
    ) {
        let plane = size * size
        var names: [String] = [], values: [[Double]] = []
        for start in stride(from: 0, to: count, by: settings.batchSize) {
            let indices = Array(start..<min(start + settings.batchSize, count))
            let x = Tensor(shape: [indices.count, 1, size, size], data: Array(pixels[(start * plane)..<((start + indices.count) * plane)]))
            let result = MemberScorer.score(try training.members(x, models: networks, indices: indices))
            names = result.names
            values += result.values
        }
        return (names, values)
    }
}
