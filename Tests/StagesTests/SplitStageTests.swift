// The split stage through the medad binary: synthetic RSNA-format data end to end, byte-identical reruns,
// import of its own data.json, label problems in errors.csv, a refused split that keeps the last one, and the
// Brain Tumor folder layout from data/samples/.
import Foundation
import Pipeline
import XCTest

final class SplitStageTests: XCTestCase, MedadCLI {
    var folder: URL!
    let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("data/samples")

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("split-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "split-test-secret\n".write(to: url("secret.txt"), atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func url(_ relative: String) -> URL { folder.appendingPathComponent(relative) }

    func manifest(_ name: String, runDir: String, splitParams: String, extra: String = "") throws -> String {
        let yaml = """
            name: s
            run_dir: \(runDir)
            stages:
              synthesize:
                kind: synthesize
                params: {seed: 3, size: 32, normal: 40, lung_opacity: 24, not_normal: 6}
              ingest:
                kind: ingest
                after: [synthesize]
                params: {secret_file: secret.txt}
              normalize:
                kind: normalize
                after: [ingest]
                params: {size: 16}
              split:
                kind: split
                after: [synthesize, ingest, normalize]
                params: {\(splitParams)}
            \(extra)
            """
        let path = url(name).path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    let counts = "train_normal: 20, unlabeled_normal: 5, unlabeled_abnormal: 6, test_normal: 10, test_abnormal: 10"

    func read(_ relative: String) throws -> Data { try Data(contentsOf: url(relative)) }

    func testSyntheticRSNASplitIsExactReproducibleAndImportsItsOwnFile() throws {
        let first = try medad("run", try manifest("a.yaml", runDir: "runA", splitParams: counts))
        XCTAssertEqual(first.code, 0, first.output)
        XCTAssertEqual(
            String(decoding: try read("runA/split/summary.csv"), as: UTF8.self),
            "part,label,count\ntrain,0,20\nunlabeled,0,5\nunlabeled,1,6\ntest,0,10\ntest,1,10\n")
        let split = try CSV.read(url("runA/split/split.csv"))
        XCTAssertEqual(split.header, ["image_id", "part", "label", "patient_key", "source_label", "grouping"])
        XCTAssertTrue(split.rows.allSatisfy { $0["grouping"] == "patient" && $0["patient_key"]!.count == 32 })
        XCTAssertEqual(Set(split.rows.filter { $0["label"] == "1" }.map { $0["source_label"]! }), ["Lung Opacity"])
        XCTAssertFalse(split.rows.contains { $0["source_label"] == "No Lung Opacity / Not Normal" }, "left out by the protocol")

        // Same inputs and seed in another run directory: the same bytes.
        XCTAssertEqual(try medad("run", try manifest("b.yaml", runDir: "runB", splitParams: counts)).code, 0)
        for file in ["split.csv", "summary.csv", "data.json"] {
            XCTAssertEqual(try read("runA/split/\(file)"), try read("runB/split/\(file)"), file)
        }
        // Importing data.json gives the same split back.
        let imported = """
              imported:
                kind: split
                after: [ingest, normalize, split]
                params: {mode: import, import_file: runA/split/data.json}
            """
        let result = try medad("run", try manifest("a.yaml", runDir: "runA", splitParams: counts, extra: imported))
        XCTAssertEqual(result.code, 0, result.output)
        XCTAssertEqual(try read("runA/imported/data.json"), try read("runA/split/data.json"))
        XCTAssertEqual(
            try CSV.read(url("runA/imported/split.csv")).rows.map { [$0["image_id"]!, $0["part"]!, $0["label"]!] },
            split.rows.map { [$0["image_id"]!, $0["part"]!, $0["label"]!] })
    }

    func testLabelProblemsAreListedAndABadImportKeepsTheLastSplit() throws {
        XCTAssertEqual(try medad("run", try manifest("a.yaml", runDir: "run", splitParams: counts)).code, 0)
        // A label file with one label too many (no such image) and one too few (an image without a label).
        var labels = try CSV.read(url("run/synthesize/labels/stage_2_detailed_class_info.csv")).rows
        let dropped = labels.removeFirst()["patientId"]!
        let rows = labels.map { [$0["patientId"]!, $0["class"]!] } + [["ghost-patient", "Normal"]]
        try CSV.write(url("labels.csv"), header: ["patientId", "class"], rows: rows)
        let relabeled = try medad("run", try manifest("c.yaml", runDir: "run", splitParams: counts + ", labels: labels.csv"))
        XCTAssertEqual(relabeled.code, 0, relabeled.output)
        let errors = try CSV.read(url("run/split/errors.csv")).rows
        XCTAssertEqual(errors.count, 2, "\(errors)")
        XCTAssertTrue(errors.contains { $0["item"] == "ghost-patient" && $0["reason"]!.contains("not ingested") })
        XCTAssertTrue(errors.contains { $0["reason"]!.contains("without a label (\(dropped).dcm)") })

        // A split file naming ../ is refused; the split on disk stays as it was.
        let before = try read("run/split/split.csv")
        try #"{"train":{"0":["../etc/passwd"],"unlabeled":{"0":[],"1":[]}},"test":{"0":[],"1":[]}}"#.write(
            to: url("bad.json"), atomically: true, encoding: .utf8)
        let bad = try medad("run", try manifest("d.yaml", runDir: "run", splitParams: "mode: import, import_file: bad.json"))
        XCTAssertEqual(bad.code, 2, bad.output)
        XCTAssertTrue(bad.output.contains("path separator or '..'"), bad.output)
        XCTAssertEqual(try read("run/split/split.csv"), before)

        // Asking for more than exists names what exists.
        let greedy = try medad("run", try manifest("e.yaml", runDir: "run", splitParams: "preset: rsna"))
        XCTAssertEqual(greedy.code, 2)
        XCTAssertTrue(
            greedy.output.contains(
                "the counts ask for 8851 normal and 6012 abnormal images (3851 | 4000, 5012 | 1000, 1000); 40 normal and 24 abnormal exist"),
            greedy.output)
    }

    func testBrainTumorFolderLayout() throws {
        let yaml = """
            name: brain
            run_dir: run
            stages:
              ingest: {kind: ingest, params: {inputs: [\(samples.appendingPathComponent("brain").path)], secret_file: secret.txt}}
              normalize: {kind: normalize, after: [ingest], params: {size: 8}}
              split:
                kind: split
                after: [ingest, normalize]
                params: {dataset: brain, train_normal: 2, unlabeled_normal: 1, unlabeled_abnormal: 2, test_normal: 3, test_abnormal: 3}
            """
        try yaml.write(toFile: url("brain.yaml").path, atomically: true, encoding: .utf8)
        let result = try medad("run", url("brain.yaml").path)
        XCTAssertEqual(result.code, 0, result.output)
        let rows = try CSV.read(url("run/split/split.csv")).rows
        XCTAssertEqual(rows.count, 11)
        XCTAssertEqual(Set(rows.filter { $0["label"] == "0" }.map { $0["source_label"]! }), ["notumor"])
        XCTAssertEqual(Set(rows.filter { $0["label"] == "1" }.map { $0["source_label"]! }), ["glioma", "meningioma", "pituitary"])
        XCTAssertTrue(rows.allSatisfy { $0["grouping"] == "image (no patient key)" })
        XCTAssertTrue(rows.filter { $0["part"] == "train" }.allSatisfy { $0["label"] == "0" })
    }
}
