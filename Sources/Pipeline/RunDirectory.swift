// The run directory's layout and the atomic commit of a stage's folder.
//
//   <run>/<stage>/            committed outputs: <stage>.csv, errors.csv, stage.json, artifacts
//   <run>/.staging/           a running stage's folder, swapped into place when it succeeds
//   <run>/.cache/<stage>/     state kept across runs and kills (checkpoints, caches)
//   <run>/.shards/<stage>/    shard parts of a per-item stage, until `--join` assembles them
//   <run>/run.log, <run>/.lock, <run>/.locks/<stage>.lock, <run>/.medad-run (the marker that says medad made this folder)
//   <run>/slurm/              `medad slurm submit`'s scripts, logs and jobs.json
//
// A run directory is medad's own: a run never takes over a folder medad did not create, and never swaps its
// output in for a folder it did not write (a user's data named like a stage would otherwise be gone).
import CPlatform
import Foundation

public struct RunDirectory: Sendable {
    public let root: URL

    public init(_ root: URL) { self.root = root }

    public func stageDirectory(_ stage: String) -> URL { root.appendingPathComponent(stage, isDirectory: true) }
    public func recordURL(_ stage: String) -> URL { stageDirectory(stage).appendingPathComponent("stage.json") }
    public func record(_ stage: String) -> StageRecord? { StageRecord.read(recordURL(stage)) }
    public func cacheDirectory(_ stage: String) -> URL { root.appendingPathComponent(".cache/\(stage)", isDirectory: true) }
    public var stagingRoot: URL { root.appendingPathComponent(".staging", isDirectory: true) }
    public var logURL: URL { root.appendingPathComponent("run.log") }
    public var lockURL: URL { root.appendingPathComponent(".lock") }
    /// Held by a run of named stages (`--stage`) for each of its stages, beside .lock held shared.
    public func stageLockURL(_ stage: String) -> URL { root.appendingPathComponent(".locks/\(stage).lock") }
    /// A stage's shard parts: <run>/.shards/<stage>/<fingerprint>/<i>-of-<N>/ (Shard.swift).
    public func shardsDirectory(_ stage: String) -> URL { root.appendingPathComponent(".shards/\(stage)", isDirectory: true) }
    public func partDirectory(_ stage: String, fingerprint: String, shard: Shard) -> URL {
        shardsDirectory(stage).appendingPathComponent("\(fingerprint.prefix(16))/\(shard.folderName)", isDirectory: true)
    }
    /// sbatch scripts, their logs (logs/) and what was submitted (jobs.json).
    public var slurmDirectory: URL { root.appendingPathComponent("slurm", isDirectory: true) }
    public var markerURL: URL { root.appendingPathComponent(Self.marker) }

    static let marker = ".medad-run"
    /// Folders of the run directory that are not stages (ingest's generated secret lives in secrets/).
    public static let reservedNames: Set<String> = ["secrets", "slurm"]
    /// Folders no run directory may be: the system's and the user's home.
    static let systemFolders: Set<String> = [
        "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/media", "/mnt", "/opt", "/proc",
        "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/usr/bin", "/usr/lib", "/usr/local", "/usr/share",
        "/var", "/var/lib", "/var/log", "/var/tmp",
    ]

    /// Why `url` cannot be a run directory, or nil: a system folder or the home folder, a file, a folder below
    /// a file, or a non-empty folder without medad's marker (older run directories are known by their .lock).
    public static func problem(_ url: URL) -> String? {
        let path = url.standardizedFileURL.path
        let resolved = url.resolvingSymlinksInPath().standardizedFileURL.path
        let home = FileManager.default.homeDirectoryForCurrentUser.standardizedFileURL.path
        if systemFolders.contains(path) || systemFolders.contains(resolved) || path == home || resolved == home {
            return "'\(path)' is a system or home folder; give a folder of its own, for example runs/<name>"
        }
        var ancestor = url.standardizedFileURL
        while ancestor.path != "/" {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: ancestor.path, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else {
                    return ancestor == url.standardizedFileURL
                        ? "'\(path)' is a file, not a folder"
                        : "'\(path)' cannot be created: '\(ancestor.path)' is a file"
                }
                break
            }
            ancestor = ancestor.deletingLastPathComponent()
        }
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: path), !entries.isEmpty else { return nil }
        if entries.contains(marker) || entries.contains(".lock") { return nil }
        return
            "'\(path)' is a folder medad did not create (it holds files and no \(marker) marker); medad would write into it and replace folders named like its stages: give a new or empty folder"
    }

    /// Creates the folder (or checks it is medad's) and writes the marker.
    func claim() throws {
        if let problem = Self.problem(root) { throw RunDirectoryError(description: problem) }
        do {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            if !FileManager.default.fileExists(atPath: markerURL.path) {
                try AtomicFile.write(Data("medad run directory\n".utf8), to: markerURL)
            }
        } catch {
            throw RunDirectoryError(description: "cannot create the run directory \(root.path): \(FileProblem.describe(error))")
        }
    }

    /// A fresh, empty folder for a stage to write into.
    func makeStaging(_ stage: String) throws -> URL {
        let url = stagingRoot.appendingPathComponent("\(stage).\(getpid()).\(UInt32.random(in: 0...UInt32.max))", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Puts a finished staging folder in the stage's place in one atomic step: the old folder and the
    /// new one are exchanged (renameat2), so a kill at any moment leaves one complete version.
    func commit(staging: URL, stage: String) throws {
        let target = stageDirectory(stage)
        var status = stat()
        if lstat(target.path, &status) == 0 {
            // Only a folder medad committed (it has stage.json) is replaced; anything else is the user's.
            guard status.st_mode & S_IFMT == S_IFDIR, FileManager.default.fileExists(atPath: recordURL(stage).path) else {
                throw RunDirectoryError(
                    description:
                        "refused to replace \(target.path): medad did not write it (no stage.json); move it away or rename the stage")
            }
            guard med_rename_exchange(staging.path, target.path) == 0 else {
                throw POSIXFailure("exchange \(staging.path) with \(target.path)")
            }
            try? FileManager.default.removeItem(at: staging)  // now holds the previous outputs
        } else {
            guard rename(staging.path, target.path) == 0 else { throw POSIXFailure("rename \(staging.path) to \(target.path)") }
        }
    }

    /// Puts a finished shard part in its place in one step (a part that was there, from an earlier try, is replaced).
    func commitPart(staging: URL, stage: String, fingerprint: String, shard: Shard) throws {
        let target = partDirectory(stage, fingerprint: fingerprint, shard: shard)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        if FileManager.default.fileExists(atPath: target.path) {
            guard med_rename_exchange(staging.path, target.path) == 0 else {
                throw POSIXFailure("exchange \(staging.path) with \(target.path)")
            }
            try? FileManager.default.removeItem(at: staging)
        } else {
            guard rename(staging.path, target.path) == 0 else { throw POSIXFailure("rename \(staging.path) to \(target.path)") }
        }
    }

    /// The committed parts of a stage for `fingerprint` out of `count`, and the shards that have none.
    public func parts(_ stage: String, fingerprint: String, count: Int) -> (present: [URL], missing: [Shard]) {
        var present: [URL] = [], missing: [Shard] = []
        for index in 0..<count {
            let shard = Shard(index: index, count: count)
            let part = partDirectory(stage, fingerprint: fingerprint, shard: shard)
            if FileManager.default.fileExists(atPath: part.appendingPathComponent("stage.json").path) {
                present.append(part)
            } else {
                missing.append(shard)
            }
        }
        return (present, missing)
    }

    /// Removes what killed runs left in the staging area: all of it (a whole run, holding .lock exclusively) or that
    /// of the named stages (a run of those stages, holding their stage locks).
    func removeLeftoverStaging(of stages: [String]? = nil) {
        guard let stages else {
            try? FileManager.default.removeItem(at: stagingRoot)
            return
        }
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: stagingRoot.path)) ?? []
        where stages.contains(where: { entry.hasPrefix("\($0).") }) {
            try? FileManager.default.removeItem(at: stagingRoot.appendingPathComponent(entry))
        }
    }
}

/// A run directory that cannot be used, with the reason.
public struct RunDirectoryError: Error, CustomStringConvertible {
    public let description: String
}
