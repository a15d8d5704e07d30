// The images a model sees, for the train and score stages: the split's normalized PNGs for the chosen parts,
// each through MedAD's ModelInput (S×S, [−1, 1]). Loaded in parallel once per stage run and kept in memory as
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
            let png = try PNGCodec.read(path: try SafeName.descendant(normalizeDirectory, file).path)
            return (id, label, try ModelInput.pixels(png, size: size))
        }
        let images = loaded.compactMap { $0 }
        return ImageSet(size: size, pixels: images.flatMap(\.2), labels: images.map(\.1), ids: images.map(\.0))
    }
}
