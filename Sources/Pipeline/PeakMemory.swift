import CPlatform
// The process's peak resident memory (Linux: VmHWM in /proc/self/status), and its reset (writing 5 to
// /proc/self/clear_refs, Linux 4.0+), so that a stage that runs alone can record its own peak in stage.json.
// Child processes (ingest's decoder workers) are not included. Nil where the kernel offers neither.
import Foundation

public enum PeakMemory {
    /// Starts a new peak from the current resident size; false where the kernel does not allow it.
    @discardableResult
    public static func reset() -> Bool {
        // Memory an earlier stage freed but malloc kept would count as this stage's: hand it back first.
        med_release_free_memory()
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        return (try? handle.write(contentsOf: Data("5".utf8))) != nil
    }

    /// The process's malloc policy; call once, at start.
    /// - One arena for every thread: with one per thread, memory freed on one thread was kept for that thread
    ///   alone, and the demo's training peaked at 422 MB instead of 394 MB at the same speed (measured
    ///   2026-11-25 with GLIBC_TUNABLES=glibc.malloc.arena_max=1).
    /// - Large blocks from the heap, and the heap kept, not trimmed, between frees (reset() trims): glibc maps
    ///   every block over 32 MB afresh and unmaps it on free, so each training step at 256×256 paid for clearing
    ///   and faulting in its im2col columns again, 28% of the step (perf); 16.0 → 31.7 img/s, with the same peak
    ///   for D2UE at 64×64 (305 MB; bench/nn_vs_pytorch.py, 2026-12-04).
    public static func configureMalloc() { med_malloc_policy() }

    /// The peak resident memory since the start or the last reset, in MiB.
    public static func megabytes() -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kilobytes = line.split(separator: " ").compactMap({ Double($0) }).first
        else { return nil }
        return kilobytes / 1024
    }
}
