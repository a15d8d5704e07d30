// Real Med-AD data, drop-in, on generated stand-ins: a published split imported by the names the published files
// use (RSNA: `<patientId>.png` for `<patientId>.dcm`; Brain Tumor: the original file names), the export stage's
// research-code layout read back by a loader that does what theirs does, and the split's leak check on planted
// duplicates (the same pixels in another transfer syntax, a re-windowed copy, a resized copy, one patient in
// training and test).
import Foundation
import MedAD
import MedImage
import MedNN
import Pipeline
import XCTest

final class ExportAndLeakTests: XCTestCase, MedadCLI {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "export-secret\n".write(to: folder.appendingPathComponent("secret.txt"), atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws {
        if ProcessInfo.processInfo.environment["KEEP"] == nil { try? FileManager.default.removeItem(at: folder) }
    }

    /// A smooth random image (a few Gaussian blobs on a gradient), 12-bit values: images like these differ in
    /// most of their difference-hash bits, as different radiographs do.
    func image(_ seed: UInt64, size: Int = 32) -> [UInt16] {
        var random = UniformInit(seed: seed)
        let blobs = random.uniform(12, bound: 1)
        return (0..<size * size).map { i in
            let y = Double(i / size) / Double(size), x = Double(i % size) / Double(size)
            var v: Double = 0.3 * x + 0.2 * y
            for b in 0..<4 {
                let cx = 0.5 + 0.5 * Double(blobs[3 * b]), cy = 0.5 + 0.5 * Double(blobs[3 * b + 1]), a = Double(blobs[3 * b + 2])
                let d2: Double = (x - cx) * (x - cx) + (y - cy) * (y - cy)
                v += a * exp(-d2 * 30)
            }
            return UInt16(max(0, min(4095, (v + 1) * 1500)))
        }
    }

    func writeDICOM(
        _ pixels: [UInt16], size: Int = 32, to path: URL, uid: String, patient: String, syntax: DICOMTransferSyntax = .explicitLittleEndian
    ) throws {
        let request = DICOMWriteRequest(
            attributes: [
                (.sopClassUID, "1.2.840.10008.5.1.4.1.1.7"), (.sopInstanceUID, uid), (.modality, "CR"), (.patientID, patient),
            ],
            rows: size, columns: size, bitsAllocated: 16, bitsStored: 12, pixelRepresentation: 0, photometric: "MONOCHROME2",
            pixels: pixels)
        try DICOMWriter.write(request, to: path.path, syntax: syntax)
    }

    func writeSplit(_ lists: [String: [String]], to url: URL) throws {
        let json: [String: Any] = [
            "train": ["0": lists["train"] ?? [], "unlabeled": ["0": lists["unlabeled0"] ?? [], "1": lists["unlabeled1"] ?? []]],
            "test": ["0": lists["test0"] ?? [], "1": lists["test1"] ?? []],
        ]
        try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]).write(to: url)
    }

    func manifest(_ split: String, export: String) -> String {
        """
        name: t
        run_dir: run
        stages:
          ingest: {kind: ingest, params: {inputs: [in], secret_file: secret.txt}}
          normalize: {kind: normalize, after: [ingest], params: {size: 32}}
          split: {kind: split, after: [ingest, normalize], params: {\(split)}}
          export: {kind: export, after: [split, ingest, normalize], params: {\(export)}}
        """
    }

    /// Imports data.json (the test folder's) as `dataset`'s published split (with `split`'s further parameters),
    /// exports it, and runs ingest to export.
    func runImported(_ dataset: String, split: String = "") throws -> (code: Int32, output: String) {
        let path = folder.appendingPathComponent("t.yaml").path
        let extra = split.isEmpty ? "" : ", \(split)"
        try manifest("mode: import, import_file: data.json, dataset: \(dataset)\(extra)", export: "dataset: \(dataset)")
            .write(toFile: path, atomically: true, encoding: .utf8)
        return try medad("run", path)
    }

    /// What the research code's loader does (D2UE's anomaly_data.py): read data.json, open images/<name>, grey
    /// ("L"), Pillow's bilinear resize to the model's size (16 here). Returns each image before the resize, and
    /// checks that the resize takes it.
    func load(_ root: URL) throws -> [String: [UInt8]] {
        let file = try MedADSplitFile.decode(try Data(contentsOf: root.appendingPathComponent("data.json")))
        var images: [String: [UInt8]] = [:]
        for entry in file.entries {
            let path = root.appendingPathComponent("images").appendingPathComponent(entry.name).path
            var image = try PNGCodec.read(path: path)
            if image.channels > 1 { image = try image.grayscale() }
            guard case .uint8(let pixels) = image.samples else { throw ImageError("not 8-bit: \(entry.name)") }
            let resized = try Geometry.square(image.samples, width: image.width, height: image.height, size: 16, aspect: .stretch)
            XCTAssertEqual(resized.count, 256, entry.name)
            images[entry.name] = pixels
        }
        return images
    }

    /// RSNA as published: `<patientId>.dcm` files (UUID-like ids, SOP Instance UIDs unrelated to the names) and a
    /// data.json of `<patientId>.png`; one listed name has no file. Every other name is found, the export's
    /// data.json equals the imported one name for name, and its images are the normalized PNGs, hard-linked.
    func testPublishedRSNASplitImportsByPatientIdAndExportsTheResearchLayout() throws {
        let input = folder.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        var names: [String] = []
        for k in 0..<10 {
            let patientId = UUID(uuidString: String(format: "%08X-1D2C-4B3A-9F8E-%012X", k * 7919, k))!.uuidString.lowercased()
            try writeDICOM(
                image(UInt64(k)), to: input.appendingPathComponent("\(patientId).dcm"), uid: "2.25.\(900 + k)", patient: patientId)
            names.append("\(patientId).png")
        }
        let lists = [
            "train": Array(names[0..<5]), "unlabeled0": [names[5]], "unlabeled1": [names[6]], "test0": [names[7], "missing-patient.png"],
            "test1": [names[8], names[9]],
        ]
        try writeSplit(lists, to: folder.appendingPathComponent("data.json"))
        let run = try runImported("rsna")
        XCTAssertEqual(run.code, 0, run.output)
        XCTAssertTrue(run.output.contains("1 names in the imported split match no ingested image or several"), run.output)
        let errors = try CSV.read(folder.appendingPathComponent("run/split/errors.csv")).rows
        XCTAssertEqual(errors.map { $0["item"]! }, ["missing-patient.png"])

        let root = folder.appendingPathComponent("run/export/RSNA")
        let imported = try MedADSplitFile.decode(try Data(contentsOf: folder.appendingPathComponent("data.json")))
        let exported = try MedADSplitFile.decode(try Data(contentsOf: root.appendingPathComponent("data.json")))
        XCTAssertEqual(exported.entries.map(\.name), imported.entries.map(\.name).filter { $0 != "missing-patient.png" })
        XCTAssertEqual(exported.entries.map(\.part), imported.entries.filter { $0.name != "missing-patient.png" }.map(\.part))
        let loaded = try load(root)
        XCTAssertEqual(loaded.count, 10)
        let export = try CSV.read(folder.appendingPathComponent("run/export/export.csv")).rows
        let normalize = try CSV.read(folder.appendingPathComponent("run/normalize/normalize.csv")).rows
        for row in export {
            let png = normalize.first { $0["image_id"] == row["image_id"] }!["file"]!
            let original = try PNGCodec.read(path: folder.appendingPathComponent("run/normalize/\(png)").path)
            guard case .uint8(let pixels) = original.samples else { return XCTFail("normalize writes 8 bits here") }
            XCTAssertEqual(loaded[row["name"]!], pixels, row["name"]!)
            XCTAssertEqual(row["link"], "hard")
            let inode = { (p: String) in try FileManager.default.attributesOfItem(atPath: p)[.systemFileNumber] as? Int }
            XCTAssertEqual(
                try inode(root.appendingPathComponent("images/\(row["name"]!)").path),
                try inode(folder.appendingPathComponent("run/normalize/\(png)").path), "a hard link, not a copy")
        }
    }

    /// Brain Tumor as published: the original files under their own names (the recipe copies them unchanged),
    /// found by file name in the published split; the exported files are byte for byte the originals.
    func testBrainTumorExportsTheOriginalFilesUnderTheirNames() throws {
        let input = folder.appendingPathComponent("in")
        var names: [String] = []
        for (k, (classFolder, name)) in [
            ("notumor", "Te-noTr_0000"), ("notumor", "Te-no_0010"), ("notumor", "Tr-no_0011"), ("glioma", "Te-gl_0001"),
        ].enumerated() {
            let dir = input.appendingPathComponent(classFolder)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try PNGCodec.writeGray(
                path: dir.appendingPathComponent("\(name).png").path, pixels: .uint8(image(UInt64(k)).map { UInt8($0 >> 4) }), width: 32,
                height: 32)
            names.append("\(name).png")
        }
        try writeSplit(
            ["train": [names[0], names[1]], "test0": [names[2]], "test1": [names[3]]], to: folder.appendingPathComponent("data.json"))
        let run = try runImported("brain")
        XCTAssertEqual(run.code, 0, run.output)
        let root = folder.appendingPathComponent("run/export/BrainTumor")
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("images").path).sorted(), names.sorted())
        for (name, classFolder) in zip(names, ["notumor", "notumor", "notumor", "glioma"]) {
            XCTAssertEqual(
                try Data(contentsOf: root.appendingPathComponent("images/\(name)")),
                try Data(contentsOf: input.appendingPathComponent("\(classFolder)/\(name)")), name)
        }
        let exported = try MedADSplitFile.decode(try Data(contentsOf: root.appendingPathComponent("data.json")))
        XCTAssertEqual(exported.entries.map(\.name), [names[0], names[1]].sorted() + [names[2], names[3]])
        XCTAssertEqual(try load(root).count, 4)
    }

    /// Planted leaks in an imported split: the same pixels in JPEG-LS, a re-windowed copy and a 2× resized copy
    /// in test of images in train, and a test image of a training image's patient. All four found, nothing else;
    /// on_leak: fail stops the stage.
    func testLeakCheckFindsPlantedDuplicatesNearCopiesAndPatients() throws {
        let input = folder.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        for k in 0..<10 {
            try writeDICOM(
                image(UInt64(40 + k)), to: input.appendingPathComponent("base\(k).dcm"), uid: "2.25.\(100 + k)", patient: "P\(k)")
        }
        try writeDICOM(image(40), to: input.appendingPathComponent("copy_syntax.dcm"), uid: "2.25.200", patient: "Q1", syntax: .jpegLS)
        try writeDICOM(
            image(41).map { UInt16(Double($0) * 0.8 + 300) }, to: input.appendingPathComponent("copy_window.dcm"), uid: "2.25.201",
            patient: "Q2")
        let small = image(42)
        let doubled: [UInt16] = (0..<64 * 64).map { (i: Int) -> UInt16 in small[(i / 128) * 32 + (i % 64) / 2] }
        try writeDICOM(doubled, size: 64, to: input.appendingPathComponent("copy_resized.dcm"), uid: "2.25.202", patient: "Q3")
        try writeDICOM(image(55), to: input.appendingPathComponent("same_patient.dcm"), uid: "2.25.203", patient: "P3")
        try writeSplit(
            [
                "train": (0..<6).map { "base\($0).png" }, "test0": ["base6.png", "base7.png", "copy_syntax.png", "copy_window.png"],
                "test1": ["base8.png", "base9.png", "copy_resized.png", "same_patient.png"],
            ], to: folder.appendingPathComponent("data.json"))
        let run = try runImported("rsna")
        XCTAssertEqual(run.code, 0, run.output)
        XCTAssertTrue(run.output.contains("leak check: 4 pairs across parts (1 duplicate, 2 near duplicate, 1 patient)"), run.output)
        let ids = Dictionary(
            try CSV.read(folder.appendingPathComponent("run/ingest/ingest.csv")).rows.map {
                ($0["image_id"]!, URL(fileURLWithPath: $0["path"]!).deletingPathExtension().lastPathComponent)
            }, uniquingKeysWith: { a, _ in a })
        let leaks = try CSV.read(folder.appendingPathComponent("run/split/leaks.csv")).rows.map {
            [$0["kind"]!, ids[$0["image_a"]!]!, ids[$0["image_b"]!]!].joined(separator: " ")
        }
        XCTAssertEqual(
            Set(leaks),
            [
                "duplicate base0 copy_syntax", "near_duplicate base1 copy_window", "near_duplicate base2 copy_resized",
                "patient base3 same_patient",
            ])
        let failed = try runImported("rsna", split: "on_leak: fail")
        XCTAssertNotEqual(failed.code, 0, failed.output)
        XCTAssertTrue(failed.output.contains("on_leak: fail"), failed.output)
    }

    /// The shipped pipelines/rsna.yaml itself on a stand-in data root (MEDAD_DATA) laid out as the Kaggle download
    /// plus the published data.json: its ingest, normalize, split and export stages import every name and export
    /// the research layout, name for name.
    func testShippedRSNAManifestImportsThePublishedSplitFromTheDataRoot() throws {
        let root = folder.appendingPathComponent("data/rsna")
        let images = root.appendingPathComponent("stage_2_train_images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        var names: [String] = [], labels = "patientId,class\n"
        for k in 0..<8 {
            let patientId = String(format: "%08x-0000-4000-8000-%012x", 0xC0FFEE + k, k)
            try writeDICOM(
                image(UInt64(70 + k)), to: images.appendingPathComponent("\(patientId).dcm"), uid: "2.25.\(500 + k)", patient: patientId)
            names.append("\(patientId).png")
            labels += "\(patientId),\(k < 5 ? "Normal" : "Lung Opacity")\n"
        }
        try labels.write(to: root.appendingPathComponent("stage_2_detailed_class_info.csv"), atomically: true, encoding: .utf8)
        try writeSplit(
            ["train": Array(names[0..<4]), "test0": [names[4]], "test1": Array(names[5..<8])], to: root.appendingPathComponent("data.json"))
        let pipelines = folder.appendingPathComponent("pipelines")
        try FileManager.default.createDirectory(at: pipelines, withIntermediateDirectories: true)
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("pipelines/rsna.yaml")
        try FileManager.default.copyItem(at: shipped, to: pipelines.appendingPathComponent("rsna.yaml"))

        let process = Process()
        process.executableURL = medad
        process.arguments =
            ["run", pipelines.appendingPathComponent("rsna.yaml").path]
            + ["ingest", "normalize", "split", "export"].flatMap { ["--stage", $0] }
        process.environment = ProcessInfo.processInfo.environment.merging(["MEDAD_DATA": folder.appendingPathComponent("data").path]) { $1 }
        let pipe = Pipe()
        (process.standardOutput, process.standardError) = (pipe, pipe)
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, output)
        let run = folder.appendingPathComponent("runs/rsna")
        XCTAssertEqual(try CSV.read(run.appendingPathComponent("split/errors.csv")).rows.count, 0, "every published name matched")
        let split = try CSV.read(run.appendingPathComponent("split/split.csv")).rows
        XCTAssertEqual(split.filter { $0["grouping"] == "imported" }.count, 8)
        XCTAssertEqual(Set(split.map { $0["source_label"]! }), ["Normal", "Lung Opacity"], "labels read beside the import")
        let exported = try MedADSplitFile.decode(try Data(contentsOf: run.appendingPathComponent("export/RSNA/data.json")))
        let published = try MedADSplitFile.decode(try Data(contentsOf: root.appendingPathComponent("data.json")))
        XCTAssertEqual(exported.entries.map(\.name), published.entries.map(\.name))
        XCTAssertEqual(exported.entries.map(\.label), published.entries.map(\.label))
        XCTAssertEqual(try load(run.appendingPathComponent("export/RSNA")).count, 8)
    }
}
