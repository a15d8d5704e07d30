// The Med-AD benchmark protocol: dataset adapters that read each dataset's own labels, the seeded and
// patient-grouped assignment of images to train (normal only), unlabeled and test parts, and the published
// JSON split format.
import Foundation
import MedNN

public enum SplitLabel: Int, Sendable, Comparable {
    case normal = 0
    case abnormal = 1
    public static func < (a: SplitLabel, b: SplitLabel) -> Bool { a.rawValue < b.rawValue }
}

public enum SplitPart: String, CaseIterable, Sendable {
    case train, unlabeled, test
}

/// A dataset's verdict on one image: its label (nil when the protocol leaves the class out) and the
/// dataset's own words for it.
public struct SourceLabel: Equatable, Sendable {
    public var label: SplitLabel?
    public var text: String
    public init(_ label: SplitLabel?, _ text: String) {
        self.label = label
        self.text = text
    }
}

public struct SplitError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public enum MedADDataset: String, CaseIterable, Sendable {
    case rsna, vindr, brain, lag, generic
}

/// Images per part: train normal | unlabeled normal, abnormal | test normal, abnormal.
public struct SplitCounts: Equatable, Sendable, CustomStringConvertible {
    public var trainNormal, unlabeledNormal, unlabeledAbnormal, testNormal, testAbnormal: Int

    public init(_ trainNormal: Int, _ unlabeledNormal: Int, _ unlabeledAbnormal: Int, _ testNormal: Int, _ testAbnormal: Int) {
        self.trainNormal = trainNormal
        self.unlabeledNormal = unlabeledNormal
        self.unlabeledAbnormal = unlabeledAbnormal
        self.testNormal = testNormal
        self.testAbnormal = testAbnormal
    }

    /// The counts of the Med-AD benchmark (DESIGN.md section 3).
    public static let presets: [MedADDataset: SplitCounts] = [
        .rsna: SplitCounts(3851, 4000, 5012, 1000, 1000),
        .vindr: SplitCounts(4000, 5606, 3394, 1000, 1000),
        .brain: SplitCounts(1000, 400, 600, 600, 600),
        .lag: SplitCounts(1500, 832, 900, 811, 811),
    ]

    public var normal: Int { trainNormal + unlabeledNormal + testNormal }
    public var abnormal: Int { unlabeledAbnormal + testAbnormal }
    public var description: String {
        "\(trainNormal) | \(unlabeledNormal), \(unlabeledAbnormal) | \(testNormal), \(testAbnormal)"
    }
}

// MARK: - Adapters

public enum DatasetAdapter {
    /// RSNA Pneumonia `stage_2_detailed_class_info.csv` (`patientId,class`), keyed by patientId (the file stem).
    /// Normal = "Normal", abnormal = "Lung Opacity", "No Lung Opacity / Not Normal" left out. Repeated rows
    /// for a patient are normal in this file; different classes for one patient are an error.
    public static func rsna(_ rows: [[String: String]]) throws -> [String: SourceLabel] {
        try keyed(rows, id: "patientId", label: "class", file: "stage_2_detailed_class_info.csv") { text in
            switch text {
            case "Normal": return .normal
            case "Lung Opacity": return .abnormal
            case "No Lung Opacity / Not Normal": return nil
            default: throw SplitError("unknown RSNA class '\(text)' (expected Normal, Lung Opacity, No Lung Opacity / Not Normal)")
            }
        }
    }

    /// VinDr-CXR `train.csv` (`image_id,class_name,…`, one row per finding per radiologist), keyed by image_id.
    /// Normal = every row says "No finding"; abnormal = any other finding.
    public static func vindr(_ rows: [[String: String]]) throws -> [String: SourceLabel] {
        var findings: [String: Set<String>] = [:]
        for (index, row) in rows.enumerated() {
            guard let id = row["image_id"], !id.isEmpty, let name = row["class_name"], !name.isEmpty else {
                throw SplitError("train.csv row \(index + 2): needs image_id and class_name")
            }
            findings[id, default: []].insert(name)
        }
        return findings.mapValues { names in
            names == ["No finding"]
                ? SourceLabel(.normal, "No finding")
                : SourceLabel(.abnormal, names.subtracting(["No finding"]).sorted().joined(separator: ";"))
        }
    }

    /// Folder layouts (Brain Tumor MRI `Training|Testing/<class>/<file>`, LAG `<class folder>/…`), keyed by the
    /// relative path: the nearest parent folder named in `normal` or `abnormal` gives the label.
    public static func folders(_ paths: [String], normal: Set<String>, abnormal: Set<String>) -> [String: SourceLabel] {
        var labels: [String: SourceLabel] = [:]
        for path in paths {
            let folders = path.split(separator: "/").dropLast().map(String.init)
            guard let folder = folders.last(where: { normal.contains($0) || abnormal.contains($0) }) else { continue }
            labels[path] = SourceLabel(normal.contains(folder) ? .normal : .abnormal, folder)
        }
        return labels
    }

    /// Any CSV with an id column and a label column; `normalValues` are normal, `abnormalValues` (or, when nil,
    /// every other value) abnormal, anything else left out. An id given twice is an error.
    public static func generic(
        _ rows: [[String: String]], idColumn: String, labelColumn: String,
        normalValues: Set<String>, abnormalValues: Set<String>?
    ) throws -> [String: SourceLabel] {
        var seen = Set<String>()
        for row in rows {
            if let id = row[idColumn], !seen.insert(id).inserted { throw SplitError("duplicate id '\(id)' in the label file") }
        }
        return try keyed(rows, id: idColumn, label: labelColumn, file: "the label file") { text in
            if normalValues.contains(text) { return .normal }
            if let abnormalValues { return abnormalValues.contains(text) ? .abnormal : nil }
            return .abnormal
        }
    }

    static func keyed(
        _ rows: [[String: String]], id: String, label: String, file: String,
        classify: (String) throws -> SplitLabel?
    ) throws -> [String: SourceLabel] {
        var labels: [String: SourceLabel] = [:]
        var conflicts: [String] = []
        for (index, row) in rows.enumerated() {
            guard let key = row[id], !key.isEmpty, let text = row[label] else {
                throw SplitError("\(file) row \(index + 2): needs columns \(id) and \(label)")
            }
            let verdict = SourceLabel(try classify(text), text)
            if let earlier = labels[key], earlier != verdict {
                conflicts.append("\(key) (\(earlier.text) / \(text))")
                continue
            }
            labels[key] = verdict
        }
        guard conflicts.isEmpty else {
            throw SplitError("conflicting labels for \(conflicts.count) image(s): \(conflicts.prefix(5).joined(separator: ", "))")
        }
        return labels
    }
}

// MARK: - Assignment

/// One labeled image that may enter the split, with the group (patient) it must stay with.
public struct SplitCandidate: Sendable {
    public var imageID: String
    public var group: String
    public var label: SplitLabel
    public init(imageID: String, group: String, label: SplitLabel) {
        self.imageID = imageID
        self.group = group
        self.label = label
    }
}

public enum MedADProtocol {
    /// Assigns images to parts: the test part first, whole groups at a time (a group chosen for test gives
    /// nothing to train or unlabeled), then train normal and unlabeled from the other groups. Deterministic
    /// in (candidates, counts, seed) whatever their input order, and independent of the group keys themselves:
    /// groups are ordered by their first image id before the seeded shuffle, so patient keys made with another
    /// secret (ingest generates one per run directory) give the same split.
    public static func assign(_ candidates: [SplitCandidate], counts: SplitCounts, seed: UInt64) throws -> [String: (SplitPart, SplitLabel)]
    {
        let normal = candidates.filter { $0.label == .normal }.count, abnormal = candidates.count - normal
        guard normal > 0 else { throw SplitError("no normal images: the class is empty") }
        guard abnormal > 0 else { throw SplitError("no abnormal images: the class is empty") }
        guard normal >= counts.normal, abnormal >= counts.abnormal else {
            throw SplitError(
                "the counts ask for \(counts.normal) normal and \(counts.abnormal) abnormal images (\(counts)); \(normal) normal and \(abnormal) abnormal exist"
            )
        }
        var byGroup: [String: [SplitCandidate]] = [:]
        for candidate in candidates { byGroup[candidate.group, default: []].append(candidate) }
        let firstImage = byGroup.mapValues { $0.map(\.imageID).min()! }
        var groups = byGroup.keys.sorted { firstImage[$0]! < firstImage[$1]! }
        var generator = SeededGenerator(seed: seed)
        generator.shuffle(&groups)
        let ordered = groups.map { byGroup[$0]!.sorted { $0.imageID < $1.imageID } }

        var result: [String: (SplitPart, SplitLabel)] = [:]
        var needTest: [SplitLabel: Int] = [.normal: counts.testNormal, .abnormal: counts.testAbnormal]
        var testGroups = Set<Int>()
        for (index, images) in ordered.enumerated() where needTest.values.contains(where: { $0 > 0 }) {
            guard images.contains(where: { needTest[$0.label]! > 0 }) else { continue }
            testGroups.insert(index)
            for image in images where needTest[image.label]! > 0 {
                result[image.imageID] = (.test, image.label)
                needTest[image.label]! -= 1
            }
        }
        // The rest, in the same shuffled order: train normal first, then unlabeled.
        let rest = ordered.enumerated().filter { !testGroups.contains($0.offset) }.flatMap(\.element)
        var need: [(SplitPart, SplitLabel, Int)] = [
            (.train, .normal, counts.trainNormal), (.unlabeled, .normal, counts.unlabeledNormal),
            (.unlabeled, .abnormal, counts.unlabeledAbnormal),
        ]
        for image in rest {
            guard let slot = need.firstIndex(where: { $0.1 == image.label && $0.2 > 0 }) else { continue }
            result[image.imageID] = (need[slot].0, image.label)
            need[slot].2 -= 1
        }
        let short = need.filter { $0.2 > 0 } + needTest.filter { $0.value > 0 }.map { (SplitPart.test, $0.key, $0.value) }
        guard short.isEmpty else {
            let what = short.map { "\($0.2) \($0.1 == .normal ? "normal" : "abnormal") for \($0.0.rawValue)" }.joined(separator: ", ")
            throw SplitError(
                "after keeping each patient's images in one part, \(what) are missing; lower the counts or set group_by_patient: false")
        }
        return result
    }
}

// MARK: - The published JSON format

/// `{"train": {"0": […], "unlabeled": {"0": […], "1": […]}}, "test": {"0": […], "1": […]}}`: file names.
public struct MedADSplitFile: Codable, Equatable, Sendable {
    public struct Labeled: Codable, Equatable, Sendable {
        public var normal: [String]
        public var abnormal: [String]
        enum CodingKeys: String, CodingKey { case normal = "0", abnormal = "1" }
    }
    public struct Train: Codable, Equatable, Sendable {
        public var normal: [String]
        public var unlabeled: Labeled
        enum CodingKeys: String, CodingKey { case normal = "0", unlabeled }
    }
    public var train: Train
    public var test: Labeled

    public init(names: [(name: String, part: SplitPart, label: SplitLabel)]) {
        func list(_ part: SplitPart, _ label: SplitLabel) -> [String] {
            names.filter { $0.part == part && $0.label == label }.map(\.name).sorted()
        }
        train = Train(
            normal: list(.train, .normal), unlabeled: Labeled(normal: list(.unlabeled, .normal), abnormal: list(.unlabeled, .abnormal)))
        test = Labeled(normal: list(.test, .normal), abnormal: list(.test, .abnormal))
    }

    /// Every entry with its part and label, in file order.
    public var entries: [(name: String, part: SplitPart, label: SplitLabel)] {
        train.normal.map { ($0, .train, .normal) } + train.unlabeled.normal.map { ($0, .unlabeled, .normal) }
            + train.unlabeled.abnormal.map { ($0, .unlabeled, .abnormal) } + test.normal.map { ($0, .test, .normal) }
            + test.abnormal.map { ($0, .test, .abnormal) }
    }

    /// Compact JSON with sorted keys: the same split gives the same bytes.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// Reads a split file, refusing names with path separators or `..` and names listed twice.
    public static func decode(_ data: Data) throws -> MedADSplitFile {
        let file: MedADSplitFile
        do { file = try JSONDecoder().decode(MedADSplitFile.self, from: data) } catch {
            throw SplitError(
                "not a Med-AD split file ({\"train\": {\"0\": [...], \"unlabeled\": {\"0\": [...], \"1\": [...]}}, \"test\": {\"0\": [...], \"1\": [...]}}): \(error)"
            )
        }
        var seen = Set<String>()
        for entry in file.entries {
            if entry.name.contains("/") || entry.name.contains("\\") || entry.name.contains("..") || entry.name.isEmpty {
                throw SplitError("file name '\(entry.name)' in the split has a path separator or '..'; only plain file names are accepted")
            }
            if !seen.insert(entry.name).inserted { throw SplitError("file name '\(entry.name)' appears twice in the split") }
        }
        return file
    }
}
