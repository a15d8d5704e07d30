// The one door to OpenBLAS: row-major single-precision matrix products.
import COpenBLAS

enum BLAS {
    /// C[m×n] = alpha · op(A) · op(B) + beta · C, row-major; op transposes when asked.
    /// A is m×k (k×m when transposed), B is k×n (n×k when transposed).
    static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                     a: UnsafePointer<Float>, b: UnsafePointer<Float>, beta: Float = 0, c: UnsafeMutablePointer<Float>) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(transA ? m : k), b, Int32(transB ? k : n), beta, c, Int32(n))
    }
}
