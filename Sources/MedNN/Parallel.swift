// Element-wise work (im2col, col2im, BatchNorm, ReLU, Adam) split across the same threads OpenBLAS uses for
// the products. Between two products OpenBLAS's workers only yield, so a single-threaded loop left one of
// this machine's two cores idle for about half of a training step.
import COpenBLAS
import Dispatch

public enum Parallel {
    /// Threads for both OpenBLAS and MedNN's own loops. Set it to 1 when the caller runs several models at once
    /// (Dispatch across items, OpenBLAS at one thread: DESIGN.md's rule).
    public static var threads: Int {
        get { max(1, Int(openblas_get_num_threads())) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// Calls body once per contiguous chunk of 0..<count, the chunks running concurrently. `work` is the whole
    /// job's size in values touched: below about 32 K a thread hand-off costs more than it saves, so it runs
    /// inline. Chunks depend only on count and the thread count, and each index is handled by exactly one call,
    /// so results do not depend on scheduling.
    public static func chunks(_ count: Int, work: Int, _ body: (Range<Int>) -> Void) {
        let workers = min(threads, count, work / 32_768)
        guard workers > 1 else { if count > 0 { body(0..<count) }; return }
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            body(count * w / workers..<count * (w + 1) / workers)
        }
    }

    /// chunks for element-wise loops over count values.
    public static func chunks(_ count: Int, _ body: (Range<Int>) -> Void) { chunks(count, work: count, body) }
}
