// The process's peak resident memory (Linux: VmHWM in /proc/self/status), and its reset (writing 5 to
// /proc/self/clear_refs, Linux 4.0+), so that a stage that runs alone can record its own peak in stage.json.
// Child processes (ingest's decoder workers) are not included. Nil where the kernel offers neither.
import Foundation

public enum PeakMemory {
    /// Starts a new peak from the current resident size; false where the kernel does not allow it.
    @discardableResult
    public static func reset() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        return (try? handle.write(contentsOf: Data("5".utf8))) != nil
    }

    /// The peak resident memory since the start or the last reset, in MiB.
    public static func megabytes() -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kilobytes = line.split(separator: " ").compactMap({ Double($0) }).first
        else { return nil }
        return kilobytes / 1024
    }
}
