// score: every test image scored in eval mode, in batches: the upstream train stage's method gives each image's
// member set (MedAD/Methods) and every registered score that applies to it is computed (MedAD/Scores). Writes
// score.csv (image_id, label, one column per score), method.csv, and, when `maps` > 0, for the `maps` highest-
// and lowest-scored images of each mapped score a PNG strip: input | mean reconstruction | map | saliency, listed
// in maps.csv (MapStripRow).
import Foundation
import MedAD
import MedImage
import MedNN
import Pipeline

public struct ScoreStage: Stage {
    public static let kind = "score"
    public static let summary =
        "score every test image with the trained method's members: every registered score (rec, ens_rec, ens_std, dsu, …)"
    public static let usesEveryCore = true
    struct Settings {
        var batchSize = 64
        /// Anomaly-map strips per end of each score's ranking.
        var maps = 0
        /// Lesion boxes for localisation (RSNA's stage_2_train_labels.csv or VinDr-CXR's train.csv).
        var boxes: URL?
    }
    static let settings: [Setting<Settings>] = [
        .int("batch_size", \.batchSize, 1...4096, "images per forward pass"),
        .int("maps", \.maps, 0...1000, "anomaly-map strips for the N highest- and N lowest-scored images of each score (0: none)"),
        .path(
            "boxes", \.boxes,
            "lesion boxes for localisation.csv: RSNA's stage_2_train_labels.csv (patientId,x,y,width,height,Target) or VinDr-CXR's train.csv (image_id,class_name,…,x_min,y_min,x_max,y_max); needs ingest in 'after'"
        ),
    ]
    public static let parameters = settings.specs(defaults: Settings())

    let settings: Settings

    public init(parameters: Parameters) throws { settings = Self.settings.apply(parameters, to: Settings()) }

    public func inputFiles() throws -> [URL] { [settings.boxes].compactMap { $0 } }

    /// The trained networks (and meta-learner), frozen, from an upstream train stage's outputs.
    static func learners(_ context: StageContext) throws -> (TrainingSettings, TrainedNetworks) {
        try learners(in: try context.upstream(ofKind: TrainStage.kind))
    }

    /// The networks a train stage's folder holds.
    static func learners(in folder: URL) throws -> (TrainingSettings, TrainedNetworks) {
        let file = folder.appendingPathComponent(TrainStage.modelFile)
        let settings: TrainingSettings
        do { settings = try TrainingSettings.decode(Data(contentsOf: file)) } catch {
            throw StageFailure("\(file.path): not a train stage's model.json (\(error)); run the train stage again")
        }
        guard MethodRegistry.named(settings.method) != nil else {
            throw StageFailure(
                "\(file.path): unknown method '\(settings.method)' (this medad knows \(MethodRegistry.names.joined(separator: ", ")))")
        }
        let models = try (0..<settings.networks).map { k -> AutoEncoder in
            let model = AutoEncoder(settings.modelConfig, seed: 0)
            let file = folder.appendingPathComponent(TrainStage.learnerFile(k))
            do { try model.load(try SafeTensors.read(file).tensors) } catch { throw StageFailure("\(file.path): \(error)") }
            model.setFrozen(true)
            return model
        }
        let meta = settings.uncertaintyMethod.metaLearner(settings)
        if let meta {
            let file = folder.appendingPathComponent(TrainStage.metaFile)
            do { try meta.load(try SafeTensors.read(file).tensors) } catch { throw StageFailure("\(file.path): \(error)") }
            meta.setFrozen(true)
        }
        return (settings, TrainedNetworks(models, meta: meta))
    }

    public func run(in context: StageContext) throws -> StageOutcome {
        let (training, learners) = try Self.learners(context)
        let test = try ModelInputs.load(context, parts: ["test"], size: training.inputSize)
        context.log(
            "\(test.count) test images, \(training.method) with \(learners.count) network(s) (\(training.backbone.rawValue)), batch \(settings.batchSize)"
        )
        var names: [String] = []
        var rows: [[Double]] = []
        var members = 0
        // Localisation: each mapped score's per-pixel map of every image, when lesion masks exist.
        let masks = try GroundTruthMasks.load(context, ids: test.ids, size: training.inputSize, boxes: settings.boxes)
        var pixelMaps: [String: [Float]] = [:]  // Float: RSNA's 2,000 test images at 64² are 8 M values a score
        for start in stride(from: 0, to: test.count, by: settings.batchSize) {
            let indices = Array(start..<min(start + settings.batchSize, test.count))
            let set = try training.members(test.batch(indices), models: learners, indices: indices)
            let scores = MemberScorer.score(set, keepMaps: masks != nil)
            for map in scores.maps { for (score, values) in map.byScore { pixelMaps[score, default: []] += values } }
            (names, members) = (scores.names, set.members)
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
        let method = ScoredMethod(
            method: training.method, backbone: training.backbone.rawValue, seed: training.seed, networks: learners.count, members: members,
            parameters: learners.parameterCount)
        try context.writeCSV(ScoredMethod.file, records: [method])
        if let masks { try writeLocalisation(context, maps: pixelMaps, order: names, masks: masks) }
        if settings.maps > 0 {
            try writeMaps(context, test: test, names: names, rows: rows, training: training, learners: learners, masks: masks)
        }
        return StageOutcome(rows: rows.count, items: test.count)
    }

    /// localisation.csv: for each mapped score, the pixel AUROC and best Dice of its maps against the masks.
    func writeLocalisation(_ context: StageContext, maps: [String: [Float]], order: [String], masks: [[Bool]]) throws {
        let mask = masks.flatMap { $0 }
        let lesioned = masks.filter { $0.contains(true) }.count
        var rows: [[String]] = []
        for score in order {
            guard let map = maps[score], map.count == mask.count, let result = Metrics.localisation(map: map.map(Double.init), mask: mask)
            else { continue }
            rows.append([
                score, result.auroc.map { String(format: "%.4f", $0) } ?? "", String(format: "%.4f", result.dice),
                String(format: "%.6g", result.threshold), String(masks.count), String(lesioned),
            ])
        }
        try context.writeCSV("localisation.csv", header: Self.localisationColumns, rows: rows)
        context.log(
            "localisation: \(lesioned) of \(masks.count) test images have lesion masks; pixel AUROC and best Dice in localisation.csv")
    }

    public static let localisationColumns = ["score", "pixel_auroc", "best_dice", "threshold", "images", "images_with_lesions"]

    /// maps/<score>_<top|bottom>_<rank>_<image_id>.png for each score that draws a map, indexed in maps.csv: input | mean reconstruction |
    /// the score's map | its saliency (|∂score/∂x|, for scores with derivatives; dsu's strips have three panels);
    /// with lesion masks, their outline in white on the input and the map.
    func writeMaps(
        _ context: StageContext, test: ImageSet, names: [String], rows: [[Double]], training: TrainingSettings, learners: TrainedNetworks,
        masks: [[Bool]]?
    ) throws {
        let folder = context.outputDirectory.appendingPathComponent("maps")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let size = test.size
        let method = training.uncertaintyMethod
        var strips: [MapStripRow] = []
        for score in ScoreRegistry.mapped {
            guard let column = names.firstIndex(of: score), let plugin = ScoreRegistry.mapping(score) else { continue }
            let order = rows.indices.sorted { rows[$0][column] > rows[$1][column] }
            let picks = [("top", Array(order.prefix(settings.maps))), ("bottom", Array(order.suffix(settings.maps).reversed()))]
            for (end, indices) in picks where !indices.isEmpty {
                let x = test.batch(indices)
                let members = try training.members(x, models: learners, indices: indices)
                let result = MemberScorer.score(members, keepMaps: true)
                let saliency = try Saliency.inputGradient(of: plugin, set: members) {
                    try method.pass($0, x, models: learners, indices: indices, settings: training)
                }
                let plane = size * size
                for (rank, index) in indices.enumerated() {
                    let image = Array(test.pixels[index * plane..<(index + 1) * plane])
                    let map = result.maps[rank]
                    var panels = [
                        MapStrip.grey(image, from: -1, to: 1), MapStrip.grey(map.reconstruction, from: -1, to: 1),
                        MapStrip.scaled(map.byScore[score]!),
                    ]
                    if let mask = masks?[index] {
                        for p in [0, 2] { panels[p] = MapStrip.outlined(panels[p], mask: mask, size: size) }
                    }
                    if let saliency { panels.append(MapStrip.scaled(saliency[rank * plane..<(rank + 1) * plane].map(abs))) }
                    let strip = MapStrip.horizontal(panels, size: size)
                    let file = try SafeName.child(folder, "\(score)_\(end)_\(rank + 1)_\(SafeName.fileName(test.ids[index])).png")
                    try PNGCodec.writeGray(
                        path: file.path, pixels: .uint8(strip), width: strip.count / size, height: size)
                    strips.append(
                        MapStripRow(
                            file: file.lastPathComponent, score: score, end: end, rank: rank + 1, imageID: test.ids[index],
                            label: test.labels[index], value: rows[index][column], images: test.count))
                }
            }
        }
        try context.writeCSV(MapStripRow.file, records: strips)
    }
}

/// method.csv: what the score stage scored with, one row (read by aggregate for its comparison and cost tables).
public struct ScoredMethod: CSVRecord, Equatable {
    public static let file = "method.csv"
    public static let columns = ["method", "backbone", "seed", "networks", "members", "parameters"]
    public var method: String
    public var backbone: String
    public var seed: UInt64
    /// Networks trained; members per image; parameters of all networks together.
    public var networks: Int
    public var members: Int
    public var parameters: Int

    public var fields: [String] { [method, backbone, String(seed), String(networks), String(members), String(parameters)] }

    public init(method: String, backbone: String, seed: UInt64, networks: Int, members: Int, parameters: Int) {
        (self.method, self.backbone, self.seed, self.networks, self.members, self.parameters) =
            (method, backbone, seed, networks, members, parameters)
    }

    public init(_ row: CSV.Row) throws {
        func count(_ column: String) throws -> Int {
            let value = try row.requiredInteger(column)
            guard value >= 0 else { throw CSVError("\(row.file): line \(row.line): column '\(column)' is negative") }
            return value
        }
        self.init(
            method: row.text("method"), backbone: row.text("backbone"), seed: UInt64(try count("seed")), networks: try count("networks"),
            members: try count("members"), parameters: try count("parameters"))
    }

    /// Reads method.csv: exactly one row.
    public init(file: URL) throws {
        let rows = try CSV.records(file, as: Self.self)
        guard rows.count == 1 else { throw StageFailure("\(file.path): needs exactly one row, has \(rows.count)") }
        self = rows[0]
    }
}
