// The one door to OpenBLAS: row-major single-precision matrix products. OpenBLAS runs single-threaded and
// MedNN splits each large product across Parallel.threads itself: OpenBLAS's own workers spin (sched_yield)
// for a long while after every product and took a core from MedNN's element-wise loops between products,
// which made training steps 30% slower and bimodal from run to run.
import COpenBLAS

enum BLAS {
    /// C[m×n] = alpha · op(A) · op(B) + beta · C, row-major; op transposes when asked.
    /// A is m×k (k×m when transposed), B is k×n (n×k when transposed).
    static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                     a: UnsafePointer<Float>, b: UnsafePointer<Float>, beta: Float = 0, c: UnsafeMutablePointer<Float>) {
        let lda = transA ? m : k, ldb = transB ? k : n
        // Split the output into blocks of whole rows or whole columns (each value is one worker's, with the
        // full sum over k, so the result does not depend on scheduling); small products stay whole.
        let workers = min(Parallel.threads, max(m, n) / 16, m * n * k / 1_000_000)
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
                    product(transA, transB, end - start, n, k, alpha, transA ? a + start : a + start * lda, lda, b, ldb, beta, c + start * n, n)
                }
            }
        }
    }

    private static func product(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                                _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                                _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
