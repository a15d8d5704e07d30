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
        let split = try CSV.records(try context.upstream(ofKind: SplitStage.kind).appendingPathComponent("split.csv"), as: SplitRow.self)
        let normalizeDirectory = try context.upstream(ofKind: NormalizeStage.kind)
        let files = Dictionary(
            try CSV.records(normalizeDirectory.appendingPathComponent("normalize.csv"), as: NormalizeRow.self).map {
                ($0.imageID, $0.file)
            },
            uniquingKeysWith: { first, _ in first })
        let rows = split.filter { parts.contains($0.part) && (labels?.contains($0.label) ?? true) }.sorted { $0.imageID < $1.imageID }
        let loaded = context.forEachItem(rows, id: \.imageID) { row -> (String, Int, [Float]) in
            guard let file = files[row.imageID] else { throw StageFailure("no normalized PNG for \(row.imageID) in normalize.csv") }
            let png = try PNGCodec.read(path: try SafeName.descendant(normalizeDirectory, file).path)
            return (row.imageID, row.label, try ModelInput.pixels(png, size: size))
        }
        let images = loaded.compactMap { $0 }
        return ImageSet(size: size, pixels: images.flatMap(\.2), labels: images.map(\.1), ids: images.map(\.0))
    }
}
