// synthesize: writes the embedded synthetic Med-AD dataset (chest phantoms as DICOM, RSNA label file).
import Foundation
import MedAD
import MedImage
import Pipeline

public struct SynthesizeStage: Stage {
    public static let kind = "synthesize"
    public static let summary = "chest-radiograph phantoms as DICOM over many transfer syntaxes, with an RSNA-format label CSV"
    /// Every syntax medad writes except deflated, which real archives rarely hold.
    public static let defaultSyntaxes = DICOMTransferSyntax.allCases.filter { $0 != .deflated }
    public struct Settings: Sendable {
        public var seed: UInt64 = 8
        public var size = 256
        public var normal = 600
        public var lungOpacity = 400
        public var notNormal = 100
        public var transferSyntaxes = defaultSyntaxes.map(\.rawValue)
        public var monochrome1Fraction = 0.3
        public var jpegQuality = 92
        public init() {}
    }
    static let settings: [Setting<Settings>] = [
        .seed("seed", \.seed, "seed; the same seed gives the same files"),
        .int("size", \.size, 16...4096, "image rows and columns"),
        .int("normal", \.normal, 0...1_000_000, "images of class Normal"),
        .int("lung_opacity", \.lungOpacity, 0...1_000_000, "images of class Lung Opacity (1–3 masses)"),
        .int("not_normal", \.notNormal, 0...1_000_000, "images of class No Lung Opacity / Not Normal (enlarged heart)"),
        .strings(
            "transfer_syntaxes", \.transferSyntaxes, allowed: DICOMTransferSyntax.allCases.map(\.rawValue),
            "transfer syntaxes to spread the files over, in turn"),
        .double("monochrome1_fraction", \.monochrome1Fraction, 0...1, "share of images stored MONOCHROME1 (inverted)"),
        .int("jpeg_quality", \.jpegQuality, 1...100, "quality of JPEG baseline files"),
    ]
    public static let parameters = settings.specs(defaults: Settings())

    /// Column order of synthesize.csv.
    public static let columns = [
        "image_id", "file", "class", "opacities", "transfer_syntax", "transfer_syntax_uid",
        "photometric_interpretation", "bits_stored", "pixel_representation",
        "rescale_slope", "rescale_intercept", "rows", "columns",
    ]
    /// Where the RSNA-format label file goes, relative to the stage folder.
    public static let labelFile = "labels/stage_2_detailed_class_info.csv"
    /// The opacities' boxes in RSNA's format (patientId,x,y,width,height,Target: one row per box, Target 1; one
    /// row with empty coordinates and Target 0 for an image without), and their masks (masks/<patientId>.png).
    public static let boxFile = "labels/stage_2_train_labels.csv"
    public static let maskFolder = "masks"

    let dataset: SyntheticChestSet

    public init(parameters: Parameters) throws {
        let s = Self.settings.apply(parameters, to: Settings())
        let counts: [ChestFinding: Int] = [.normal: s.normal, .lungOpacity: s.lungOpacity, .notNormal: s.notNormal]
        guard counts.values.reduce(0, +) > 0 else { throw ParameterError(key: "normal", "no images requested (all counts are 0)") }
        let syntaxes = s.transferSyntaxes.compactMap(DICOMTransferSyntax.init(rawValue:))
        guard !syntaxes.isEmpty else { throw ParameterError(key: "transfer_syntaxes", "empty list") }
        dataset = SyntheticChestSet(
            seed: s.seed, size: s.size, counts: counts, syntaxes: syntaxes, monochrome1Fraction: s.monochrome1Fraction,
            jpegQuality: s.jpegQuality)
    }

    public func run(in context: StageContext) throws -> StageOutcome {
        let folder = context.outputDirectory.appendingPathComponent("dicom")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let masks = context.outputDirectory.appendingPathComponent(Self.maskFolder)
        try FileManager.default.createDirectory(at: masks, withIntermediateDirectories: true)
        let dataset = self.dataset
        let rows = context.forEachItem(Array(0..<dataset.count), id: { "image \($0)" }) { index -> (String, [String], [[String]]) in
            let image = dataset.image(index)
            let file = "dicom/\(image.patientID).dcm"
            try DICOMWriter.write(
                image.request, to: context.outputDirectory.appendingPathComponent(file).path,
                syntax: image.encoding.syntax, jpegQuality: dataset.jpegQuality)
            if !image.boxes.isEmpty {
                try PNGCodec.writeGray(
                    path: masks.appendingPathComponent("\(image.patientID).png").path,
                    pixels: .uint8(image.lesionMask.map { $0 ? 255 : 0 }),
                    width: dataset.size, height: dataset.size)
            }
            let one = { (v: Int) in String(format: "%.1f", Double(v)) }
            let boxes =
                image.boxes.isEmpty
                ? [[image.patientID, "", "", "", "", "0"]]
                : image.boxes.map { [image.patientID, one($0.x), one($0.y), one($0.width), one($0.height), "1"] }
            let e = image.encoding
            return (
                image.patientID,
                [
                    image.sopInstanceUID, file, image.finding.rawValue, String(image.opacities), e.syntax.rawValue, e.syntax.uid,
                    e.photometric, String(e.bitsStored), String(e.pixelRepresentation),
                    String(e.rescaleSlope), String(e.rescaleIntercept), String(dataset.size), String(dataset.size),
                ],
                boxes
            )
        }
        let written = rows.compactMap { $0 }
        try context.writeCSV("synthesize.csv", header: Self.columns, rows: written.map(\.1))
        try context.writeCSV(Self.labelFile, header: ["patientId", "class"], rows: written.map { [$0.0, $0.1[2]] })
        try context.writeCSV(Self.boxFile, header: ["patientId", "x", "y", "width", "height", "Target"], rows: written.flatMap(\.2))
        context.log(
            "\(written.count) DICOM files of \(dataset.size)×\(dataset.size) in \(folder.lastPathComponent)/, labels in \(Self.labelFile), opacity boxes in \(Self.boxFile), their masks in \(Self.maskFolder)/"
        )
        return StageOutcome(rows: written.count, items: dataset.count)
    }
}
