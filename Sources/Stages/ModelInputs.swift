// The images a model sees (DESIGN.md section 3): the split's normalized PNGs for the chosen parts, resized to
// S×S (Pillow's bilinear resize of the 8- or 16-bit image, as the reference's transforms.Resize), scaled to
// [0, 1] and mapped to [−1, 1] by (x − 0.5)/0.5. Loaded in parallel once per stage run and kept in memory as
// Float32: S² · 4 bytes an image (64×64: 16 KiB, so 4,000 training images take 64 MiB).
import Foundation
import MedAD
import MedImage
import Pipeline

enum ModelInputs {
    /// split.csv's rows for the given parts (and labels, if given), sorted by image id, as an ImageSet.
    static func load(_ context: StageContext, parts: Set<String>, labels: Set<Int>? = nil, size: Int) throws -> ImageSet {
        let split = try CSV.table(
            try context.upstream(ofKind: SplitStage.kind).appendingPathComponent("split.csv"),
            requiring: ["image_id", "part", "label"]
        ).rows
        let normalizeDirectory = try context.upstream(ofKind: NormalizeStage.kind)
        let files = Dictionary(
            try CSV.read(normalizeDirectory.appendingPathComponent("normalize.csv"), requiring: ["image_id", "file"]).rows.compactMap {
                row in
                row["image_id"].flatMap { id in row["file"].map { (id, $0) } }
            }, uniquingKeysWith: { first, _ in first })
        let rows = try split.filter { row in
            guard parts.contains(row["part"] ?? "") else { return false }
            guard let label = try row.integer("label"), label == 0 || label == 1 else {
                throw CSVError("\(row.file): line \(row.line): column 'label' must be 0 or 1")
            }
            return labels?.contains(label) ?? true
        }.sorted { ($0["image_id"] ?? "") < ($1["image_id"] ?? "") }
        let loaded = context.forEachItem(rows, id: { $0["image_id"] ?? "?" }) { row -> (String, Int, [Float]) in
            let id = row["image_id"] ?? ""
            guard let file = files[id] else { throw StageFailure("no normalized PNG for \(id) in normalize.csv") }
            let label = try row.integer("label")!
            return (id, label, try pixels(try SafeName.descendant(normalizeDirectory, file).path, size: size))
        }
        let images = loaded.compactMap { $0 }
        return ImageSet(size: size, pixels: images.flatMap(\.2), labels: images.map(\.1), ids: images.map(\.0))
    }

    /// One PNG as the model's input: grey, S×S, in [−1, 1].
    static func pixels(_ path: String, size: Int) throws -> [Float] {
        let image = try PNGCodec.read(path: path).grayscale()
        let resized = try Geometry.square(image.samples, width: image.width, height: image.height, size: size, aspect: .stretch)
        switch resized {
        case .uint8(let p): return p.map { (Float($0) / 255 - 0.5) / 0.5 }
        case .uint16(let p): return p.map { (Float($0) / 65535 - 0.5) / 0.5 }
        default: throw StageFailure("\(path): unexpected sample type")
        }
    }
}
