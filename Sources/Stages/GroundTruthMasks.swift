// Lesion masks for the score stage's localisation metrics, at the model's input size: from lesion boxes (`boxes`:
// RSNA's stage_2_train_labels.csv or VinDr-CXR's train.csv, pixels of the source image; LesionBoxes), or else from an upstream synthesize stage's masks/<patientId>.png, matched to each test image through ingest.csv's
// file stem. The normalize stage's geometry is applied (a stretch of the whole image, its default and the Med-AD
// recipe's; other aspect handlings are not mapped, and localisation is then left out with a log line), then the
// model's: a box covers the model pixels whose centres fall inside it; a mask goes through Pillow's bilinear resize
// to S×S and is on where at least half on. An image without a box or mask has no lesion.
import Foundation
import MedAD
import MedImage
import Pipeline

enum GroundTruthMasks {
    /// One mask per id (S·S values), or nil when there is nothing to compare with (no boxes, no synthesize stage).
    static func load(_ context: StageContext, ids: [String], size: Int, boxes: URL?) throws -> [[Bool]]? {
        let synthesize = try? context.upstream(ofKind: SynthesizeStage.kind)
        guard boxes != nil || synthesize != nil else { return nil }
        guard let ingest = try? context.upstream(ofKind: IngestStage.kind) else {
            context.warn("localisation needs the ingest stage in this stage's 'after' (to find each image's mask); left out")
            return nil
        }
        let normalize = try context.upstream(ofKind: NormalizeStage.kind)
        if let record = StageRecord.read(normalize.appendingPathComponent("stage.json")),
            let aspect = record.parameters["aspect"], aspect != .string("stretch")
        {
            context.warn("localisation maps masks through a stretched resize only (normalize's aspect is \(aspect)); left out")
            return nil
        }
        let rows = try CSV.read(ingest.appendingPathComponent("ingest.csv"), requiring: ["image_id", "path", "rows", "columns"]).rows
        let stems = Dictionary(
            rows.map { ($0["image_id"]!, URL(fileURLWithPath: $0["path"]!).deletingPathExtension().lastPathComponent) },
            uniquingKeysWith: { first, _ in first })
        if let boxes {
            let sizes = Dictionary(
                rows.map { ($0["image_id"]!, (width: Double($0["columns"] ?? "") ?? 0, height: Double($0["rows"] ?? "") ?? 0)) },
                uniquingKeysWith: { first, _ in first })
            let byStem = try LesionBoxes.read(boxes)
            return ids.map { id in
                guard let stem = stems[id], let source = sizes[id], source.width > 0, source.height > 0, let found = byStem[stem] else {
                    return [Bool](repeating: false, count: size * size)
                }
                return (0..<size * size).map { p in
                    let cx = (Double(p % size) + 0.5) * source.width / Double(size)
                    let cy = (Double(p / size) + 0.5) * source.height / Double(size)
                    return found.contains { $0.contains(cx, cy) }
                }
            }
        }
        let folder = synthesize!.appendingPathComponent(SynthesizeStage.maskFolder)
        return try ids.map { id in
            guard let stem = stems[id], let file = try? SafeName.child(folder, "\(stem).png"),
                FileManager.default.fileExists(atPath: file.path)
            else { return [Bool](repeating: false, count: size * size) }
            let png = try PNGCodec.read(path: file.path)
            let resized = try Geometry.square(png.samples, width: png.width, height: png.height, size: size, aspect: .stretch)
            guard case .uint8(let values) = resized else { throw StageFailure("\(file.path): not an 8-bit mask") }
            return values.map { $0 >= 128 }
        }
    }
}
