// MedNN's threads: products (BLAS.swift, DirectConvolution.swift) and element-wise work (BatchNorm, ReLU, Adam) are
// split into one contiguous chunk per thread. A single-threaded loop between two products left one of this
// machine's two cores idle for about half of a training step. The chunks run on OpenMP's threads
// (CMedNNKernels/parallel.c says why not Dispatch's).
import CMedNNKernels
import COpenBLAS

public enum Parallel {
    /// Threads for MedNN's products and loops; OpenBLAS's thread count (OPENBLAS_NUM_THREADS, else the cores)
    /// by default. Set it to 1 when the caller runs several models at once (Dispatch across items: DESIGN.md).
    public static var threads: Int {
        get { configuredThreads }
        set { configuredThreads = max(1, newValue) }
    }

    /// Read once: OpenBLAS's own count, after which OpenBLAS is kept to one thread (BLAS.swift says why) and the
    /// threads it started as it loaded are stopped (COpenBLAS/shim.h). medad reads this first thing.
    nonisolated(unsafe) private static var configuredThreads: Int = {
        let count = max(1, Int(openblas_get_num_threads()))
        openblas_set_num_threads(1)
        med_openblas_stop_threads()
        med_parallel_setup()
        return count
    }()

    /// Calls body once per contiguous chunk of 0..<count, the chunks running concurrently. `work` is the whole
    /// job's size in values touched: below about 32 K a thread hand-off costs more than it saves, so it runs
    /// inline. Chunks depend only on count and the thread count, and each index is handled by exactly one call,
    /// so results do not depend on scheduling.
    public static func chunks(_ count: Int, work: Int, _ body: (Range<Int>) -> Void) {
        let workers = min(threads, count, work / 32_768)
        guard workers > 1 else { if count > 0 { body(0..<count) }; return }
        // med_parallel returns when every chunk is done, and the chunks are disjoint: body is never used after this
        // call nor on one index twice.
        withoutActuallyEscaping(body) { body in
            withUnsafePointer(to: Job(count: count, workers: workers, body: body)) { job in
                med_parallel(
                    Int32(workers),
                    { context, w in
                        let job = context!.assumingMemoryBound(to: Job.self).pointee, w = Int(w)
                        job.body(job.count * w / job.workers..<job.count * (w + 1) / job.workers)
                    }, UnsafeMutableRawPointer(mutating: job))
            }
        }
    }

    /// What each of a region's threads reads to run its chunk.
    private struct Job {
        let count, workers: Int
        let body: (Range<Int>) -> Void
    }

    /// chunks for element-wise loops over count values.
    public static func chunks(_ count: Int, _ body: (Range<Int>) -> Void) { chunks(count, work: count, body) }
}
