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
    public static let parameters: [ParameterSpec] = [
        ParameterSpec("seed", .int(0...Int(Int32.max)), default: .int(8), help: "seed; the same seed gives the same files"),
        ParameterSpec("size", .int(16...4096), default: .int(256), help: "image rows and columns"),
        ParameterSpec("normal", .int(0...1_000_000), default: .int(600), help: "images of class Normal"),
        ParameterSpec("lung_opacity", .int(0...1_000_000), default: .int(400), help: "images of class Lung Opacity (1–3 masses)"),
        ParameterSpec(
            "not_normal", .int(0...1_000_000), default: .int(100), help: "images of class No Lung Opacity / Not Normal (enlarged heart)"),
        ParameterSpec(
            "transfer_syntaxes", .strings(allowed: DICOMTransferSyntax.allCases.map(\.rawValue)),
            default: .strings(defaultSyntaxes.map(\.rawValue)),
            help: "transfer syntaxes to spread the files over, in turn"),
        ParameterSpec("monochrome1_fraction", .double(0...1), default: .double(0.3), help: "share of images stored MONOCHROME1 (inverted)"),
        ParameterSpec("jpeg_quality", .int(1...100), default: .int(92), help: "quality of JPEG baseline files"),
    ]

    /// Column order of synthesize.csv.
    public static let columns = [
        "image_id", "file", "class", "opacities", "transfer_syntax", "transfer_syntax_uid",
        "photometric_interpretation", "bits_stored", "pixel_representation",
        "rescale_slope", "rescale_intercept", "rows", "columns",
    ]
    /// Where the RSNA-format label file goes, relative to the stage folder.
    public static let labelFile = "labels/stage_2_detailed_class_info.csv"

    let dataset: SyntheticChestSet

    public init(parameters: Parameters) throws {
        let counts: [ChestFinding: Int] = [
            .normal: parameters.int("normal"), .lungOpacity: parameters.int("lung_opacity"), .notNormal: parameters.int("not_normal"),
        ]
        guard counts.values.reduce(0, +) > 0 else { throw ParameterError(key: "normal", "no images requested (all counts are 0)") }
        let syntaxes = parameters.strings("transfer_syntaxes").compactMap(DICOMTransferSyntax.init(rawValue:))
        guard !syntaxes.isEmpty else { throw ParameterError(key: "transfer_syntaxes", "empty list") }
        dataset = SyntheticChestSet(
            seed: UInt64(parameters.int("seed")), size: parameters.int("size"), counts: counts,
            syntaxes: syntaxes, monochrome1Fraction: parameters.double("monochrome1_fraction"),
            jpegQuality: parameters.int("jpeg_quality"))
    }

    public func run(in context: StageContext) throws -> StageOutcome {
        let folder = context.outputDirectory.appendingPathComponent("dicom")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let dataset = self.dataset
        let rows = context.forEachItem(Array(0..<dataset.count), id: { "image \($0)" }) { index -> (String, [String]) in
            let image = dataset.image(index)
            let file = "dicom/\(image.patientID).dcm"
            try DICOMWriter.write(
                image.request, to: context.outputDirectory.appendingPathComponent(file).path,
                syntax: image.encoding.syntax, jpegQuality: dataset.jpegQuality)
            let e = image.encoding
            return (
                image.patientID,
                [
                    image.sopInstanceUID, file, image.finding.rawValue, String(image.opacities), e.syntax.rawValue, e.syntax.uid,
                    e.photometric, String(e.bitsStored), String(e.pixelRepresentation),
                    String(e.rescaleSlope), String(e.rescaleIntercept), String(dataset.size), String(dataset.size),
                ]
            )
        }
        let written = rows.compactMap { $0 }
        try context.writeCSV("synthesize.csv", header: Self.columns, rows: written.map(\.1))
        try context.writeCSV(Self.labelFile, header: ["patientId", "class"], rows: written.map { [$0.0, $0.1[2]] })
        context.log(
            "\(written.count) DICOM files of \(dataset.size)×\(dataset.size) in \(folder.lastPathComponent)/, labels in \(Self.labelFile)")
        return StageOutcome(rows: written.count, items: dataset.count)
    }
}
