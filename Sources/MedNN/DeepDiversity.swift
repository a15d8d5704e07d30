// QDD-Ens's deep diversity term for K learners' features at one level (a block output), with its gradient:
//   D = mean over pairs i < j of √(‖fᵢ − fⱼ‖₂ + 1e-8),
// ‖·‖₂ the Euclidean norm of the whole difference (every sample and value of the batch). The training loss
// subtracts α · Σ over levels of D, pushing the learners' features apart. With dᵢⱼ = ‖fᵢ − fⱼ‖₂ and P pairs,
//   ∂D/∂fᵢ = (1/P) Σ_{j≠i} (fᵢ − fⱼ) / (2 √(dᵢⱼ + 1e-8) · dᵢⱼ),
// taken as 0 for a pair whose features are equal (dᵢⱼ = 0, where the norm has no gradient). D is a function of
// the values alone, not of their layout: the features may come in any order, as long as all come in the same.
import Foundation

public enum DeepDiversity {
    public struct Result {
        public var value: Double
        /// ∂D/∂fₖ for each learner, shaped as its features.
        public var gradients: [Tensor]
    }

    public static func compute(_ features: [Tensor]) -> Result {
        let k = features.count
        precondition(k >= 2, "diversity needs two learners or more")
        precondition(features.allSatisfy { $0.shape == features[0].shape }, "diversity: features of different shapes")
        let count = features[0].count, pairs = Double(k * (k - 1) / 2)
        var gradients = features.map { [Float](repeating: 0, count: $0.count) }
        var value = 0.0
        for i in 0..<k {
            for j in i + 1..<k {
                // The squared norm in double, 8 lanes at a time (a scalar running sum is one long dependency chain).
                let squared = features[i].data.withUnsafeBufferPointer { a in
                    features[j].data.withUnsafeBufferPointer { b in
                        var lanes = SIMD8<Double>(), v = 0
                        while v + 8 <= count {
                            let d =
                                UnsafeRawPointer(a.baseAddress! + v).loadUnaligned(as: SIMD8<Float>.self)
                                - UnsafeRawPointer(b.baseAddress! + v).loadUnaligned(as: SIMD8<Float>.self)
                            let wide = SIMD8<Double>(
                                Double(d[0]), Double(d[1]), Double(d[2]), Double(d[3]), Double(d[4]), Double(d[5]), Double(d[6]),
                                Double(d[7]))
                            lanes += wide * wide
                            v += 8
                        }
                        var sum = lanes.sum()
                        while v < count { let d = Double(a[v] - b[v]); sum += d * d; v += 1 }
                        return sum
                    }
                }
                let norm = squared.squareRoot(), root = (norm + 1e-8).squareRoot()
                value += root / pairs
                guard norm > 0 else { continue }
                let scale = Float(1 / (2 * root * norm * pairs))
                var (gi, gj) = (gradients[i], gradients[j])
                (gradients[i], gradients[j]) = ([], [])
                features[i].data.withUnsafeBufferPointer { a in
                    features[j].data.withUnsafeBufferPointer { b in
                        gi.withUnsafeMutableBufferPointer { gi in
                            gj.withUnsafeMutableBufferPointer { gj in
                                for v in 0..<count {
                                    let d = (a[v] - b[v]) * scale
                                    gi[v] += d
                                    gj[v] -= d
                                }
                            }
                        }
                    }
                }
                (gradients[i], gradients[j]) = (gi, gj)
            }
        }
        return Result(value: value, gradients: zip(features, gradients).map { Tensor(shape: $0.shape, data: $1) })
    }
}
