// The one door to OpenBLAS: row-major single-precision matrix products. OpenBLAS runs single-threaded and
// MedNN splits each large product across Parallel.threads itself: OpenBLAS's own workers spin (sched_yield)
// for a long while after every product and took a core from MedNN's element-wise loops between products,
// which made training steps 30% slower and bimodal from run to run.
import COpenBLAS

enum BLAS {
    /// C[m×n] = alpha · op(A) · op(B) + beta · C, row-major; op transposes when asked.
    /// A is m×k (k×m when transposed), B is k×n (n×k when transposed).
    static func gemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, b: UnsafePointer<Float>, beta: Float = 0, c: UnsafeMutablePointer<Float>
    ) {
        let lda = transA ? m : k, ldb = transB ? k : n
        // Split the output into blocks of whole rows or whole columns (each value is one worker's, with the
        // full sum over k, so the result does not depend on scheduling); small products stay whole.
        let workers = min(Parallel.threads, max(m, n) / 16, m * n * k / 1_000_000)
        if workers <= 1, m * n <= 4_096, k >= 16_384, Parallel.threads > 1 {
            // A small result over a long sum (the 1-channel layers' weight gradients): split the sum instead.
            splitSum(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c)
            return
        }
        guard workers > 1 else {
            product(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, n)
            return
        }
        let splitColumns = n >= m
        let length = splitColumns ? n : m
        Parallel.chunks(workers, work: Int.max) { range in
            for w in range {
                // Block edges on multiples of 16 keep the kernels on full vector widths.
                let start = (length * w / workers) & ~15, end = w == workers - 1 ? length : (length * (w + 1) / workers) & ~15
                guard end > start else { continue }
                if splitColumns {
                    product(transA, transB, m, end - start, k, alpha, a, lda, transB ? b + start * ldb : b + start, ldb, beta, c + start, n)
                } else {
                    product(
                        transA, transB, end - start, n, k, alpha, transA ? a + start : a + start * lda, lda, b, ldb, beta, c + start * n, n)
                }
            }
        }
    }

    /// C = alpha · Σ_w op(A)_w op(B)_w + beta · C over contiguous slices w of the k dimension, one per thread;
    /// the partial results are added in slice order, so the sum is the same on every run.
    private static func splitSum(
        _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>
    ) {
        let workers = Parallel.threads
        var partials = [Float](repeating: 0, count: workers * m * n)
        partials.withUnsafeMutableBufferPointer { partials in
            Parallel.chunks(workers, work: Int.max) { range in
                for w in range {
                    let start = k * w / workers, end = k * (w + 1) / workers
                    // Slice w of op(A) is columns start..<end: A's columns if plain, its rows if transposed.
                    let aSlice = transA ? a + start * lda : a + start, bSlice = transB ? b + start : b + start * ldb
                    product(transA, transB, m, n, end - start, alpha, aSlice, lda, bSlice, ldb, 0, partials.baseAddress! + w * m * n, n)
                }
            }
            for i in 0..<m * n {
                var sum = beta == 0 ? 0 : beta * c[i]
                for w in 0..<workers { sum += partials[w * m * n + i] }
                c[i] = sum
            }
        }
    }

    private static func product(
        _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
