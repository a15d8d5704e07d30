// One run at a time per run directory: an flock on <run>/.lock. The kernel drops the lock when its
// holder dies (even by SIGKILL), so a stale lock is simply taken over; the file says who held it.
// A run of named stages (`--stage`, as every Slurm task runs) holds <run>/.lock shared and its own stages'
// <run>/.locks/<stage>.lock exclusively: tasks of different stages run side by side, never beside a whole run,
// and never two of one stage.
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

public struct LockHeldError: Error, CustomStringConvertible {
    public let path: String
    public let holder: String
    public var description: String {
        "another medad run holds \(path) (\(holder.isEmpty ? "holder unknown" : holder)); wait for it to finish"
    }
}

public final class RunLock: Sendable {
    private let fd: Int32
    private let released = Mutex(false)
    /// Who held the lock before, when it was left by a process that is gone.
    public let takenOverFrom: String?

    private let shared: Bool

    /// Takes the lock without waiting; throws LockHeldError naming the holder if a live process has it. A shared
    /// lock may be held by several processes at once and leaves the holder's note alone.
    public init(_ url: URL, shared: Bool = false) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        fd = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw POSIXFailure("open \(url.path)") }
        self.shared = shared
        let previous = Self.readAll(fd)
        guard flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0 else {
            close(fd)
            throw LockHeldError(path: url.path, holder: previous)
        }
        guard !shared else {
            takenOverFrom = nil
            return
        }
        takenOverFrom = previous.isEmpty ? nil : previous
        let formatter = ISO8601DateFormatter()
        let me = "pid \(getpid()), started \(formatter.string(from: Date())), host \(ProcessInfo.processInfo.hostName)"
        _ = ftruncate(fd, 0)
        _ = me.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    /// Releases the lock and clears the holder's note, so the next run does not report a takeover.
    /// Idempotent: a stop signal may release it while the run's own cleanup does too.
    public func release() {
        released.withLock { done in
            guard !done else { return }
            done = true
            if !shared { _ = ftruncate(fd, 0) }
            flock(fd, LOCK_UN)
            close(fd)
        }
    }

    private static func readAll(_ fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = pread(fd, &buffer, buffer.count, 0)
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
    }
}
