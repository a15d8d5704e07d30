import XCTest

// BLAS.gemm splits large products across threads by rows, by columns or by the summed dimension; every split
// must give the plain product. Checked against a naive triple loop in double, transposes and beta included.
@testable import MedNN

final class BLASTests: XCTestCase {
    func naive(
        _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ a: [Float], _ b: [Float], _ beta: Float, _ c: [Float]
    ) -> [Float] {
        (0..<m * n).map { index in
            let i = index / n, j = index % n
            var sum = 0.0
            for p in 0..<k { sum += Double(transA ? a[p * m + i] : a[i * k + p]) * Double(transB ? b[j * k + p] : b[p * n + j]) }
            return Float(sum) + beta * c[index]
        }
    }

    func testEverySplitEqualsThePlainProduct() {
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        var random = UniformInit(seed: 5)
        // (m, n, k): split by columns, by rows, by the sum (small result, long k), and unsplit.
        for (m, n, k) in [(24, 1_000, 96), (1_000, 40, 64), (16, 16, 20_000), (5, 7, 3)] {
            for (transA, transB) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = random.uniform(m * k, bound: 1), b = random.uniform(k * n, bound: 1), c0 = random.uniform(m * n, bound: 1)
                for beta: Float in [0, 1] {
                    let expected = naive(transA, transB, m, n, k, a, b, beta, c0)
                    for threads in [1, 2, 3] {
                        Parallel.threads = threads
                        var c = c0
                        BLAS.gemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a, b: b, beta: beta, c: &c)
                        let error = zip(c, expected).map { abs($0 - $1) / max(1, abs($1)) }.max()!
                        XCTAssertLessThan(
                            error, 1e-4, "m \(m) n \(n) k \(k) transA \(transA) transB \(transB) beta \(beta) threads \(threads)")
                    }
                }
            }
        }
    }

    /// DirectProduct (Linear's forward) against the naive product in double: sums across 256-product blocks, rows
    /// past the kernel's blocks of 4, samples past its vectors of 16, storing and adding, one to three threads; and
    /// the same values whatever the thread count.
    func testDirectProductEqualsThePlainProduct() {
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        var random = UniformInit(seed: 8)
        for (o, k, n) in [(40, 1_030, 64), (18, 600, 37), (3, 5, 2), (7, 256, 16)] {
            let a = random.uniform(o * k, bound: 1), x = random.uniform(k * n, bound: 1), y0 = random.uniform(o * n, bound: 1)
            for accumulate in [false, true] {
                let expected = naive(false, false, o, n, k, a, x, accumulate ? 1 : 0, y0)
                var results: [[Float]] = []
                for threads in [1, 2, 3] {
                    Parallel.threads = threads
                    var y = y0
                    DirectProduct.multiply(outputs: o, inner: k, samples: n, a: a, x: x, accumulate: accumulate, into: &y)
                    let error = zip(y, expected).map { abs($0 - $1) / max(1, abs($1)) }.max()!
                    XCTAssertLessThan(error, 1e-4, "o \(o) k \(k) n \(n) accumulate \(accumulate) threads \(threads)")
                    results.append(y)
                }
                XCTAssertEqual(results[0], results[1], "o \(o) k \(k) n \(n): 1 and 2 threads")
                XCTAssertEqual(results[0], results[2], "o \(o) k \(k) n \(n): 1 and 3 threads")
            }
        }
    }
}

final class LayoutTests: XCTestCase {
    /// batchLast moves the batch index last, value by value, on shapes with and without ragged 16 × 16 edges (the
    /// kernel's blocks), small ones and the threaded path.
    func testBatchLastAndBatchFirstAreExactInverses() {
        var random = UniformInit(seed: 6)
        for shape in [[13, 11], [64, 1, 8, 8], [5, 3, 7, 9], [1, 4], [9, 1], [37, 3, 7, 5], [64, 4096], [70, 4100]] {
            let x = Tensor(shape: shape, data: random.uniform(shape.reduce(1, *), bound: 1))
            let last = x.batchLast()
            let n = shape[0], rest = x.count / n
            XCTAssertEqual(last.shape, Array(shape.dropFirst()) + [n])
            var expected = [Float](repeating: 0, count: x.count)
            for i in 0..<n { for j in 0..<rest { expected[j * n + i] = x.data[i * rest + j] } }
            XCTAssertEqual(last.data, expected, "\(shape)")
            XCTAssertEqual(last.batchFirst(), x, "\(shape)")
        }
    }
}
