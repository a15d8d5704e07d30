// Lesion masks for the score stage's localisation metrics, at the model's input size: from an upstream synthesize
// stage's masks/<patientId>.png, matched to each test image through ingest.csv's file stem. The normalize stage's
// geometry is applied (a stretch of the whole image, its default and the Med-AD recipe's; other aspect handlings
// are not mapped, and localisation is then left out with a log line), then the model's: Pillow's bilinear resize
// to S×S, a pixel in the mask where the resized mask is at least half on. An image without a mask has none.
import Foundation
import MedAD
import MedImage
import Pipeline

enum GroundTruthMasks {
    /// One mask per id (S·S values), or nil when there is nothing to compare with (no synthesize stage upstream).
    static func load(_ context: StageContext, ids: [String], size: Int) throws -> [[Bool]]? {
        guard let synthesize = try? context.upstream(ofKind: SynthesizeStage.kind) else { return nil }
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
        let rows = try CSV.read(ingest.appendingPathComponent("ingest.csv"), requiring: ["image_id", "path"]).rows
        let stems = Dictionary(
            rows.map { ($0["image_id"]!, URL(fileURLWithPath: $0["path"]!).deletingPathExtension().lastPathComponent) },
            uniquingKeysWith: { first, _ in first })
        let folder = synthesize.appendingPathComponent(SynthesizeStage.maskFolder)
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
