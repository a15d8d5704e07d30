// export: the split's images in the folder layout the Med-AD research code reads (D2UE, DDAD-ASR, MedIAnomaly:
// `<root>/images/<name>` and `<root>/data.json`, DESIGN.md section 3), under <run>/<stage>/<Dataset>/, named as
// the published split files name them: for RSNA and VinDr-CXR the normalized PNG as `<DICOM file stem>.png`; for
// Brain Tumor MRI and LAG the original image file under its own name (their recipe copies those unchanged).
// Files are hard links where the filesystem allows (no second copy of a dataset), copies otherwise.
import Foundation
import MedAD
import Pipeline

public struct ExportStage: Stage {
    public static let kind = "export"
    public static let summary =
        "the split's images and data.json in the Med-AD research code's folder layout (<Dataset>/images/<name>, <Dataset>/data.json)"
    enum Images: String, CaseIterable, Sendable { case normalized, original }
    struct Settings {
        var dataset = MedADDataset.rsna
        var folder: String?
        var images: Images?
    }
    static let settings: [Setting<Settings>] = [
        .choice("dataset", \.dataset, "which dataset's layout: its folder name and which images it exports"),
        .optionalString(
            "folder", \.folder, "the dataset folder's name (default: RSNA, VinCXR, BrainTumor, LAG as the published layout names them)"),
        .optional(
            "images", \.images, .choice(Images.allCases.map(\.rawValue)),
            "normalized: the normalize stage's PNG as <source file stem>.png (default for rsna, vindr, generic); original: the ingested file under its own name (default for brain, lag)"
        ) { if case .string(let v) = $0 { Images(rawValue: v) } else { nil } },
    ]
    public static let parameters = settings.specs(defaults: Settings())

    /// The published layout's folder names.
    static let folders: [MedADDataset: String] = [.rsna: "RSNA", .vindr: "VinCXR", .brain: "BrainTumor", .lag: "LAG"]

    let folder: String
    let images: Images

    public init(parameters: Parameters) throws {
        let s = Self.settings.apply(parameters, to: Settings())
        guard let folder = s.folder ?? Self.folders[s.dataset] else {
            throw ParameterError(key: "folder", "the \(s.dataset.rawValue) dataset has no published folder name: give one")
        }
        guard SafeName.fileName(folder) == folder else {
            throw ParameterError(key: "folder", "'\(folder)' is not a plain folder name ([A-Za-z0-9._-], not starting with '.')")
        }
        self.folder = folder
        images = s.images ?? ([.brain, .lag].contains(s.dataset) ? .original : .normalized)
    }

    public func run(in context: StageContext) throws -> StageOutcome {
        let split = try CSV.records(
            try context.upstream(ofKind: SplitStage.kind).appendingPathComponent("split.csv"), as: SplitRow.self)
        let ingest = try CSV.read(
            try context.upstream(ofKind: IngestStage.kind).appendingPathComponent("ingest.csv"),
            requiring: ["image_id", "input_dir", "path"])
        // ingest.csv's path is relative to its input folder.
        let sources = Dictionary(
            ingest.rows.map { ($0["image_id"]!, URL(fileURLWithPath: $0["input_dir"]!).appendingPathComponent($0["path"]!).path) },
            uniquingKeysWith: { first, _ in first })
        let normalizeFolder = try context.upstream(ofKind: NormalizeStage.kind)
        let normalized = Dictionary(
            try CSV.records(normalizeFolder.appendingPathComponent("normalize.csv"), as: NormalizeRow.self).map { ($0.imageID, $0.file) },
            uniquingKeysWith: { first, _ in first })

        let root = context.outputDirectory.appendingPathComponent(folder)
        let imageFolder = root.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: imageFolder, withIntermediateDirectories: true)
        var rows: [[String]] = []
        var named: [(name: String, part: SplitPart, label: SplitLabel)] = []
        var owners: [String: String] = [:]
        var links = 0
        for (index, row) in split.enumerated() {
            context.progress(done: index, total: split.count)
            guard let path = sources[row.imageID] else {
                context.recordError(item: row.imageID, reason: "in split.csv but not in ingest.csv")
                continue
            }
            let source: URL, name: String
            switch images {
            case .normalized:
                guard let file = normalized[row.imageID] else {
                    context.recordError(item: row.imageID, reason: "in split.csv but not in normalize.csv")
                    continue
                }
                source = try SafeName.descendant(normalizeFolder, file)
                name = SafeName.fileName(URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent) + ".png"
            case .original:
                source = URL(fileURLWithPath: path)
                name = source.lastPathComponent
            }
            // Published names are file names: two images under one name (a multi-frame file's frames, equal file
            // names in two folders) cannot both be exported.
            if let owner = owners[name] {
                context.recordError(item: row.imageID, reason: "exported name '\(name)' is already \(owner)'s; not exported")
                continue
            }
            let target: URL
            do { target = try SafeName.child(imageFolder, name) } catch {
                context.recordError(item: row.imageID, reason: "'\(name)' cannot be a file name here (\(error))")
                continue
            }
            let hard: Bool
            do {
                try FileManager.default.linkItem(at: source, to: target)
                hard = true
            } catch {
                // Another filesystem (or one without hard links): a copy.
                do { try FileManager.default.copyItem(at: source, to: target) } catch {
                    context.recordError(item: row.imageID, reason: "cannot export \(source.path): \(error.localizedDescription)")
                    continue
                }
                hard = false
            }
            links += hard ? 1 : 0
            owners[name] = row.imageID
            guard let part = SplitPart(rawValue: row.part), let label = SplitLabel(rawValue: row.label) else {
                throw StageFailure("split.csv: image \(row.imageID) has part '\(row.part)' and label \(row.label)")
            }
            named.append((name, part, label))
            rows.append([row.imageID, name, row.part, String(row.label), images.rawValue, hard ? "hard" : "copy"])
        }
        try AtomicFile.write(try MedADSplitFile(names: named).encoded(), to: root.appendingPathComponent("data.json"))
        try context.writeCSV("export.csv", header: ["image_id", "name", "part", "label", "source", "link"], rows: rows)
        context.log(
            "\(rows.count) \(images.rawValue) images into \(folder)/images (\(links) hard links, \(rows.count - links) copies) and \(folder)/data.json"
        )
        return StageOutcome(rows: rows.count, items: split.count)
    }
}
