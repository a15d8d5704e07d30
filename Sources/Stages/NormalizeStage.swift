// normalize: each ingested image → a grey PNG of a fixed size through a chain of named steps. The default
// chain is the Med-AD preprocessing (rescale, invert MONOCHROME1, min–max to 8 bits, Pillow-bilinear resize).
import Crypto
import Foundation
import MedImage
import Pipeline
import Synchronization

public struct NormalizeStage: Stage {
    public static let kind = "normalize"
    public static let shardable = true
    public static let summary =
        "grey PNGs of a fixed size through named steps (default: the Med-AD preprocessing), written with libpng and ISA-L"
    static let resizeStep = "resize"
    public static let defaultSteps = ["rescale", "invert_monochrome1", "minmax", resizeStep]
    struct Settings {
        var steps = defaultSteps
        var size = 512
        var aspect = AspectHandling.stretch
        var bitDepth = "8"
        var windowCenter: Double?
        var windowWidth: Double?
        var clipLow = 0.5
        var clipHigh = 99.5
    }
    static let settings: [Setting<Settings>] = [
        .strings(
            "steps", \.steps, allowed: GreyLevelStep.allCases.map(\.rawValue) + [resizeStep],
            "the chain, in order; resize comes last; colour input is first reduced to grey as Pillow's convert('L')"),
        .int("size", \.size, 8...8192, "output rows and columns"),
        .choice("aspect", \.aspect, "non-square input: stretch (Med-AD), pad (ImageOps.pad) or crop (ImageOps.fit)"),
        .choice("bit_depth", \.bitDepth, ["8", "16"], "bits per PNG sample"),
        .optionalDouble("window_center", \.windowCenter, nil, "window centre for the window step (default: the header's)"),
        .optionalDouble("window_width", \.windowWidth, 1...Double(Int32.max), "window width for the window step (default: the header's)"),
        .double("clip_low", \.clipLow, 0...100, "low percentile of clip_percentiles"),
        .double("clip_high", \.clipHigh, 0...100, "high percentile of clip_percentiles"),
    ]
    public static let parameters = settings.specs(defaults: Settings())

    let recipe: GreyLevelRecipe
    let resize: Bool
    let settings: Settings
    /// The parameters as canonical JSON: a reused PNG must have been made with all of them.
    let recipeText: String

    public init(parameters: Parameters) throws {
        let s = Self.settings.apply(parameters, to: Settings())
        let names = s.steps
        if Set(names).count != names.count { throw ParameterError(key: "steps", "a step is named twice") }
        if let index = names.firstIndex(of: Self.resizeStep), index != names.count - 1 {
            throw ParameterError(key: "steps", "resize must be the last step (Pillow resizes the finished 8- or 16-bit image)")
        }
        let steps = names.compactMap(GreyLevelStep.init(rawValue:))
        if let invert = steps.firstIndex(of: .invertMonochrome1),
            let voi = steps.firstIndex(where: { $0 == .window || $0 == .voiLUT }), invert < voi
        {
            throw ParameterError(
                key: "steps", "invert_monochrome1 must come after window/voi_lut (DICOM inverts last; inverting first flips the window)")
        }
        if (s.windowCenter == nil) != (s.windowWidth == nil) {
            throw ParameterError(key: "window_width", "give window_center and window_width together")
        }
        if s.clipLow >= s.clipHigh { throw ParameterError(key: "clip_high", "must be above clip_low") }
        var recipe = GreyLevelRecipe(steps: steps, outputBits: Int(s.bitDepth)!)
        recipe.windowCenter = s.windowCenter
        recipe.windowWidth = s.windowWidth
        recipe.lowPercentile = s.clipLow
        recipe.highPercentile = s.clipHigh
        self.recipe = recipe
        self.resize = names.last == Self.resizeStep
        self.settings = s
        recipeText = String(decoding: parameters.canonicalJSON, as: UTF8.self)
    }

    public func run(in context: StageContext) throws -> StageOutcome {
        let ingest = try CSV.table(
            try context.upstream(ofKind: IngestStage.kind).appendingPathComponent("ingest.csv"), requiring: IngestStage.columns)
        let folder = context.outputDirectory.appendingPathComponent("png")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let previous = previousRows(context)
        let counter = Counter()
        let hashes = FileHashes()
        let notes = Mutex([String: (count: Int, first: String)]())
        let rows = context.forEachItem(ingest.rows, id: { $0["image_id"] ?? "?" }) { row -> NormalizeRow in
            let id = row["image_id"] ?? ""
            let name = SafeName.fileName(id) + ".png"
            let file = "png/" + name
            let output = try SafeName.child(folder, name)
            let recipeID = Self.recipeID(settings: recipeText, row: row.values)
            if let old = previous[id], old.row.recipe == recipeID, link(old.folder.appendingPathComponent(file).path, output.path) == 0 {
                counter.add(reused: 1)
                return old.row
            }
            let result = try normalize(row, to: output, hashes: hashes)
            counter.add(decoded: 1)
            if let note = result.note {
                notes.withLock { notes in
                    let seen = notes[note]
                    notes[note] = ((seen?.count ?? 0) + 1, min(seen?.first ?? id, id))  // the smallest id: the same on every run
                }
            }
            let s = result.statistics
            return NormalizeRow(
                imageID: id, file: file, width: result.size, height: result.size, bitDepth: recipe.outputBits,
                steps: result.applied.joined(separator: ";"), min: format(s.min), max: format(s.max), mean: format(s.mean),
                std: format(s.standardDeviation), recipe: recipeID, contentHash: result.contentHash, pixelHash: result.pixelHash,
                dhash: result.dhash)
        }
        let written = rows.compactMap { $0 }
        try context.writeCSV("normalize.csv", records: written)
        context.log(
            "\(written.count) PNGs of \(settings.size)² in png/: \(counter.decoded) made, \(counter.reused) unchanged and reused")
        for (note, seen) in notes.withLock({ $0 }).sorted(by: { $0.key < $1.key }) {
            context.log("\(seen.count) image(s), first \(seen.first): \(note)")
        }
        return StageOutcome(rows: written.count, items: ingest.rows.count)
    }

    struct Normalized {
        var applied: [String]
        var statistics: GreyLevelStatistics
        var size: Int
        var contentHash: String
        var pixelHash: String
        var dhash: String
        /// What decoding read differently from the header's word (DICOMFile.decodingNote), for the log.
        var note: String?
    }

    /// Decodes one ingested image, runs the chain and writes the PNG.
    func normalize(_ row: CSV.Row, to output: URL, hashes: FileHashes) throws -> Normalized {
        let path = URL(fileURLWithPath: row["input_dir"] ?? "").appendingPathComponent(row["path"] ?? "").path
        guard let (size, mtime) = try? IngestStage.identity(path) else {
            throw ImageError("source file is gone or unreadable: \(row["path"] ?? "")")
        }
        guard size == row["size"], mtime == row["mtime_ns"] else {
            throw ImageError("source file changed since ingest (size or modification time); run ingest again")
        }
        var header = GreyLevelHeader()
        header.photometric = row["photometric_interpretation"] ?? ""
        // Empty means the header had none (slope 1, intercept 0); anything else must parse, or the row fails.
        header.rescaleSlope = try row.number("rescale_slope") ?? 1
        header.rescaleIntercept = try row.number("rescale_intercept") ?? 0
        header.windowCenter = try row.number("window_center")
        header.windowWidth = try row.number("window_width")
        let source = try SourceFile.read(
            path: path, format: row["format"] ?? "", frame: try row.integer("frame") ?? 0,
            wantsVOILUT: recipe.steps.contains(.voiLUT), hashes: hashes)
        var image = source.image
        header.voiLUT = source.voiLUT
        var applied: [String] = []
        if image.channels > 1 {
            image = try image.grayscale()
            applied.append("grayscale")
        }
        let grey = try GreyLevels.apply(image, header: header, recipe: recipe, stored: source.stored)
        applied += grey.applied
        var pixels: Samples, width = image.width, height = image.height
        if resize {
            let size = settings.size
            pixels = try Geometry.square(grey.lookup, width: width, height: height, size: size, aspect: settings.aspect)
            if width != size || height != size { applied.append(Self.resizeStep) }
            width = size
            height = size
        } else {
            pixels = grey.pixels
        }
        try PNGCodec.writeGray(path: output.path, pixels: pixels, width: width, height: height)
        return Normalized(
            applied: applied, statistics: grey.statistics, size: width, contentHash: source.contentHash, pixelHash: source.pixelHash,
            dhash: PerceptualHash.differenceHash(pixels, width: width, height: height), note: source.note)
    }

    /// The ingest.csv columns the grey-level steps read.
    static let greyLevelColumns = ["photometric_interpretation", "rescale_slope", "rescale_intercept", "window_center", "window_width"]

    /// Identifies what made a PNG: the settings, the source file (by size and modification time, as ingest knows
    /// it) and frame, the header values the grey-level steps read (as ingest.csv gives them), and medad's version.
    static func recipeID(settings: String, row: [String: String]) -> String {
        let source = ["size", "mtime_ns", "frame", "format"] + greyLevelColumns
        let text = ([medadVersion, settings] + source.map { row[$0] ?? "" }).joined(separator: "\n")
        return SHA256.hash(data: Data(text.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// The rows of the last run (and of the shard parts being joined), each with the folder holding its PNG, to
    /// reuse PNGs whose recipe is unchanged; the first folder that has an image wins; unreadable folders are passed.
    func previousRows(_ context: StageContext) -> [String: (folder: URL, row: NormalizeRow)] {
        var found: [String: (folder: URL, row: NormalizeRow)] = [:]
        for folder in context.reusableOutputDirectories {
            guard let rows = try? CSV.records(folder.appendingPathComponent("normalize.csv"), as: NormalizeRow.self) else { continue }
            for row in rows where found[row.imageID] == nil { found[row.imageID] = (folder, row) }
        }
        return found
    }

    func format(_ value: Double) -> String { String(format: "%.6g", value) }
}

/// normalize.csv: one row per PNG written (statistics of the grey levels before resizing, as text; recipe: what
/// made the PNG, for reuse).
public struct NormalizeRow: CSVRecord, Equatable {
    public static let columns = [
        "image_id", "file", "width", "height", "bit_depth", "steps", "min", "max", "mean", "std", "recipe", "content_hash",
        "pixel_hash", "dhash",
    ]
    public var imageID: String
    /// The PNG, relative to the stage folder (png/<safe name>.png).
    public var file: String
    public var width: Int
    public var height: Int
    public var bitDepth: Int
    /// The steps applied, ';'-separated.
    public var steps: String
    public var min: String, max: String, mean: String, std: String
    public var recipe: String
    /// XXH3 of the source file's bytes, taken by the read that decoded it (SourceFile).
    public var contentHash: String
    /// XXH3 of the decoded pixels and their geometry, not of the file (the same pixels in another transfer syntax
    /// or container hash alike), and the written image's difference hash (MedImage/PerceptualHash): the split
    /// stage's duplicate checks.
    public var pixelHash: String
    public var dhash: String

    public init(
        imageID: String, file: String, width: Int, height: Int, bitDepth: Int, steps: String, min: String, max: String, mean: String,
        std: String, recipe: String, contentHash: String, pixelHash: String, dhash: String
    ) {
        (self.imageID, self.file, self.width, self.height, self.bitDepth, self.steps) = (imageID, file, width, height, bitDepth, steps)
        (self.min, self.max, self.mean, self.std, self.recipe) = (min, max, mean, std, recipe)
        (self.contentHash, self.pixelHash, self.dhash) = (contentHash, pixelHash, dhash)
    }

    public var fields: [String] {
        [
            imageID, file, String(width), String(height), String(bitDepth), steps, min, max, mean, std, recipe, contentHash, pixelHash,
            dhash,
        ]
    }

    public init(_ row: CSV.Row) throws {
        self.init(
            imageID: row.text("image_id"), file: row.text("file"), width: try row.requiredInteger("width"),
            height: try row.requiredInteger("height"), bitDepth: try row.requiredInteger("bit_depth"), steps: row.text("steps"),
            min: row.text("min"), max: row.text("max"), mean: row.text("mean"), std: row.text("std"), recipe: row.text("recipe"),
            contentHash: row.text("content_hash"), pixelHash: row.text("pixel_hash"), dhash: row.text("dhash"))
    }
}
