// ingest and normalize through the medad binary: every format and transfer syntax, every class of bad input,
// no patient data in any output, incremental reruns; and the decoder workers' crash and hang handling.
import Foundation
import MedAD
import MedImage
import MedNN
import Pipeline
import XCTest

@testable import Stages

final class IngestNormalizeTests: XCTestCase, MedadCLI {
    var folder: URL!
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("MedImageTests/Fixtures")
    /// Identifying values written into the inputs; none may reach an output or a log.
    let identifying = ["LEAK^NAME", "RAW-ID-123", "OTHER-ID-9", "19451231", "FIXTURE^PERSON", "FIX-0001"]

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("ingest-\(UUID())")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("good/nested"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("broken"), withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func url(_ relative: String) -> URL { folder.appendingPathComponent(relative) }

    /// A 64×64 gradient DICOM with patient data, in `syntax`.
    func writeDICOM(
        _ relative: String, syntax: DICOMTransferSyntax, bits: Int = 12, photometric: String = "MONOCHROME2",
        patientID: String = "RAW-ID-123", size: Int = 64, seed: Int = 0
    ) throws {
        let maximum = (1 << bits) - 1
        let pixels = (0..<(size * size)).map { UInt16(($0 * 7 + seed * 131 + ($0 / size) * 13) % (maximum + 1)) }
        let request = DICOMWriteRequest(
            attributes: [
                (.sopClassUID, "1.2.840.10008.5.1.4.1.1.1.1"),
                (.sopInstanceUID, "2.25.\(relative.utf8.reduce(7) { $0 &* 31 &+ Int($1) } & 0xFFFFFFFF).\(seed)"),
                (.patientName, "LEAK^NAME"), (.patientID, patientID), (.patientBirthDate, "19451231"),
                (.modality, "DX"), (.rescaleSlope, "1"), (.rescaleIntercept, "0"),
            ],
            rows: size, columns: size, bitsAllocated: bits > 8 ? 16 : 8, bitsStored: bits, pixelRepresentation: 0,
            photometric: photometric, pixels: pixels)
        try DICOMWriter.write(request, to: url(relative).path, syntax: syntax)
    }

    func tool(_ path: String, _ arguments: String...) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "\(path) \(arguments)")
    }

    func makeInputs() throws {
        try writeDICOM("good/mono1.dcm", syntax: .explicitLittleEndian, photometric: "MONOCHROME1")
        try writeDICOM("good/nested/baseline", syntax: .jpegBaseline, bits: 8, patientID: "OTHER-ID-9")  // no extension
        try writeDICOM("good/jpegls.dcm", syntax: .jpegLS, seed: 1)
        try writeDICOM("good/rle.dcm", syntax: .rle, seed: 2)
        try writeDICOM("good/big_endian.dcm", syntax: .explicitBigEndian, seed: 3)
        try writeDICOM("good/lossless.dcm", syntax: .jpegLossless, seed: 4)
        try writeDICOM("good/implicit.dcm", syntax: .implicitLittleEndian, seed: 5)
        // A dataset without preamble or meta header: only a parse can tell it is DICOM.
        try writeDICOM("source.dcm", syntax: .implicitLittleEndian, seed: 10)
        try tool("/usr/bin/dcmconv", "-F", url("source.dcm").path, url("good/nested/headerless.bin").path)
        for name in [
            "j2k_lossless.dcm", "j2k_lossy.dcm", "rgb_native.dcm", "multiframe.dcm", "small8.png", "fundus.jpg", "j2k_sign_mismatch.dcm",
            "jpeg_extended12.dcm",
        ] {
            try FileManager.default.copyItem(at: fixtures.appendingPathComponent(name), to: url("good/\(name)"))
        }
        try "patientId,class\n".write(to: url("good/labels.csv"), atomically: true, encoding: .utf8)  // excluded by default

        let whole = try Data(contentsOf: url("good/mono1.dcm"))
        try whole.prefix(whole.count / 2).write(to: url("broken/truncated.dcm"))
        try Data("this is a text file, not an image\n".utf8).write(to: url("broken/notes.dat"))
        try Data().write(to: url("broken/empty.dcm"))
        try writeDICOM("broken/report.dcm", syntax: .explicitLittleEndian)
        try tool("/usr/bin/dcmodify", "-nb", "-e", "(7fe0,0010)", url("broken/report.dcm").path)
        // JPEG-LS data under a syntax nobody decodes here (JPEG 2000 Part 2 multi-component, same UID length).
        try writeDICOM("broken/unsupported.dcm", syntax: .jpegLS, seed: 6)
        try patch("broken/unsupported.dcm", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.92")
        // Garbage in the middle of a JPEG baseline stream.
        try writeDICOM("broken/corrupt.dcm", syntax: .jpegBaseline, bits: 8, seed: 7)
        var corrupt = [UInt8](try Data(contentsOf: url("broken/corrupt.dcm")))
        var generator = SeededGenerator(seed: 42)
        for i in (corrupt.count / 2)..<(corrupt.count - 40) { corrupt[i] = UInt8(truncatingIfNeeded: generator.next()) }
        try Data(corrupt).write(to: url("broken/corrupt.dcm"))
        try writeDICOM("broken/huge.dcm", syntax: .explicitLittleEndian, size: 300, seed: 8)
    }

    func patch(_ relative: String, _ old: String, _ new: String) throws {
        var data = try Data(contentsOf: url(relative))
        let range = try XCTUnwrap(data.range(of: Data(old.utf8)))
        data.replaceSubrange(range, with: Data(new.utf8))
        try data.write(to: url(relative))
    }

    func writeManifest() throws -> String {
        try "a-secret-for-tests\n".write(to: url("secret.txt"), atomically: true, encoding: .utf8)
        let yaml = """
            name: t
            run_dir: run
            stages:
              ingest:
                kind: ingest
                params:
                  inputs: [good, broken]
                  frames: all
                  max_pixels: 50000
                  secret_file: secret.txt
              normalize:
                kind: normalize
                after: [ingest]
                params: {size: 32}
              normalize16:
                kind: normalize
                after: [ingest]
                params: {size: 40, bit_depth: "16", aspect: pad, steps: [rescale, window, invert_monochrome1, minmax, resize], window_center: 2000, window_width: 3000}
            """
        let path = url("t.yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func table(_ relative: String) throws -> [[String: String]] { try CSV.read(url("run/\(relative)")).rows }

    func testEveryFormatDecodesAndEveryBadFileIsOneClearErrorRow() throws {
        try makeInputs()
        let result = try medad("run", try writeManifest())
        XCTAssertEqual(result.code, 0, result.output)

        let ingest = try table("ingest/ingest.csv")
        let byPath = Dictionary(grouping: ingest, by: { $0["path"]! })
        XCTAssertEqual(
            Set(byPath.keys),
            [
                "mono1.dcm", "nested/baseline", "jpegls.dcm", "rle.dcm", "big_endian.dcm", "lossless.dcm",
                "implicit.dcm", "nested/headerless.bin", "j2k_lossless.dcm", "j2k_lossy.dcm", "rgb_native.dcm",
                "multiframe.dcm", "small8.png", "fundus.jpg", "j2k_sign_mismatch.dcm", "jpeg_extended12.dcm",
                "corrupt.dcm",  // grey JPEG baseline: ingest reads the stream header, normalize finds the damage
            ])
        XCTAssertEqual(byPath["multiframe.dcm"]?.map { $0["frame"]! }.sorted(), ["0", "1", "2"], "frames: all gives one row per frame")
        XCTAssertEqual(byPath["j2k_lossy.dcm"]?[0]["transfer_syntax_uid"], "1.2.840.10008.1.2.4.91")
        XCTAssertEqual(byPath["fundus.jpg"]?[0]["format"], "jpeg")
        XCTAssertEqual(byPath["fundus.jpg"]?[0]["image_id"], "fundus")
        XCTAssertEqual(byPath["nested/headerless.bin"]?[0]["format"], "dicom")
        // Patient keys: the same ID gives the same key, another ID another; files without patients none.
        let key = byPath["mono1.dcm"]![0]["patient_key"]!
        XCTAssertEqual(key.count, 32)
        XCTAssertEqual(byPath["rle.dcm"]![0]["patient_key"], key)
        XCTAssertNotEqual(byPath["nested/baseline"]![0]["patient_key"], key)
        XCTAssertEqual(byPath["small8.png"]![0]["patient_key"], "")
        XCTAssertTrue(ingest.allSatisfy { $0["patient_id"] == "" })

        let errors = Dictionary(uniqueKeysWithValues: try table("ingest/errors.csv").map { ($0["item"]!, $0["reason"]!) })
        XCTAssertEqual(errors.count, 6, "\(errors)")
        let expected = [
            "truncated.dcm": "truncated or corrupt DICOM", "notes.dat": "not DICOM, PNG or JPEG",
            "empty.dcm": "not DICOM, PNG or JPEG", "report.dcm": "no pixel data",
            "unsupported.dcm": "unsupported transfer syntax 1.2.840.10008.1.2.4.92", "huge.dcm": "exceed the limit of 50000",
        ]
        for (file, reason) in expected {
            XCTAssertTrue(errors[file]?.contains(reason) == true, "\(file): \(errors[file] ?? "no error row")")
        }

        // Of grey JPEG baseline ingest reads the stream's header; the garbage in its coded data is normalize's error.
        let normalize = try table("normalize/normalize.csv")
        let normalizeErrors = try table("normalize/errors.csv")
        XCTAssertEqual(normalize.count, ingest.count - 1)
        XCTAssertEqual(normalizeErrors.map { $0["item"]! }, [try XCTUnwrap(byPath["corrupt.dcm"]?[0]["image_id"])])
        XCTAssertTrue(normalizeErrors.first?["reason"]?.contains("corrupt JPEG stream") == true, "\(normalizeErrors)")
        // Every format's content hash, taken by the read that decodes it (SourceFile): the file's XXH3, whether
        // streamed in pieces (native little endian DICOM), read whole, hashed before its codec reads it, or shared
        // by the frames of one file.
        let pathOf = Dictionary(uniqueKeysWithValues: ingest.map { ($0["image_id"]!, $0["path"]!) })
        for row in normalize {
            let path = try XCTUnwrap(pathOf[row["image_id"]!])
            XCTAssertEqual(row["content_hash"], try XXH3.hex(ofFile: url("good/\(path)")), path)
        }
        let steps = Dictionary(uniqueKeysWithValues: normalize.map { ($0["image_id"]!, $0["steps"]!) })
        let idOf = { (path: String) in byPath[path]![0]["image_id"]! }
        XCTAssertEqual(steps[idOf("mono1.dcm")], "invert_monochrome1;minmax;resize")
        XCTAssertEqual(steps[idOf("fundus.jpg")], "grayscale;resize", "8-bit input is not min–max scaled")
        XCTAssertTrue(
            result.output.contains(
                "normalize: 1 image(s), first \(idOf("j2k_sign_mismatch.dcm")): the JPEG 2000 codestream says unsigned 13-bit, Pixel Representation signed"
            ), result.output)
        for row in normalize {
            let png = try PNGCodec.read(path: url("run/normalize/\(row["file"]!)").path)
            XCTAssertEqual([png.width, png.height, png.channels, png.bitsStored], [32, 32, 1, 8], row["image_id"]!)
        }
        // The 16-bit, windowed, padded variant: pixels come from the same decoder and chain.
        let wide = try table("normalize16/normalize.csv")
        let mono1 = try XCTUnwrap(wide.first { $0["image_id"] == idOf("mono1.dcm") })
        XCTAssertEqual(mono1["steps"], "window;invert_monochrome1;minmax;resize")
        let png16 = try PNGCodec.read(path: url("run/normalize16/\(mono1["file"]!)").path)
        XCTAssertEqual([png16.width, png16.height, png16.bitsStored], [40, 40, 16])
        XCTAssertEqual(png16.values.max(), 65535)

        // Nothing identifying in any output file or in what was printed.
        var texts = [result.output]
        let walker = FileManager.default.enumerator(at: url("run"), includingPropertiesForKeys: nil)!
        while let file = walker.nextObject() as? URL {
            if !file.path.contains("/png/"), let text = try? String(contentsOf: file, encoding: .utf8) { texts.append(text) }
        }
        for text in texts { for value in identifying { XCTAssertFalse(text.contains(value), "\(value) leaked") } }
    }

    /// One SOP Instance UID in two files, a JPEG baseline copy found first and the uncompressed original: the
    /// original is kept and the copy is one error row naming both.
    func testOfTwoFilesOfOneImageTheMostFaithfulIsKept() throws {
        try FileManager.default.createDirectory(at: url("dup"), withIntermediateDirectories: true)
        try writeDICOM("dup/a_lossy.dcm", syntax: .jpegBaseline, bits: 8, seed: 1)
        try writeDICOM("dup/b_native.dcm", syntax: .explicitLittleEndian, bits: 8, seed: 2)
        let uid = try XCTUnwrap(try DICOMFile(path: url("dup/a_lossy.dcm").path).string(.sopInstanceUID))
        try tool("/usr/bin/dcmodify", "-nb", "-m", "(0008,0018)=\(uid)", url("dup/b_native.dcm").path)
        try "a-secret-for-tests\n".write(to: url("secret.txt"), atomically: true, encoding: .utf8)
        let yaml = "name: t\nrun_dir: run\nstages:\n  ingest: {kind: ingest, params: {inputs: [dup], secret_file: secret.txt}}\n"
        try yaml.write(to: url("t.yaml"), atomically: true, encoding: .utf8)
        let result = try medad("run", url("t.yaml").path)
        XCTAssertEqual(result.code, 0, result.output)
        XCTAssertEqual(try table("ingest/ingest.csv").map { $0["path"]! }, ["b_native.dcm"])
        let errors = try table("ingest/errors.csv")
        XCTAssertEqual(errors.map { $0["item"]! }, ["a_lossy.dcm"])
        XCTAssertEqual(errors.first?["reason"], "duplicate image id \(uid): b_native.dcm (uncompressed) kept, this file (lossy) left out")
    }

    func testGeneratedSecretIsOwnerOnlyAndIncrementalRerunDecodesOnlyTheChangedFile() throws {
        try writeDICOM("good/a.dcm", syntax: .explicitLittleEndian, seed: 1)
        try writeDICOM("good/b.dcm", syntax: .rle, seed: 2)
        try writeDICOM("good/c.dcm", syntax: .jpegLS, seed: 3)
        let yaml = """
            name: inc
            run_dir: run
            stages:
              ingest: {kind: ingest, params: {inputs: [good]}}
              normalize: {kind: normalize, after: [ingest], params: {size: 16}}
            """
        let manifest = url("inc.yaml").path
        try yaml.write(toFile: manifest, atomically: true, encoding: .utf8)
        let first = try medad("run", manifest)
        XCTAssertEqual(first.code, 0, first.output)
        XCTAssertTrue(first.output.contains("generated a patient-key secret"))
        let secret = try FileManager.default.attributesOfItem(atPath: url("run/secrets/patient-key.secret").path)
        XCTAssertEqual((secret[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        let keys = try table("ingest/ingest.csv").map { $0["patient_key"]! }

        try writeDICOM("good/b.dcm", syntax: .rle, seed: 9)  // new content, same path
        try FileManager.default.removeItem(at: url("good/c.dcm"))
        let second = try medad("run", manifest)
        XCTAssertEqual(second.code, 0, second.output)
        XCTAssertTrue(second.output.contains("2 files: 1 decoded, 1 unchanged and reused, 1 gone since the last run"), second.output)
        XCTAssertTrue(second.output.contains("1 made, 1 unchanged and reused"), second.output)
        XCTAssertFalse(second.output.contains("generated a patient-key secret"), "the secret is generated once")
        let rows = try table("ingest/ingest.csv")
        XCTAssertEqual(rows.map { $0["path"]! }, ["a.dcm", "b.dcm"])
        XCTAssertEqual(rows.map { $0["patient_key"]! }, Array(keys.prefix(2)), "keys stay stable across runs")

        // A file touched but not changed is read again by both stages (ingest reads headers only and keeps no
        // content hash); its content hash in normalize.csv stays.
        let hashBefore = try table("normalize/normalize.csv").map { $0["content_hash"]! }
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: url("good/a.dcm").path)
        let touched = try medad("run", manifest)
        XCTAssertEqual(touched.code, 0, touched.output)
        XCTAssertTrue(touched.output.contains("2 files: 1 decoded, 1 unchanged and reused, 0 gone since the last run"), touched.output)
        XCTAssertTrue(touched.output.contains("1 made, 1 unchanged and reused"), touched.output)
        XCTAssertEqual(try table("normalize/normalize.csv").map { $0["content_hash"]! }, hashBefore)

        // Outputs another medad version wrote (as stage.json says; its fingerprint then differs too) are not reused
        // row by row: their rows may mean something else (0.5.0's ingest.csv held the content hash).
        for stage in ["ingest", "normalize"] {
            let record = url("run/\(stage)/stage.json")
            var old = try JSONSerialization.jsonObject(with: Data(contentsOf: record)) as! [String: Any]
            old["medad_version"] = "0.4.0"
            old["fingerprint"] = "written by 0.4.0"
            try JSONSerialization.data(withJSONObject: old).write(to: record)
        }
        let third = try medad("run", manifest)
        XCTAssertEqual(third.code, 0, third.output)
        XCTAssertTrue(third.output.contains("2 files: 2 decoded, 0 unchanged and reused"), third.output)
        XCTAssertTrue(third.output.contains("2 made, 0 unchanged and reused"), third.output)
    }

    /// Read once for normalize (a frame of more than one 256 KB piece, its high bits set in the file), a native
    /// frame gives what DCMTK's decodeFrame gives, the file's XXH3, the pixel hash of the decoded image and, for
    /// unsigned 16-bit samples, the statistics GreyLevels would take; in every syntax, read straight from the file
    /// or not.
    func testOneReadGivesDCMTKsPixelsTheFileHashThePixelHashAndTheStatistics() throws {
        let (rows, columns) = (401, 399)
        for syntax in [DICOMTransferSyntax.explicitLittleEndian, .implicitLittleEndian, .explicitBigEndian, .rle] {
            for (bits, signed) in [(12, false), (16, false), (12, true), (8, false)] {
                let allocated = bits > 8 ? 16 : 8
                let request = DICOMWriteRequest(
                    attributes: [(.sopClassUID, "1.2.840.10008.5.1.4.1.1.7"), (.sopInstanceUID, "2.25.44")], rows: rows,
                    columns: columns, bitsAllocated: allocated, bitsStored: bits, pixelRepresentation: signed ? 1 : 0,
                    photometric: "MONOCHROME1", pixels: (0..<(rows * columns)).map { UInt16(truncatingIfNeeded: $0 &* 40_503 >> 3) })
                let path = url("\(syntax.rawValue)-\(bits)-\(signed).dcm").path
                try DICOMWriter.write(request, to: path, syntax: syntax)
                let what = "\(syntax.rawValue) \(bits) bits \(signed ? "signed" : "unsigned")"
                if bits < allocated, let offset = try DICOMFile(path: path).nativeFrameOffset(0).offset {
                    let file = try FileHandle(forUpdating: URL(fileURLWithPath: path))
                    try file.seek(toOffset: offset + 1)  // the high byte of the first sample
                    try file.write(contentsOf: [0xF0])
                    try file.close()
                }
                let source = try SourceFile.read(path: path, format: "dicom", frame: 0, wantsVOILUT: false, hashes: FileHashes())
                let expected = try DICOMFile(path: path).decodeFrame()
                XCTAssertTrue(source.image.values == expected.values, "\(what): samples")
                XCTAssertEqual(source.contentHash, try XXH3.hex(ofFile: URL(fileURLWithPath: path)), what)
                XCTAssertEqual(source.pixelHash, PixelHash.of(expected), what)
                if case .uint16(let words) = expected.samples, syntax != .explicitBigEndian, syntax != .rle {
                    XCTAssertEqual(source.stored, StoredStatistics.of(words), what)
                } else {
                    XCTAssertNil(source.stored, what)
                }
            }
        }
    }

    func testCrashingOrHangingDecoderCostsOneErrorRow() throws {
        // A stand-in worker: aborts on "crash", hangs on "hang", answers otherwise.
        let script = url("worker.sh")
        try """
        #!/bin/sh
        while read -r line; do
          case "$line" in
            *crash*) kill -ABRT $$ ;;
            *hang*) exec sleep 30 ;;
            *) echo '{"images":[]}' ;;
          esac
        done
        """.write(to: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        let workers = DecoderWorkers(executable: script, timeout: 0.5)
        func probe(_ path: String) throws -> ProbeResult { try workers.probe(ProbeRequest(path: path, allFrames: false, maxPixels: 1)) }
        XCTAssertNil(try probe("ok").error)
        XCTAssertTrue(try probe("crash").error?.contains("crashed on this file (SIGABRT") == true)
        XCTAssertNil(try probe("ok again").error, "a new worker takes over")
        XCTAssertTrue(try probe("hang").error?.contains("longer than 0 s") == true)
        XCTAssertNil(try probe("ok at last").error)
    }
}
