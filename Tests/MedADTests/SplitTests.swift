// The Med-AD split: each adapter on label files in their real formats (data/samples/), the presets, the
// seeded patient-grouped assignment, and the published JSON format.
import Foundation
import MedAD
import MedNN
import Pipeline
import XCTest

final class SplitTests: XCTestCase {
    let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("data/samples")

    func rows(_ relative: String) throws -> [[String: String]] { try CSV.read(samples.appendingPathComponent(relative)).rows }

    func testRSNAAdapter() throws {
        let labels = try DatasetAdapter.rsna(rows("rsna/stage_2_detailed_class_info.csv"))
        XCTAssertEqual(labels.count, 7, "ten rows, seven patients (repeated rows are normal in this file)")
        XCTAssertEqual(labels["00313ee0-9eaa-42f4-b0ab-c148ed3241cd"], SourceLabel(.abnormal, "Lung Opacity"))
        XCTAssertEqual(labels["00322d4d-1c29-4943-afc9-b6754be640eb"], SourceLabel(.normal, "Normal"))
        XCTAssertEqual(labels["0004cfab-14fd-4494-b7da-9a4e8e3c7d45"], SourceLabel(nil, "No Lung Opacity / Not Normal"))
        XCTAssertEqual(labels.values.filter { $0.label == .normal }.count, 3)
        XCTAssertEqual(labels.values.filter { $0.label == .abnormal }.count, 2)
        XCTAssertThrowsError(
            try DatasetAdapter.rsna([["patientId": "p", "class": "Normal"], ["patientId": "p", "class": "Lung Opacity"]])
        ) {
            XCTAssertTrue("\($0)".contains("conflicting labels for 1 image(s): p (Normal / Lung Opacity)"), "\($0)")
        }
        XCTAssertThrowsError(try DatasetAdapter.rsna([["patientId": "p", "class": "Pneumonia"]])) {
            XCTAssertTrue("\($0)".contains("unknown RSNA class"))
        }
    }

    func testVinDrAdapterNeedsEveryReadingToSayNoFinding() throws {
        let labels = try DatasetAdapter.vindr(rows("vindr/train.csv"))
        XCTAssertEqual(labels["50a418190bc3fb1ef1633bf9678929b3"], SourceLabel(.normal, "No finding"))
        XCTAssertEqual(labels["051132a778e61a86eb147c7c6f564dfe"]?.label, .normal)
        XCTAssertEqual(
            labels["21a10246a5ec7af151081d0cd6d65dc9"], SourceLabel(.abnormal, "Aortic enlargement"), "one radiologist's finding is enough")
        XCTAssertEqual(labels["9a5094b2563a1ef3ff50dc5c7ff71345"], SourceLabel(.abnormal, "Cardiomegaly;Pleural thickening"))
    }

    func testFolderAndGenericAdapters() throws {
        let paths = [
            "Training/notumor/Tr-no_0001.jpg", "Testing/glioma/Te-gl_0001.jpg", "Training/pituitary/x.jpg", "other/readme.jpg",
            "non_glaucoma/image/a.jpg", "suspicious_glaucoma/image/b.jpg",
        ]
        let brain = DatasetAdapter.folders(paths, normal: ["notumor"], abnormal: ["glioma", "meningioma", "pituitary"])
        XCTAssertEqual(brain["Training/notumor/Tr-no_0001.jpg"], SourceLabel(.normal, "notumor"))
        XCTAssertEqual(brain["Testing/glioma/Te-gl_0001.jpg"], SourceLabel(.abnormal, "glioma"))
        XCTAssertNil(brain["other/readme.jpg"])
        let lag = DatasetAdapter.folders(paths, normal: ["non_glaucoma"], abnormal: ["suspicious_glaucoma"])
        XCTAssertEqual(lag["non_glaucoma/image/a.jpg"]?.label, .normal, "the nearest named folder, not the immediate parent")
        XCTAssertEqual(lag["suspicious_glaucoma/image/b.jpg"]?.label, .abnormal)
        XCTAssertEqual(lag.count, 2)

        let generic = try DatasetAdapter.generic(
            rows("generic/labels.csv"), idColumn: "image_id", labelColumn: "label",
            normalValues: ["healthy"], abnormalValues: ["tumour"])
        XCTAssertEqual(
            generic.mapValues { $0.label },
            [
                "case001": .normal, "case002": .abnormal, "case003": .normal,
                "case004": SplitLabel?.none, "case005": .abnormal,
            ])
        let everyOther = try DatasetAdapter.generic(
            rows("generic/labels.csv"), idColumn: "image_id", labelColumn: "label",
            normalValues: ["healthy"], abnormalValues: nil)
        XCTAssertEqual(everyOther["case004"]?.label, .abnormal)
        XCTAssertThrowsError(
            try DatasetAdapter.generic(
                [["id": "a", "y": "0"], ["id": "a", "y": "0"]], idColumn: "id", labelColumn: "y",
                normalValues: ["0"], abnormalValues: nil)
        ) { XCTAssertTrue("\($0)".contains("duplicate id 'a'")) }
    }

    func testPresetsAreTheMedADCounts() {
        XCTAssertEqual(SplitCounts.presets[.rsna], SplitCounts(3851, 4000, 5012, 1000, 1000))
        XCTAssertEqual(SplitCounts.presets[.vindr], SplitCounts(4000, 5606, 3394, 1000, 1000))
        XCTAssertEqual(SplitCounts.presets[.brain], SplitCounts(1000, 400, 600, 600, 600))
        XCTAssertEqual(SplitCounts.presets[.lag], SplitCounts(1500, 832, 900, 811, 811))
        XCTAssertEqual(SplitCounts.presets[.rsna]?.normal, 8851)
        XCTAssertEqual(SplitCounts.presets[.rsna]?.abnormal, 6012)
    }

    /// 60 patients with 1–4 images each, mixed labels within some patients.
    func candidates() -> [SplitCandidate] {
        var generator = SeededGenerator(seed: 1)
        var list: [SplitCandidate] = []
        for patient in 0..<60 {
            for image in 0..<(1 + Int(generator.next() % 4)) {
                let label: SplitLabel = (patient + image) % 3 == 0 ? .abnormal : .normal
                list.append(SplitCandidate(imageID: "p\(patient)-i\(image)", group: "patient\(patient)", label: label))
            }
        }
        return list
    }

    func testAssignmentIsExactDeterministicAndKeepsPatientsOutOfBothTrainAndTest() throws {
        let all = candidates()
        let counts = SplitCounts(30, 10, 10, 15, 15)
        let result = try MedADProtocol.assign(all, counts: counts, seed: 8)
        func count(_ part: SplitPart, _ label: SplitLabel) -> Int { result.values.filter { $0.0 == part && $0.1 == label }.count }
        XCTAssertEqual(
            [
                count(.train, .normal), count(.unlabeled, .normal), count(.unlabeled, .abnormal), count(.test, .normal),
                count(.test, .abnormal),
            ],
            [30, 10, 10, 15, 15])
        XCTAssertEqual(count(.train, .abnormal), 0)
        let group = Dictionary(uniqueKeysWithValues: all.map { ($0.imageID, $0.group) })
        let testPatients = Set(result.filter { $0.value.0 == .test }.map { group[$0.key]! })
        let otherPatients = Set(result.filter { $0.value.0 != .test }.map { group[$0.key]! })
        XCTAssertTrue(testPatients.isDisjoint(with: otherPatients), "a patient in test and in train or unlabeled")

        var shuffled = all
        shuffled.reverse()
        let again = try MedADProtocol.assign(shuffled, counts: counts, seed: 8)
        XCTAssertEqual(again.mapValues { "\($0.0)\($0.1)" }, result.mapValues { "\($0.0)\($0.1)" }, "input order does not matter")
        // Patient keys made with another secret (each run directory generates its own): the same split.
        let rekeyed = all.map { SplitCandidate(imageID: $0.imageID, group: String($0.group.reversed()) + "-other-secret", label: $0.label) }
        XCTAssertEqual(
            try MedADProtocol.assign(rekeyed, counts: counts, seed: 8).mapValues { "\($0.0)\($0.1)" },
            result.mapValues { "\($0.0)\($0.1)" }, "the group keys' values do not matter")
        let other = try MedADProtocol.assign(all, counts: counts, seed: 9)
        XCTAssertNotEqual(other.mapValues { "\($0.0)\($0.1)" }, result.mapValues { "\($0.0)\($0.1)" }, "the seed does")
    }

    func testCountsBeyondWhatExistsAndEmptyClassesAreClearErrors() {
        let all = candidates()
        let normal = all.filter { $0.label == .normal }.count, abnormal = all.count - normal
        XCTAssertThrowsError(try MedADProtocol.assign(all, counts: SplitCounts.presets[.brain]!, seed: 8)) {
            XCTAssertEqual(
                "\($0)",
                "the counts ask for 2000 normal and 1200 abnormal images (1000 | 400, 600 | 600, 600); \(normal) normal and \(abnormal) abnormal exist"
            )
        }
        XCTAssertThrowsError(try MedADProtocol.assign(all.filter { $0.label == .normal }, counts: SplitCounts(1, 0, 0, 1, 0), seed: 8)) {
            XCTAssertTrue("\($0)".contains("no abnormal images"))
        }
        // Enough images, but whole patients go to test, so train runs short.
        XCTAssertThrowsError(try MedADProtocol.assign(all, counts: SplitCounts(normal - 30, 0, 0, 30, 0), seed: 8)) {
            XCTAssertTrue("\($0)".contains("after keeping each patient's images in one part"), "\($0)")
        }
    }

    func testPublishedJSONFormatRoundTripsAndRefusesUnsafeNames() throws {
        let data = try Data(contentsOf: samples.appendingPathComponent("medad_split.json"))
        let file = try MedADSplitFile.decode(data)
        XCTAssertEqual(file.train.normal, ["n1.png", "n2.png"])
        XCTAssertEqual(file.train.unlabeled.abnormal, ["a1.png"])
        XCTAssertEqual(file.test.abnormal, ["a2.png"])
        XCTAssertEqual(try MedADSplitFile(names: file.entries).encoded(), data, "sorted keys, compact: the same bytes")
        for bad in [
            #"{"train":{"0":["../x.png"],"unlabeled":{"0":[],"1":[]}},"test":{"0":[],"1":[]}}"#,
            #"{"train":{"0":["a/x.png"],"unlabeled":{"0":[],"1":[]}},"test":{"0":[],"1":[]}}"#,
        ] {
            XCTAssertThrowsError(try MedADSplitFile.decode(Data(bad.utf8))) { XCTAssertTrue("\($0)".contains("path separator or '..'")) }
        }
        XCTAssertThrowsError(
            try MedADSplitFile.decode(Data(#"{"train":{"0":["a.png"],"unlabeled":{"0":[],"1":[]}},"test":{"0":["a.png"],"1":[]}}"#.utf8))
        ) {
            XCTAssertTrue("\($0)".contains("appears twice"))
        }
        XCTAssertThrowsError(try MedADSplitFile.decode(Data(#"{"train":[]}"#.utf8))) {
            XCTAssertTrue("\($0)".contains("not a Med-AD split file"))
        }
    }
}
