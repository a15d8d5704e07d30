// The run directory's layout and the atomic commit of a stage's folder.
//
//   <run>/<stage>/            committed outputs: <stage>.csv, errors.csv, stage.json, artifacts
//   <run>/.staging/           a running stage's folder, swapped into place when it succeeds
//   <run>/.cache/<stage>/     state kept across runs and kills (checkpoints, caches)
//   <run>/run.log, <run>/.lock
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
        if FileManager.default.fileExists(atPath: target.path) {
            guard med_rename_exchange(staging.path, target.path) == 0 else { throw POSIXFailure("exchange \(staging.path) with \(target.path)") }
            try? FileManager.default.removeItem(at: staging)  // now holds the previous outputs
        } else {
            guard rename(staging.path, target.path) == 0 else { throw POSIXFailure("rename \(staging.path) to \(target.path)") }
        }
    }

    /// Removes what killed runs left in the staging area. Only called while holding the lock.
    func removeLeftoverStaging() {
        try? FileManager.default.removeItem(at: stagingRoot)
    }
}
