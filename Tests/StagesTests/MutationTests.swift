// Property-style: valid files of every format and transfer syntax, mutated with a fixed seed (truncation, byte
// flips, zeroed and random runs in the pixel data, header edits through DCMTK's dcmodify), then ingested and
// normalized. Whatever the damage: no crash, exactly one row per file, nothing outside the run directory, peak
// memory under a bound; a truncated file or one whose pixel module was edited to disagree with its data never
// becomes an image (for JPEG baseline, whose stream header only ingest reads: never becomes a PNG). Damage inside the pixel data of a stream without a checksum can decode to other valid pixels;
// those are counted and printed, not asserted.
import Foundation
import MedImage
import MedNN
import Pipeline
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

final class MutationTests: XCTestCase, MedadCLI {
    var folder: URL!
    let testsRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("mutation-\(UUID())")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("bases"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("in"), withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func url(_ relative: String) -> URL { folder.appendingPathComponent(relative) }

    /// Valid inputs: medad's writer in every syntax it writes, and fixtures of what it cannot write.
    func writeBases() throws -> [String] {
        var names: [String] = []
        for (index, syntax) in DICOMTransferSyntax.allCases.enumerated() where syntax != .deflated {
            let bits = syntax == .jpegBaseline ? 8 : 12
            let pixels = (0..<4096).map { UInt16(($0 * 7 + ($0 / 64) * 13 + index * 5) % (1 << bits)) }
            let request = DICOMWriteRequest(
                attributes: [(.sopInstanceUID, "2.25.77.\(index)"), (.sopClassUID, "1.2.840.10008.5.1.4.1.1.1.1"), (.modality, "DX")],
                rows: 64, columns: 64, bitsAllocated: bits > 8 ? 16 : 8, bitsStored: bits, pixelRepresentation: 0,
                photometric: "MONOCHROME2", pixels: pixels)
            let name = "\(syntax.rawValue).dcm"
            try DICOMWriter.write(request, to: url("bases/\(name)").path, syntax: syntax)
            names.append(name)
        }
        let fixtures = [
            ("MedImageTests/Fixtures/j2k_lossless.dcm", "j2k.dcm"), ("StagesTests/Fixtures/hostile/control_png.png", "plain.png"),
            ("StagesTests/Fixtures/hostile/control_jpg.jpg", "plain.jpg"), ("StagesTests/Fixtures/hostile/control_j2k.j2k", "plain.j2k"),
        ]
        for (source, name) in fixtures {
            try FileManager.default.copyItem(at: testsRoot.appendingPathComponent(source), to: url("bases/\(name)"))
            names.append(name)
        }
        return names
    }

    enum Kind: String { case truncated, flipped, zeroed, random, header }

    func dcmodify(_ path: String, _ edit: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/dcmodify")
        process.arguments = ["-nb", "-i", edit, path]  // -i inserts the tag where it is missing
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
    }

    /// The mutants of every base, by file name, with their kind.
    func mutate(_ bases: [String]) throws -> [String: Kind] {
        var generator = SeededGenerator(seed: 11)
        var kinds: [String: Kind] = [:]
        func random(_ bound: Int) -> Int { Int(generator.next() % UInt64(bound)) }
        for base in bases {
            let bytes = [UInt8](try Data(contentsOf: url("bases/\(base)")))
            func save(_ data: [UInt8], _ tag: String, _ kind: Kind) throws {
                let name = "\(tag)__\(base)"
                try Data(data).write(to: url("in/\(name)"))
                kinds[name] = kind
            }
            for fraction in [0.5, 0.9] {
                try save(Array(bytes.prefix(Int(Double(bytes.count) * fraction))), "cut\(Int(fraction * 100))", .truncated)
            }
            try save(Array(bytes.dropLast(2)), "cutlast", .truncated)
            // Pixel data is the file's tail: damage lands in the last 40%.
            let tail = bytes.count * 6 / 10
            for variant in 0..<3 {
                var flipped = bytes
                for _ in 0..<8 { flipped[tail + random(bytes.count - tail)] ^= UInt8(1 << random(8)) }
                try save(flipped, "flip\(variant)", .flipped)
            }
            var zeroed = bytes, noisy = bytes
            let start = tail + random(max(bytes.count - tail - 64, 1))
            for i in start..<min(start + 64, bytes.count) {
                zeroed[i] = 0
                noisy[i] = UInt8(truncatingIfNeeded: generator.next())
            }
            try save(zeroed, "zero", .zeroed)
            try save(noisy, "noise", .random)
            guard base.hasSuffix(".dcm") else { continue }
            for (tag, edit) in [
                ("rows", "(0028,0010)=65"), ("columns", "(0028,0011)=63"), ("stored", "(0028,0101)=17"),
                ("highbit", "(0028,0102)=3"), ("pixrep", "(0028,0103)=2"), ("frames", "(0028,0008)=3"),
                ("photometric", "(0028,0004)=XYZ"), ("samples", "(0028,0002)=3"),
            ] {
                let name = "\(tag)__\(base)"
                try FileManager.default.copyItem(at: url("bases/\(base)"), to: url("in/\(name)"))
                try dcmodify(url("in/\(name)").path, edit)
                kinds[name] = .header
            }
        }
        return kinds
    }

    func testMutatedFilesGiveOneRowEachNoCrashNoEscapeAndBoundedMemory() throws {
        let kinds = try mutate(try writeBases())
        try "mutation-secret\n".write(to: url("secret.txt"), atomically: true, encoding: .utf8)
        try """
        name: m
        run_dir: run
        stages:
          ingest: {kind: ingest, params: {inputs: [in], secret_file: secret.txt, decode_timeout: 20}}
          normalize: {kind: normalize, after: [ingest], params: {size: 16}}
        """.write(to: url("m.yaml"), atomically: true, encoding: .utf8)
        let result = try medad("run", url("m.yaml").path)
        XCTAssertEqual(result.code, 0, result.output)
        var usage = rusage()
        getrusage(RUSAGE_CHILDREN.rawValue, &usage)
        let peakMB = Double(usage.ru_maxrss) / 1024  // the largest of medad and its decoder workers (and earlier children)

        let images = Dictionary(grouping: try CSV.read(url("run/ingest/ingest.csv")).rows, by: { $0["path"]! })
        let errors = Dictionary(grouping: try CSV.read(url("run/ingest/errors.csv")).rows, by: { $0["item"]! })
        let pngs = Set(try CSV.read(url("run/normalize/normalize.csv")).rows.map { $0["image_id"]! })
        let normalizeErrors = Dictionary(grouping: try CSV.read(url("run/normalize/errors.csv")).rows, by: { $0["item"]! })
        var unlike = 0
        for (name, kind) in kinds.sorted(by: { $0.key < $1.key }) {
            XCTAssertEqual((images[name]?.count ?? 0) + (errors[name]?.count ?? 0), 1, "\(name): one row, image or error")
            guard let image = images[name]?.first else { continue }
            let id = image["image_id"]!
            XCTAssertEqual((pngs.contains(id) ? 1 : 0) + (normalizeErrors[id]?.count ?? 0), 1, "\(name): one normalize row, PNG or error")
            // Of JPEG baseline (a plain file, or grey in DICOM) ingest reads the stream's header only: damage in its
            // coded data is normalize's to find.
            let headerOnly = image["format"] == "jpeg" || image["transfer_syntax_uid"] == DICOMTransferSyntax.jpegBaseline.uid
            if headerOnly && !pngs.contains(id) { continue }
            XCTAssertNotEqual(kind, .truncated, "\(name): a truncated file became an image")
            if kind == .header {
                let same = try pixels(url("in/\(name)")) == pixels(url("bases/\(name.components(separatedBy: "__")[1])"))
                XCTAssertTrue(same, "\(name): an edited pixel module was accepted with other pixels")
            } else if try pixels(url("in/\(name)")) != pixels(url("bases/\(name.components(separatedBy: "__")[1])")) {
                unlike += 1
            }
        }
        XCTAssertLessThan(peakMB, 512, "peak resident memory")
        let outside = (FileManager.default.enumerator(atPath: folder.path)?.allObjects as? [String] ?? [])
            .filter { !$0.hasPrefix("run") && !$0.hasPrefix("in") && !$0.hasPrefix("bases") }
        XCTAssertEqual(outside.sorted(), ["m.yaml", "secret.txt"])
        let imageCount = images.values.map(\.count).reduce(0, +)
        print(
            String(
                format:
                    "mutation: %d files, %d ingest errors, %d images, %d normalize errors (%d decode to pixels unlike their original: damage a stream without a checksum cannot show), peak RSS %.0f MB",
                kinds.count, errors.values.map(\.count).reduce(0, +), imageCount, normalizeErrors.count, unlike, peakMB))
    }

    /// A file's decoded first frame, as ingest's decoders see it.
    func pixels(_ file: URL) throws -> [Int32] {
        if file.pathExtension == "dcm" { return try DICOMFile(path: file.path).decodeFrame().values }
        let data = [UInt8](try Data(contentsOf: file))
        switch file.pathExtension {
        case "png": return try PNGCodec.read(path: file.path).values
        case "jpg": return try JPEGCodec.decode(data).values
        default: return try JPEG2000Codec.decode(data).values
        }
    }
}
