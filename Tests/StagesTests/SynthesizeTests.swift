import Crypto
import Foundation
import MedAD
import MedImage
import MedNN
import Pipeline
import Stages
import XCTest

final class SynthesizeTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("synth-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    let params = "{seed: 3, size: 64, normal: 10, lung_opacity: 6, not_normal: 4}"

    func synthesize(into name: String) throws -> URL {
        let yaml = "name: s\nrun_dir: \(name)\nstages:\n  synthesize: {kind: synthesize, params: \(params)}\n"
        let file = folder.appendingPathComponent("\(name).yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        let manifest = try Manifest.load(file, registry: stageRegistry)
        let summary = try Runner(manifest: manifest, registry: stageRegistry, reporter: Reporter(mode: .quiet)).run(RunOptions())
        XCTAssertEqual(summary.exitCode, 0)
        return folder.appendingPathComponent("\(name)/synthesize")
    }

    func testWritesReadableDICOMWhosePixelsAreWhatWasGenerated() throws {
        let out = try synthesize(into: "a")
        let (header, rows) = try CSV.read(out.appendingPathComponent("synthesize.csv"))
        XCTAssertEqual(header, SynthesizeStage.columns)
        XCTAssertEqual(rows.count, 20)
        XCTAssertEqual(Set(rows.map { $0["transfer_syntax"]! }).count, 7, "all seven default syntaxes used")
        XCTAssertEqual(Set(rows.map { $0["photometric_interpretation"]! }), ["MONOCHROME1", "MONOCHROME2"])
        XCTAssertEqual(Set(rows.map { $0["bits_stored"]! }), ["8", "12", "16"])

        let (labelHeader, labels) = try CSV.read(out.appendingPathComponent(SynthesizeStage.labelFile))
        XCTAssertEqual(labelHeader, ["patientId", "class"])
        let classCounts = Dictionary(grouping: labels, by: { $0["class"]! }).mapValues(\.count)
        XCTAssertEqual(classCounts, ["Normal": 10, "Lung Opacity": 6, "No Lung Opacity / Not Normal": 4])

        // DCMTK's own dcmdump parses every file without complaint.
        let dump = Process()
        dump.executableURL = URL(fileURLWithPath: "/usr/bin/dcmdump")
        dump.arguments = ["-q"] + rows.map { out.appendingPathComponent($0["file"]!).path }
        let pipe = Pipe()
        dump.standardOutput = pipe
        dump.standardError = pipe
        try dump.run()
        let dumped = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        dump.waitUntilExit()
        XCTAssertEqual(dump.terminationStatus, 0, dumped)
        XCTAssertFalse(dumped.contains("E: "), dumped)
        XCTAssertEqual(dumped.components(separatedBy: "(7fe0,0010)").count - 1, 20, "every file has Pixel Data")

        // Decoded pixels equal what the generator made (lossless) or come close (JPEG baseline).
        let dataset = SyntheticChestSet(
            seed: 3, size: 64, counts: [.normal: 10, .lungOpacity: 6, .notNormal: 4],
            syntaxes: SynthesizeStage.defaultSyntaxes)
        for index in 0..<dataset.count {
            let image = dataset.image(index)
            let row = try XCTUnwrap(rows.first { $0["image_id"] == image.sopInstanceUID })
            XCTAssertEqual(row["class"], image.finding.rawValue)
            let file = try DICOMFile(path: out.appendingPathComponent(row["file"]!).path)
            XCTAssertEqual(file.transferSyntaxUID, image.encoding.syntax.uid)
            XCTAssertEqual(file.string(.photometricInterpretation), image.encoding.photometric)
            let decoded = try file.decodeFrame().values
            let bits = image.encoding.bitsStored
            let expected = image.request.pixels.map { word -> Int32 in
                let v = Int32(word & UInt16((1 << bits) - 1))
                return image.encoding.pixelRepresentation == 1 && v >= (1 << (bits - 1)) ? v - (1 << bits) : v
            }
            if image.encoding.syntax.isLossless {
                XCTAssertEqual(decoded, expected, "image \(index), \(image.encoding.syntax)")
            } else {
                let errors = zip(decoded, expected).map { abs(Int($0) - Int($1)) }
                // Quality 92 on noisy 8-bit phantoms: a mean error of 2–3 grey levels; a wrong decode is far off.
                XCTAssertLessThan(Double(errors.reduce(0, +)) / Double(errors.count), 4.0, "image \(index) JPEG mean error")
            }
            // The stored image is not flat: the phantom has structure.
            XCTAssertGreaterThan(Set(decoded).count, 30)
        }
    }

    func testSameSeedGivesByteIdenticalFiles() throws {
        func digests(_ out: URL) throws -> [String: String] {
            var result: [String: String] = [:]
            for name in try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("dicom").path) {
                let data = try Data(contentsOf: out.appendingPathComponent("dicom/\(name)"))
                result[name] = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
            }
            result["synthesize.csv"] = try String(contentsOf: out.appendingPathComponent("synthesize.csv"), encoding: .utf8)
            return result
        }
        let first = try digests(try synthesize(into: "a"))
        let second = try digests(try synthesize(into: "b"))
        XCTAssertEqual(first.count, 21)
        XCTAssertEqual(first, second)
    }

    func testAbnormalPhantomsDifferFromNormalOnes() {
        // Opacities add density inside the lungs: the mean over the image rises on average.
        var normalMean = 0.0, opacityMean = 0.0
        for i in 0..<20 {
            var a = SeededGenerator(seed: 1, index: UInt64(i))
            var b = SeededGenerator(seed: 1, index: UInt64(i))
            let normal = ChestPhantom(size: 64, finding: .normal, rng: &a)
            let opacity = ChestPhantom(size: 64, finding: .lungOpacity, rng: &b)
            XCTAssertEqual(normal.opacities, 0)
            XCTAssertGreaterThan(opacity.opacities, 0)
            normalMean += normal.density.map(Double.init).reduce(0, +)
            opacityMean += opacity.density.map(Double.init).reduce(0, +)
        }
        XCTAssertGreaterThan(opacityMean, normalMean)
    }

    /// Lung Opacity images come with masks and RSNA-format boxes: one box per region, each box the bounding box of
    /// its part of the mask (so the mask lies inside the boxes and touches every side of each), Target 1; every
    /// other image one row with empty coordinates and Target 0, and no mask. Opacity regions cover 0.3% to 25% of
    /// the image here.
    func testOpacitiesComeWithMasksAndRSNABoxes() throws {
        let out = try synthesize(into: "m")
        let classes = Dictionary(
            uniqueKeysWithValues: try CSV.read(out.appendingPathComponent(SynthesizeStage.labelFile)).rows.map {
                ($0["patientId"]!, $0["class"]!)
            })
        let boxes = try CSV.read(out.appendingPathComponent(SynthesizeStage.boxFile))
        XCTAssertEqual(boxes.header, ["patientId", "x", "y", "width", "height", "Target"])
        let byPatient = Dictionary(grouping: boxes.rows, by: { $0["patientId"]! })
        XCTAssertEqual(Set(byPatient.keys), Set(classes.keys))
        for (patient, rows) in byPatient {
            let mask = out.appendingPathComponent("masks/\(patient).png")
            guard classes[patient] == "Lung Opacity" else {
                XCTAssertEqual(rows.map { $0["Target"]! }, ["0"])
                XCTAssertEqual(rows[0]["x"], "")
                XCTAssertFalse(FileManager.default.fileExists(atPath: mask.path))
                continue
            }
            XCTAssertTrue(rows.allSatisfy { $0["Target"] == "1" })
            let png = try PNGCodec.read(path: mask.path)
            guard case .uint8(let pixels) = png.samples else { return XCTFail("8-bit mask") }
            XCTAssertEqual(Set(pixels), [0, 255])
            let inside = { (p: Int, box: [String: String]) -> Bool in
                let (x, y) = (Double(p % 64), Double(p / 64))
                let (bx, by) = (Double(box["x"]!)!, Double(box["y"]!)!)
                return x >= bx && x < bx + Double(box["width"]!)! && y >= by && y < by + Double(box["height"]!)!
            }
            let marked = pixels.indices.filter { pixels[$0] == 255 }
            XCTAssertTrue(marked.allSatisfy { p in rows.contains { inside(p, $0) } }, "the mask lies inside the boxes")
            let share = Double(marked.count) / Double(pixels.count)
            XCTAssertTrue(share > 0.003 && share < 0.25, "\(patient): \(share)")
            for box in rows {
                let (bx, by) = (Int(Double(box["x"]!)!), Int(Double(box["y"]!)!))
                let (w, h) = (Int(Double(box["width"]!)!), Int(Double(box["height"]!)!))
                let mine = marked.filter { inside($0, box) }
                XCTAssertEqual(mine.map { $0 % 64 }.min(), bx)
                XCTAssertEqual(mine.map { $0 % 64 }.max(), bx + w - 1)
                XCTAssertEqual(mine.map { $0 / 64 }.min(), by)
                XCTAssertEqual(mine.map { $0 / 64 }.max(), by + h - 1)
            }
        }
    }
}
