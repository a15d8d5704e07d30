// split: the Med-AD train / unlabeled / test split from a dataset's own labels (or a published split file),
// seeded, grouped by patient, written as split.csv, summary.csv and the published data.json format.
import Foundation
import MedAD
import Pipeline

public struct SplitStage: Stage {
    public static let kind = "split"
    public static let summary =
        "the Med-AD train/unlabeled/test split from a dataset's labels or a published JSON split, grouped by patient"
    struct Settings {
        var mode = "build"
        var dataset = MedADDataset.rsna
        var labels: URL?
        var normalFolders: [String]?
        var abnormalFolders: [String]?
        var idColumn = "image_id"
        var labelColumn = "label"
        var normalValues: [String]?
        var abnormalValues: [String]?
        var preset: String?
        /// train_normal, unlabeled_normal, unlabeled_abnormal, test_normal, test_abnormal.
        var counts: [Int?] = Array(repeating: nil, count: 5)
        var seed: UInt64 = 8
        var groupByPatient = true
        var importFile: URL?
        var onLeak = "warn"
        var nearDuplicateBits = 12
    }
    static let countNames = ["train_normal", "unlabeled_normal", "unlabeled_abnormal", "test_normal", "test_abnormal"]
    static let settings: [Setting<Settings>] =
        [
            .choice("mode", \.mode, ["build", "import"], "build from labels, or import a published split file"),
            .choice("dataset", \.dataset, "which adapter reads the labels"),
            .path(
                "labels", \.labels,
                "label file: RSNA stage_2_detailed_class_info.csv, VinDr-CXR train.csv, or a generic CSV (default: an upstream synthesize stage's)"
            ),
            .optionalStrings("normal_folders", \.normalFolders, "folder names of normal images (brain: notumor; lag: non_glaucoma)"),
            .optionalStrings(
                "abnormal_folders", \.abnormalFolders,
                "folder names of abnormal images (brain: glioma, meningioma, pituitary; lag: suspicious_glaucoma)"),
            .string("id_column", \.idColumn, "generic: the id column (matched to file stems)"),
            .string("label_column", \.labelColumn, "generic: the label column"),
            .optionalStrings("normal_values", \.normalValues, "generic: label values meaning normal"),
            .optionalStrings("abnormal_values", \.abnormalValues, "generic: label values meaning abnormal (default: every other value)"),
            .optionalString(
                "preset", \.preset, "Med-AD counts (default: the dataset's own, unless counts are given)",
                type: .choice(["rsna", "vindr", "brain", "lag"])),
        ]
        + countNames.indices.map { i in
            .optionalInt(countNames[i], \Settings.counts[i], 0...10_000_000, "images in this part (overrides the preset)")
        } + [
            .seed("seed", \.seed, "the same seed and inputs give byte-identical outputs"),
            .bool(
                "group_by_patient", \.groupByPatient, "keep each patient's images out of one of train and test (by ingest's patient_key)"),
            .path("import_file", \.importFile, "import mode: the published JSON split"),
            .choice(
                "on_leak", \.onLeak, ["warn", "fail"],
                "what a leak (the same image, a near copy or one patient across parts; leaks.csv) does: warn, or fail the stage"),
            .int(
                "near_duplicate_bits", \.nearDuplicateBits, 0...256,
                "images in different parts whose difference hashes (256 bits) differ in at most this many bits are near duplicates"),
        ]
    public static let parameters = settings.specs(defaults: Settings())

    let settings: Settings
    var dataset: MedADDataset { settings.dataset }
    let counts: SplitCounts?

    public init(parameters: Parameters) throws {
        settings = Self.settings.apply(parameters, to: Settings())
        let dataset = settings.dataset
        let importing = settings.mode == "import"
        if importing && settings.importFile == nil { throw ParameterError(key: "import_file", "import mode needs import_file") }
        if dataset == .generic && !importing && settings.normalValues == nil {
            throw ParameterError(key: "normal_values", "the generic adapter needs the label values that mean normal")
        }
        if [.vindr, .generic].contains(dataset) && !importing && settings.labels == nil {
            throw ParameterError(key: "labels", "the \(dataset.rawValue) adapter needs a label file")
        }
        let preset =
            settings.preset.flatMap(MedADDataset.init(rawValue:)).flatMap { SplitCounts.presets[$0] } ?? SplitCounts.presets[dataset]
        let given = settings.counts
        if importing {
            counts = nil
        } else if let preset {
            let p = [preset.trainNormal, preset.unlabeledNormal, preset.unlabeledAbnormal, preset.testNormal, preset.testAbnormal]
            let c = zip(given, p).map { $0 ?? $1 }
            counts = SplitCounts(c[0], c[1], c[2], c[3], c[4])
        } else {
            guard given.allSatisfy({ $0 != nil }) else {
                throw ParameterError(
                    key: "train_normal", "no preset for \(dataset.rawValue): give all of \(Self.countNames.joined(separator: ", "))")
            }
            counts = SplitCounts(given[0]!, given[1]!, given[2]!, given[3]!, given[4]!)
        }
    }

    public func inputFiles() throws -> [URL] {
        [settings.labels, settings.importFile].compactMap { $0 }
    }

    /// An ingested, normalized image.
    struct Image {
        let id: String
        let path: String
        let patientKey: String
        var stem: String { URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent }
        /// The PNG's name under normalize/png/ (an id's safe file name).
        var png: String { SafeName.fileName(id) + ".png" }
    }

    public func run(in context: StageContext) throws -> StageOutcome {
        let images = try loadImages(context)
        let rows: [SplitRow]
        let file: MedADSplitFile
        if settings.mode == "import" {
            (rows, file) = try importSplit(images, context: context)
        } else {
            (rows, file) = try buildSplit(images, context: context)
        }
        try checkLeaks(rows, context: context)
        try context.writeCSV("split.csv", records: rows)
        var summary: [[String]] = []
        for part in SplitPart.allCases {
            for label in [SplitLabel.normal, .abnormal] where !(part == .train && label == .abnormal) {
                summary.append([
                    part.rawValue, String(label.rawValue),
                    String(rows.filter { $0.part == part.rawValue && $0.label == label.rawValue }.count),
                ])
            }
        }
        try context.writeCSV("summary.csv", header: ["part", "label", "count"], rows: summary)
        try AtomicFile.write(try file.encoded(), to: context.outputDirectory.appendingPathComponent("data.json"))
        context.log("parts: " + summary.map { "\($0[0]) \($0[1]): \($0[2])" }.joined(separator: ", "))
        return StageOutcome(rows: rows.count, items: images.count)
    }

    /// leaks.csv and its summary in the log; with on_leak: fail, any leak fails the stage (its list in the log).
    func checkLeaks(_ rows: [SplitRow], context: StageContext) throws {
        let hashes = Dictionary(
            try CSV.records(
                try context.upstream(ofKind: NormalizeStage.kind).appendingPathComponent("normalize.csv"), as: NormalizeRow.self
            ).map { ($0.imageID, $0) }, uniquingKeysWith: { first, _ in first })
        let items = rows.map { row in
            LeakCheck.Item(
                imageID: row.imageID, part: row.part, patientKey: row.patientKey, pixelHash: hashes[row.imageID]?.pixelHash ?? "",
                dhash: hashes[row.imageID]?.dhash ?? "")
        }
        let leaks = LeakCheck.find(items, nearBits: settings.nearDuplicateBits)
        let counts = Dictionary(grouping: leaks, by: { $0[0] }).mapValues(\.count)
        let summary = ["duplicate", "near_duplicate", "patient"].map { "\(counts[$0] ?? 0) \($0.replacingOccurrences(of: "_", with: " "))" }
        guard !leaks.isEmpty else {
            try context.writeCSV("leaks.csv", header: LeakCheck.columns, rows: [])
            context.log("leak check: no image, near copy or patient in two parts (near: within \(settings.nearDuplicateBits) bits)")
            return
        }
        let examples = leaks.prefix(5).map { "\($0[0]) \($0[1]) (\($0[2])) ~ \($0[3]) (\($0[4]))" }.joined(separator: "; ")
        let message = "leak check: \(leaks.count) pairs across parts (\(summary.joined(separator: ", "))), e.g. \(examples)"
        if settings.onLeak == "fail" { throw StageFailure(message + "; on_leak: fail") }
        context.warn(message + "; all in leaks.csv")
        try context.writeCSV("leaks.csv", header: LeakCheck.columns, rows: leaks)
    }

    /// ingest.csv joined with normalize.csv: only images that have a PNG can be split.
    func loadImages(_ context: StageContext) throws -> [Image] {
        let ingest = try CSV.read(
            try context.upstream(ofKind: IngestStage.kind).appendingPathComponent("ingest.csv"),
            requiring: ["image_id", "path", "patient_key"]
        ).rows
        let normalized = Set(
            try CSV.records(
                try context.upstream(ofKind: NormalizeStage.kind).appendingPathComponent("normalize.csv"), as: NormalizeRow.self
            )
            .map(\.imageID))
        return ingest.filter { normalized.contains($0["image_id"] ?? "") }
            .map { Image(id: $0["image_id"]!, path: $0["path"] ?? "", patientKey: $0["patient_key"] ?? "") }
            .sorted { $0.id < $1.id }
    }

    /// The dataset's labels, keyed as its adapter keys them, and the key of each image.
    func labels(_ images: [Image], context: StageContext) throws -> (labels: [String: SourceLabel], key: (Image) -> String) {
        func table() throws -> [[String: String]] {
            if let labels = settings.labels { return try CSV.read(labels).rows }
            guard context.upstreamKinds.values.contains(SynthesizeStage.kind) else {
                throw StageFailure("split needs 'labels' (the dataset's label file) or an upstream synthesize stage in its 'after'")
            }
            return try CSV.read(try context.upstream(ofKind: SynthesizeStage.kind).appendingPathComponent(SynthesizeStage.labelFile)).rows
        }
        do {
            switch dataset {
            case .rsna: return (try DatasetAdapter.rsna(table()), \.stem)
            case .vindr: return (try DatasetAdapter.vindr(table()), \.stem)
            case .generic:
                return (
                    try DatasetAdapter.generic(
                        table(), idColumn: settings.idColumn, labelColumn: settings.labelColumn,
                        normalValues: Set(settings.normalValues ?? []), abnormalValues: settings.abnormalValues.map(Set.init)), \.stem
                )
            case .brain, .lag:
                let normal = settings.normalFolders ?? (dataset == .brain ? ["notumor"] : ["non_glaucoma"])
                let abnormal =
                    settings.abnormalFolders ?? (dataset == .brain ? ["glioma", "meningioma", "pituitary"] : ["suspicious_glaucoma"])
                return (DatasetAdapter.folders(images.map(\.path), normal: Set(normal), abnormal: Set(abnormal)), \.path)
            }
        } catch let error as SplitError {
            throw StageFailure(error.description)
        }
    }

    func grouping(_ image: Image) -> (group: String, kind: String) {
        guard settings.groupByPatient else { return ("image:\(image.id)", "image") }
        return image.patientKey.isEmpty ? ("image:\(image.id)", "image (no patient key)") : ("patient:\(image.patientKey)", "patient")
    }

    func buildSplit(_ images: [Image], context: StageContext) throws -> ([SplitRow], MedADSplitFile) {
        let (labels, key) = try labels(images, context: context)
        // Two images under one label key would share a label silently: refuse.
        let byKey = Dictionary(grouping: images, by: key)
        if let (duplicate, clash) = byKey.first(where: { $0.value.count > 1 }) {
            throw StageFailure(
                "duplicate ids: '\(duplicate)' names \(clash.count) ingested images (\(clash.map(\.path).prefix(3).joined(separator: ", ")))"
            )
        }
        var candidates: [SplitCandidate] = []
        var sources: [String: String] = [:]
        var leftOut = 0
        for image in images {
            guard let verdict = labels[key(image)] else {
                context.recordError(item: image.id, reason: "ingested image without a label (\(image.path))")
                continue
            }
            sources[image.id] = verdict.text
            guard let label = verdict.label else { leftOut += 1; continue }
            candidates.append(SplitCandidate(imageID: image.id, group: grouping(image).group, label: label))
        }
        let ingestedKeys = Set(byKey.keys)
        let orphans = labels.keys.filter { !ingestedKeys.contains($0) }.sorted()
        for orphan in orphans { context.recordError(item: orphan, reason: "label for an image that was not ingested or not normalized") }
        let assignment: [String: (SplitPart, SplitLabel)]
        do { assignment = try MedADProtocol.assign(candidates, counts: counts!, seed: settings.seed) } catch let error
            as SplitError
        {
            throw StageFailure(error.description)
        }
        context.log(
            "\(candidates.count) labeled images (\(leftOut) of a left-out class, \(orphans.count) labels without an image, \(images.count - candidates.count - leftOut) images without a label); counts \(counts!)"
        )
        let chosen = images.filter { assignment[$0.id] != nil }
        let rows = chosen.map { image -> SplitRow in
            let (part, label) = assignment[image.id]!
            return SplitRow(
                imageID: image.id, part: part.rawValue, label: label.rawValue, patientKey: image.patientKey,
                sourceLabel: sources[image.id] ?? "", grouping: grouping(image).kind)
        }
        let file = MedADSplitFile(names: chosen.map { ($0.png, assignment[$0.id]!.0, assignment[$0.id]!.1) })
        return (rows, file)
    }

    /// A published split: names map to images by PNG name, file name or file stem; unknown names are errors rows.
    func importSplit(_ images: [Image], context: StageContext) throws -> ([SplitRow], MedADSplitFile) {
        let file: MedADSplitFile
        let importFile = settings.importFile!
        do { file = try MedADSplitFile.decode(try Data(contentsOf: importFile)) } catch let error as SplitError {
            throw StageFailure("\(importFile.path): \(error.description)")
        }
        // Each way of naming an image, in order of precedence; a name two images answer to at one level (two
        // folders holding one file name, a multi-frame file's frames) is ambiguous and matches neither.
        let namings: [(Image) -> String] = [\.png, \.id, { URL(fileURLWithPath: $0.path).lastPathComponent }, \.stem]
        let lookups = namings.map { naming in Dictionary(grouping: images, by: naming) }
        func find(_ name: String) -> (image: Image?, clash: [Image]) {
            for lookup in lookups {
                guard let found = lookup[name] else { continue }
                return found.count == 1 ? (found[0], []) : (nil, found)
            }
            return (nil, [])
        }
        let labels = (try? labels(images, context: context))
        var rows: [SplitRow] = []
        var named: [(String, SplitPart, SplitLabel)] = []
        var missing = 0
        for entry in file.entries {
            let stem = URL(fileURLWithPath: entry.name).deletingPathExtension().lastPathComponent
            let byName = find(entry.name), byStem = byName.image == nil && byName.clash.isEmpty ? find(stem) : byName
            guard let image = byStem.image else {
                let reason =
                    byStem.clash.isEmpty
                    ? "named in the imported split but not ingested or not normalized"
                    : "matches \(byStem.clash.count) ingested images (\(byStem.clash.prefix(3).map(\.path).joined(separator: ", "))); none taken"
                context.recordError(item: entry.name, reason: reason)
                missing += 1
                continue
            }
            let source = labels.flatMap { l in l.labels[l.key(image)]?.text } ?? ""
            rows.append(
                SplitRow(
                    imageID: image.id, part: entry.part.rawValue, label: entry.label.rawValue, patientKey: image.patientKey,
                    sourceLabel: source, grouping: "imported"))
            named.append((entry.name, entry.part, entry.label))
        }
        if missing > 0 { context.warn("\(missing) names in the imported split match no ingested image or several (listed in errors.csv)") }
        let ids = rows.map(\.imageID)
        if Set(ids).count != ids.count { throw StageFailure("the imported split names one image more than once (under different names)") }
        return (rows.sorted { $0.imageID < $1.imageID }, MedADSplitFile(names: named))
    }
}

/// split.csv: one row per image placed in a part (label 1 = abnormal).
public struct SplitRow: CSVRecord, Equatable {
    public static let columns = ["image_id", "part", "label", "patient_key", "source_label", "grouping"]
    public var imageID: String
    /// train, unlabeled or test.
    public var part: String
    public var label: Int
    public var patientKey: String
    /// The dataset's own label text.
    public var sourceLabel: String
    /// What kept images together: patient, image, image (no patient key), or imported.
    public var grouping: String

    public init(imageID: String, part: String, label: Int, patientKey: String, sourceLabel: String, grouping: String) {
        (self.imageID, self.part, self.label, self.patientKey, self.sourceLabel, self.grouping) =
            (imageID, part, label, patientKey, sourceLabel, grouping)
    }

    public var fields: [String] { [imageID, part, String(label), patientKey, sourceLabel, grouping] }

    public init(_ row: CSV.Row) throws {
        let label = try row.requiredInteger("label")
        guard label == 0 || label == 1 else { throw CSVError("\(row.file): line \(row.line): column 'label' must be 0 or 1") }
        self.init(
            imageID: row.text("image_id"), part: row.text("part"), label: label, patientKey: row.text("patient_key"),
            sourceLabel: row.text("source_label"), grouping: row.text("grouping"))
    }
}
