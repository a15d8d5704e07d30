// Linear CKA between two learners' features (D2UE's repulsion), with its gradient. For X [n, p] and Y [n, q]
// (rows = the batch's samples, flattened): K = XXᵀ, L = YYᵀ, Kc = HKH, Lc = HLH with H = I − 11ᵀ/n,
// HSIC(K, L) = Σ Kc ∘ Lc, CKA = HSIC(K, L) / max(√HSIC(K, K) · √HSIC(L, L), 1e-8).
// Since H is symmetric and idempotent, ∂HSIC(K, L)/∂X = 2 Lc X and ∂HSIC(K, K)/∂X = 4 Kc X, so
// ∂CKA/∂X = (2 Lc X − (2a/b) Kc X) / √(bc) with a = HSIC(K, L), b = HSIC(K, K), c = HSIC(L, L).
import Foundation

public enum LinearCKA {
    public struct Result {
        public var value: Double
        public var dX: Tensor
        public var dY: Tensor
    }

    public static func compute(_ x: Tensor, _ y: Tensor) -> Result {
        let n = x.shape[0]
        precondition(y.shape[0] == n, "CKA: \(n) samples against \(y.shape[0])")
        let p = x.count / n, q = y.count / n
        let kc = centredGram(x.data, n: n, width: p), lc = centredGram(y.data, n: n, width: q)
        let a = dot(kc, lc), b = dot(kc, kc), c = dot(lc, lc)
        let denominator = (b.squareRoot() * c.squareRoot())
        guard denominator > 1e-8 else {
            // The floor is active: CKA = a / 1e-8, whose gradient only has the numerator's part.
            return Result(
                value: a / 1e-8, dX: scaled(product(lc, x.data, n: n, width: p), 2 / 1e-8, shape: x.shape),
                dY: scaled(product(kc, y.data, n: n, width: q), 2 / 1e-8, shape: y.shape))
        }
        let lcX = product(lc, x.data, n: n, width: p), kcX = product(kc, x.data, n: n, width: p)
        let kcY = product(kc, y.data, n: n, width: q), lcY = product(lc, y.data, n: n, width: q)
        var dX = Tensor(zeros: x.shape), dY = Tensor(zeros: y.shape)
        for i in dX.data.indices { dX.data[i] = Float((2 * lcX[i] - 2 * a / b * kcX[i]) / denominator) }
        for i in dY.data.indices { dY.data[i] = Float((2 * kcY[i] - 2 * a / c * lcY[i]) / denominator) }
        return Result(value: a / denominator, dX: dX, dY: dY)
    }

    /// H (X Xᵀ) H, n × n, in double: the centring subtracts large, nearly equal numbers.
    static func centredGram(_ x: [Float], n: Int, width: Int) -> [Double] {
        var gram = [Float](repeating: 0, count: n * n)
        BLAS.gemm(transB: true, m: n, n: n, k: width, a: x, b: x, c: &gram)
        let k = gram.map(Double.init)
        var rowMeans = [Double](repeating: 0, count: n)
        for i in 0..<n { for j in 0..<n { rowMeans[i] += k[i * n + j] }; rowMeans[i] /= Double(n) }
        let grand = rowMeans.reduce(0, +) / Double(n)
        var centred = k
        for i in 0..<n { for j in 0..<n { centred[i * n + j] = k[i * n + j] - rowMeans[i] - rowMeans[j] + grand } }
        return centred
    }

    static func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).map(*).reduce(0, +) }

    /// M [n, n] · X [n, width], in double.
    static func product(_ m: [Double], _ x: [Float], n: Int, width: Int) -> [Double] {
        var out = [Double](repeating: 0, count: n * width)
        for i in 0..<n {
            for k in 0..<n {
                let w = m[i * n + k]
                if w == 0 { continue }
                for j in 0..<width { out[i * width + j] += w * Double(x[k * width + j]) }
            }
        }
        return out
    }

    static func scaled(_ v: [Double], _ factor: Double, shape: [Int]) -> Tensor {
        Tensor(shape: shape, data: v.map { Float($0 * factor) })
    }
}
