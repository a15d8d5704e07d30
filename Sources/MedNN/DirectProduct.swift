// Dense products of batch-last activations, y (+)= A·X with A [O, K] row-major and X [K, N] (row k: the N
// samples of feature k), through the convolutions' gathered kernel with row pointer k at X's row k. Linear's
// forward runs this way: the kernel reads the weights in place, where OpenBLAS's sgemm packed the AE's two 8 MB
// weight matrices into a copy at every product (Linear enc0 at 2 threads: 1.51 → 1.29–1.35 ms). Its data
// gradient stays with OpenBLAS: the transposed weights this kernel would need cost more to write than the
// packing they save (1.68 → 1.82–1.93 ms). Sums over k go in blocks of 256 products, each block's sum added to y
// in order, as a blocked sgemm adds its panels, rather than in one chain of up to 2,048.
import CMedNNKernels

enum DirectProduct {
    /// Products summed in one chain before they are added to y.
    static let block = 256

    /// y [O, N] = A·X, or y += A·X with `accumulate`. Threads take y's rows in blocks of 4 (the kernel's), and
    /// each value is summed in the same order whatever the split.
    static func multiply(
        outputs o: Int, inner k: Int, samples n: Int, a: UnsafePointer<Float>, x: UnsafePointer<Float>, accumulate: Bool,
        into y: UnsafeMutablePointer<Float>
    ) {
        let rows: [UnsafePointer<Float>?] = (0..<k).map { x + $0 * n }
        let origin = [0]
        rows.withUnsafeBufferPointer { rows in
            Parallel.chunks((o + 3) / 4, work: o * k * n) { blocks in
                let first = 4 * blocks.lowerBound, count = min(4 * blocks.upperBound, o) - first
                for start in stride(from: 0, to: k, by: block) {
                    med_gather_gemm(
                        count, min(block, k - start), n, a + first * k + start, k, rows.baseAddress! + start, origin, 1,
                        accumulate || start > 0 ? 1 : 0, y + first * n, n)
                }
            }
        }
    }
}
