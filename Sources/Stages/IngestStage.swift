// ingest: finds DICOM, PNG and JPEG files (by content), checks that every image decodes, and writes one row
// per image with its header and a pseudonymous patient key. Incremental: unchanged files are not decoded again.
import Crypto
import Foundation
import MedImage
import Pipeline
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

public struct IngestStage: Stage {
    public static let kind = "ingest"
    public static let shardable = true
    public static let summary =
        "DICOM, PNG and JPEG files found by content, decoded in isolated workers, one row per image with a pseudonymous patient key"
    struct Settings {
        var inputs: [URL]?
        var include = ["*"]
        var exclude = ["*.csv", "*.json", "*.txt", "*.md"]
        var frames = "first"
        var maxPixels = 100_000_000
        var secretFile: URL?
        var secretEnv: String?
        var keepPatientIDs = false
        var followSymlinks = false
        var decodeTimeout = 120.0
    }
    static let settings: [Setting<Settings>] = [
        .paths("inputs", \.inputs, "folders to walk recursively (default: the dicom/ folder of an upstream synthesize stage)"),
        .strings(
            "include", \.include,
            "glob patterns a file must match (a pattern with '/' matches the path below the input folder, otherwise the file name)"),
        .strings("exclude", \.exclude, "glob patterns of files to skip (hidden files are always skipped)"),
        .choice("frames", \.frames, ["first", "all"], "multi-frame files: the first frame, or every frame as its own image"),
        .int("max_pixels", \.maxPixels, 1...2_000_000_000, "images with more samples than this are errors"),
        .path("secret_file", \.secretFile, "file holding the secret for patient keys"),
        .optionalString("secret_env", \.secretEnv, "environment variable holding the secret for patient keys"),
        .bool("keep_patient_ids", \.keepPatientIDs, "also write raw Patient IDs (a warning is logged)"),
        .bool(
            "follow_symlinks", \.followSymlinks,
            "follow symbolic links that stay inside the input folders (loops are detected); otherwise each link is an error row"),
        .double("decode_timeout", \.decodeTimeout, 0.1...86_400, "seconds one file may take to decode before its worker is killed"),
    ]
    public static let parameters = settings.specs(defaults: Settings())

    public static let columns =
        ["image_id", "frame", "input_dir", "path", "size", "mtime_ns"]
        + ImageProbe.headerColumns + ["patient_key", "patient_id", "id_check"]
    static let keyIDFile = "patient_key_id.txt"
    static let generatedSecret = "secrets/patient-key.secret"

    let settings: Settings

    public init(parameters: Parameters) throws {
        settings = Self.settings.apply(parameters, to: Settings())
        if settings.secretFile != nil && settings.secretEnv != nil {
            throw ParameterError(key: "secret_env", "give secret_file or secret_env, not both")
        }
        if let name = settings.secretEnv, ProcessInfo.processInfo.environment[name]?.isEmpty ?? true {
            throw ParameterError(key: "secret_env", "environment variable \(name) is not set or empty")
        }
    }

    public func inputFiles() throws -> [URL] { (settings.inputs ?? []) + (settings.secretFile.map { [$0] } ?? []) }

    /// A secret from the environment enters the fingerprint by its key id, never by its value.
    public func fingerprintSalt() throws -> String {
        guard let name = settings.secretEnv, let value = ProcessInfo.processInfo.environment[name] else { return "" }
        return Self.keyID(Data(value.utf8))
    }

    static func keyID(_ secret: Data) -> String {
        hex(HMAC<SHA256>.authenticationCode(for: Data("medad patient key id".utf8), using: SymmetricKey(data: secret))).prefix(16)
            .description
    }

    /// A file's size and modification time (ns) as ingest.csv records them; normalize checks them again.
    static func identity(_ path: String) throws -> (size: String, mtime: String) {
        let file: FileIdentity
        do { file = try FileIdentity(path: path) } catch { throw ImageError("unreadable file: \(error)") }
        return (String(file.size), String(file.modifiedNanoseconds))
    }

    static func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 { bytes.map { String(format: "%02x", $0) }.joined() }

    /// A file found under an input folder.
    struct Found {
        let root: URL
        let relative: String
        var id: String { "\(root.path)/\(relative)" }
    }

    public func run(in context: StageContext) throws -> StageOutcome {
        let roots = try inputRoots(context)
        let secret = try loadSecret(context)
        let keyID = Self.keyID(secret)
        let key = SymmetricKey(data: secret)
        let keepIDs = settings.keepPatientIDs
        if keepIDs { context.warn("keep_patient_ids is on: raw Patient IDs are written to ingest.csv") }

        var files: [Found] = []
        for root in roots {
            let (found, problems) = try walk(root, allRoots: roots)
            files += found
            for problem in problems { context.recordError(item: problem.item, reason: problem.reason) }
        }
        let previous = previousRows(context, keyID: keyID)
        let workers = try DecoderWorkers(timeout: settings.decodeTimeout)
        let (allFrames, maxPixels) = (settings.frames == "all", settings.maxPixels)
        let request = { (path: String) in ProbeRequest(path: path, allFrames: allFrames, maxPixels: maxPixels) }
        let counter = Counter()
        let results = context.forEachItem(files, id: \.relative) { file -> [[String: String]] in
            let url = file.root.appendingPathComponent(file.relative)
            let (size, mtime) = try Self.identity(url.path)
            // A file is read again when its size or modification time changed. Its content is hashed by normalize,
            // which reads it anyway (SourceFile): ingest reads no more of a file than its checks need.
            if let old = previous[file.id], old[0]["size"] == size && old[0]["mtime_ns"] == mtime {
                counter.add(reused: 1)
                return old
            }
            let result = try workers.probe(request(url.path))
            counter.add(decoded: 1)
            if let error = result.error { throw ImageError(error) }
            return result.images.map { image in
                var row = image.fields
                row["image_id"] = image.imageID
                row["frame"] = String(image.frame)
                row["input_dir"] = file.root.path
                row["path"] = file.relative
                row["size"] = size
                row["mtime_ns"] = mtime
                if let raw = image.rawPatientID {
                    row["patient_key"] = Self.hex(HMAC<SHA256>.authenticationCode(for: Data(raw.utf8), using: key)).prefix(32).description
                    if keepIDs { row["patient_id"] = raw }
                }
                return row
            }
        }
        // One row per image id: of several files with one id (the same image sent twice, once compressed; a
        // clashing file stem) the most faithful is kept (ImageFidelity; among equals the first found), and each
        // other is an error row naming both.
        var order: [String] = []
        var candidates: [String: [(file: String, image: [String: String])]] = [:]
        for (file, images) in zip(files, results) {
            for image in images ?? [] {
                let id = image["image_id"] ?? ""
                if candidates[id] == nil { order.append(id) }
                candidates[id, default: []].append((file.relative, image))
            }
        }
        func fidelity(_ image: [String: String]) -> ImageFidelity {
            ImageFidelity(format: image["format"] ?? "", transferSyntax: image["transfer_syntax_uid"] ?? "")
        }
        var rows: [[String]] = []
        for id in order {
            let group = candidates[id]!
            let kept = group.indices.min { fidelity(group[$0].image) < fidelity(group[$1].image) }!
            rows.append(Self.columns.map { group[kept].image[$0] ?? "" })
            for (index, other) in group.enumerated() where index != kept {
                context.recordError(
                    item: other.file,
                    reason:
                        "duplicate image id \(id): \(group[kept].file) (\(fidelity(group[kept].image).words)) kept, this file (\(fidelity(other.image).words)) left out"
                )
            }
        }
        try context.writeCSV("ingest.csv", header: Self.columns, rows: rows)
        try AtomicFile.write(Data((keyID + "\n").utf8), to: context.outputDirectory.appendingPathComponent(Self.keyIDFile))
        let removed = Set(previous.keys).subtracting(files.map(\.id)).count
        context.log(
            "\(files.count) files: \(counter.decoded) decoded, \(counter.reused) unchanged and reused, \(removed) gone since the last run; \(rows.count) images"
        )
        return StageOutcome(rows: rows.count, items: files.count)
    }

    func inputRoots(_ context: StageContext) throws -> [URL] {
        if let inputs = settings.inputs {
            for root in inputs {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                    throw StageFailure("input folder \(root.path) does not exist")
                }
            }
            return inputs
        }
        guard context.upstreamKinds.values.contains(SynthesizeStage.kind) else {
            throw StageFailure("ingest needs 'inputs' (folders to walk), or an upstream synthesize stage in its 'after'")
        }
        return [try context.upstream(ofKind: SynthesizeStage.kind).appendingPathComponent("dicom")]
    }

    /// The secret behind patient keys: from a file, the environment, or generated once in the run directory.
    func loadSecret(_ context: StageContext) throws -> Data {
        if let file = settings.secretFile {
            let data = try Data(contentsOf: file)
            let trimmed = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else { throw StageFailure("secret_file \(file.path) is empty") }
            return Data(trimmed.utf8)
        }
        if let name = settings.secretEnv {
            guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
                throw StageFailure("environment variable \(name) is not set or empty")
            }
            return Data(value.utf8)
        }
        let url = context.runDirectory.appendingPathComponent(Self.generatedSecret)
        if let data = try? Data(contentsOf: url), !data.isEmpty { return data }
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = generator.next() }
        let secret = Data(Self.hex(bytes).utf8)
        try AtomicFile.write(secret, to: url, permissions: 0o600)
        context.log(
            "no secret_file or secret_env given: generated a patient-key secret in \(url.path) (owner-only); keep it to keep patient keys stable"
        )
        return secret
    }

    /// Files below `root` that pass the include and exclude patterns, in path order, and the entries that could
    /// not be taken (each becomes an error row): symbolic links unless `follow_symlinks`, links that leave the
    /// input folders or loop, unreadable folders. Hidden files and folders are skipped.
    func walk(_ root: URL, allRoots: [URL]) throws -> (found: [Found], problems: [(item: String, reason: String)]) {
        let (include, exclude, follow) = (settings.include, settings.exclude, settings.followSymlinks)
        func matches(_ patterns: [String], _ relative: String) -> Bool {
            let name = (relative as NSString).lastPathComponent
            return patterns.contains { fnmatch($0, $0.contains("/") ? relative : name, 0) == 0 }
        }
        let insideRoots = allRoots.map { $0.resolvingSymlinksInPath().standardizedFileURL.path }
        func isInside(_ path: String) -> Bool { insideRoots.contains { path == $0 || path.hasPrefix($0 + "/") } }
        var found: [Found] = []
        var problems: [(item: String, reason: String)] = []
        var visited = Set<[UInt64]>()  // (device, inode) of every folder entered: a link back up is a loop
        func identity(_ path: String) -> [UInt64]? {
            var info = stat()
            return stat(path, &info) == 0 ? [UInt64(info.st_dev), UInt64(info.st_ino)] : nil
        }
        func visit(_ folder: URL, _ relative: String) {
            guard let id = identity(folder.path), visited.insert(id).inserted else {
                problems.append((relative, "symbolic link loop: this folder was already walked; not followed again"))
                return
            }
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: folder.path) } catch {
                problems.append((relative.isEmpty ? root.path : relative, "cannot read folder: \(FileProblem.describe(error))"))
                return
            }
            for name in names.sorted() where !name.hasPrefix(".") {
                let url = folder.appendingPathComponent(name)
                let path = relative.isEmpty ? name : relative + "/" + name
                var info = stat()
                guard lstat(url.path, &info) == 0 else { continue }
                var type = info.st_mode & S_IFMT
                if type == S_IFLNK {
                    if matches(exclude, path) { continue }  // a link the patterns leave out is not reported
                    guard follow else {
                        problems.append(
                            (path, "symbolic link, not followed (follow_symlinks: true follows links that stay inside the input folders)"))
                        continue
                    }
                    let target = url.resolvingSymlinksInPath().standardizedFileURL.path
                    guard stat(url.path, &info) == 0 else {
                        problems.append((path, "symbolic link to a missing target, or a loop of links"))
                        continue
                    }
                    guard isInside(target) else {
                        problems.append((path, "symbolic link to \(target), outside the input folders; not followed"))
                        continue
                    }
                    type = info.st_mode & S_IFMT
                }
                if type == S_IFDIR {
                    visit(url, path)
                } else if type == S_IFREG, matches(include, path), !matches(exclude, path) {
                    found.append(Found(root: root, relative: path))
                }
            }
        }
        visit(root, "")
        return (found.sorted { $0.relative < $1.relative }, problems)
    }

    /// The rows of the last run (and of the shard parts being joined) by file, from those whose patient keys came
    /// from the same secret; the first folder that has a file's rows wins.
    func previousRows(_ context: StageContext, keyID: String) -> [String: [[String: String]]] {
        var rows: [String: [[String: String]]] = [:]
        for folder in context.reusableOutputDirectories {
            guard let oldKey = try? String(contentsOf: folder.appendingPathComponent(Self.keyIDFile), encoding: .utf8),
                oldKey.trimmingCharacters(in: .whitespacesAndNewlines) == keyID,
                let table = try? CSV.read(folder.appendingPathComponent("ingest.csv")), table.header == Self.columns
            else { continue }
            var found: [String: [[String: String]]] = [:]
            for row in table.rows { found["\(row["input_dir"]!)/\(row["path"]!)", default: []].append(row) }
            rows.merge(found) { first, _ in first }
        }
        return rows
    }
}

/// Counts shared by the item workers.
final class Counter: Sendable {
    private let counts = Mutex((decoded: 0, reused: 0))
    var decoded: Int { counts.withLock { $0.decoded } }
    var reused: Int { counts.withLock { $0.reused } }
    func add(decoded d: Int = 0, reused r: Int = 0) {
        counts.withLock {
            $0.decoded += d
            $0.reused += r
        }
    }
}
