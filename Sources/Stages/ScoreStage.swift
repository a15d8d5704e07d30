// score: every test image scored by the trained ensemble in eval mode (MedAD/AnomalyScores.swift: rec per
// learner, rec = learner 0 alone, ens_rec, ens_std, dsu, and the AE-U forms for an AE-U backbone), in batches.
// Writes score.csv (image_id, label, one column per score) and, when `maps` > 0, for the `maps` highest- and
// lowest-scored images of each score a PNG strip: input | mean reconstruction | the score's per-pixel map.
import Foundation
import MedAD
import MedImage
import MedNN
import Pipeline

public struct ScoreStage: Stage {
    public static let kind = "score"
    public static let summary = "score every test image with each uncertainty method (rec, ens_rec, ens_std, dsu, AE-U forms)"
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("batch_size", .int(1...4096), default: .int(64), help: "images per forward pass"),
        ParameterSpec(
            "maps", .int(0...1000), default: .int(0),
            help: "anomaly-map strips for the N highest- and N lowest-scored images of each score (0: none)"),
    ]

    let batchSize: Int
    let maps: Int

    public init(parameters: Parameters) throws {
        batchSize = parameters.int("batch_size")
        maps = parameters.int("maps")
    }

    /// The trained learners, frozen, from an upstream train stage's outputs.
    static func learners(_ context: StageContext) throws -> (TrainingSettings, [AutoEncoder]) {
        let folder = try context.upstream(ofKind: TrainStage.kind)
        let settings = try JSONDecoder().decode(
            TrainingSettings.self, from: Data(contentsOf: folder.appendingPathComponent(TrainStage.modelFile)))
        let models = try (0..<settings.networks).map { k -> AutoEncoder in
            let model = AutoEncoder(settings.modelConfig, seed: 0)
            let file = folder.appendingPathComponent(TrainStage.learnerFile(k))
            do { try model.load(try SafeTensors.read(file).tensors) } catch { throw StageFailure("\(file.path): \(error)") }
            model.setFrozen(true)
            return model
        }
        return (settings, models)
    }

    public func run(in context: StageContext) throws -> StageOutcome {
        let (settings, learners) = try Self.learners(context)
        let test = try ModelInputs.load(context, parts: ["test"], size: settings.inputSize)
        context.log(
            "\(test.count) test images, \(settings.method) with \(learners.count) network(s) (\(settings.backbone.rawValue)), batch \(batchSize)"
        )
        var names: [String] = []
        var rows: [[Double]] = []
        for start in stride(from: 0, to: test.count, by: batchSize) {
            let indices = Array(start..<min(start + batchSize, test.count))
            let scores = MemberScorer.score(try settings.members(test.batch(indices), models: learners, indices: indices))
            names = scores.names
            for (offset, values) in scores.values.enumerated() {
                if let column = values.firstIndex(where: { !$0.isFinite }) {
                    throw StageFailure(
                        "image \(test.ids[start + offset]): score \(names[column]) is \(values[column]) (non-finite); the learners or the image hold extreme values"
                    )
                }
            }
            rows += scores.values
            context.progress(done: rows.count, total: test.count)
        }
        let text = { (v: Double) in String(format: "%.9g", v) }
        try context.writeCSV(
            "score.csv", header: ["image_id", "label"] + names,
            rows: rows.indices.map { [test.ids[$0], String(test.labels[$0])] + rows[$0].map(text) })
        if maps > 0 { try writeMaps(context, test: test, names: names, rows: rows, settings: settings, learners: learners) }
        return StageOutcome(rows: rows.count, items: test.count)
    }

    /// maps/<score>_<top|bottom>_<rank>_<image_id>.png for each score of mapScores.
    func writeMaps(
        _ context: StageContext, test: ImageSet, names: [String], rows: [[Double]], settings: TrainingSettings, learners: [AutoEncoder]
    ) throws {
        let folder = context.outputDirectory.appendingPathComponent("maps")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let size = test.size
        for score in ScoreRegistry.mapped {
            guard let column = names.firstIndex(of: score) else { continue }
            let order = rows.indices.sorted { rows[$0][column] > rows[$1][column] }
            let picks = [("top", Array(order.prefix(maps))), ("bottom", Array(order.suffix(maps).reversed()))]
            for (end, indices) in picks where !indices.isEmpty {
                let members = try settings.members(test.batch(indices), models: learners, indices: indices)
                let result = MemberScorer.score(members, keepMaps: true)
                for (rank, index) in indices.enumerated() {
                    let image = Array(test.pixels[index * size * size..<(index + 1) * size * size])
                    let map = result.maps[rank]
                    let strip = Strip.horizontal(
                        [
                            Strip.grey(image, from: -1, to: 1), Strip.grey(map.reconstruction, from: -1, to: 1),
                            Strip.scaled(map.byScore[score]!),
                        ], size: size)
                    let file = try SafeName.child(folder, "\(score)_\(end)_\(rank + 1)_\(SafeName.fileName(test.ids[index])).png")
                    try PNGCodec.writeGray(path: file.path, pixels: .uint8(strip), width: 3 * size + 2 * Strip.gap, height: size)
                }
            }
        }
    }
}

/// Grey 8-bit panels side by side for the anomaly-map strips.
enum Strip {
    static let gap = 2

    /// Values in [low, high] to 0…255, clamped.
    static func grey(_ values: [Float], from low: Float, to high: Float) -> [UInt8] {
        values.map { $0.isFinite ? UInt8(clamping: Int(((($0 - low) / (high - low)) * 255).rounded())) : 0 }
    }

    /// Min–max scaled to 0…255 (a flat map is black).
    static func scaled(_ values: [Float]) -> [UInt8] {
        let finite = values.filter(\.isFinite)
        let low = finite.min() ?? 0, high = finite.max() ?? 0
        return high > low ? grey(values, from: low, to: high) : [UInt8](repeating: 0, count: values.count)
    }

    /// size × size panels left to right, `gap` white columns between them.
    static func horizontal(_ panels: [[UInt8]], size: Int) -> [UInt8] {
        let width = panels.count * size + (panels.count - 1) * gap
        var out = [UInt8](repeating: 255, count: width * size)
        for (p, panel) in panels.enumerated() {
            for y in 0..<size { for x in 0..<size { out[y * width + p * (size + gap) + x] = panel[y * size + x] } }
        }
        return out
    }
}
