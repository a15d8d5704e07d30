// QDD-Ens's deep diversity term for K learners' features at one level (a block output), with its gradient:
//   D = mean over pairs i < j of √(‖fᵢ − fⱼ‖₂ + 1e-8),
// ‖·‖₂ the Euclidean norm of the whole difference (every sample and value of the batch). The training loss
// subtracts α · Σ over levels of D, pushing the learners' features apart. With dᵢⱼ = ‖fᵢ − fⱼ‖₂ and P pairs,
//   ∂D/∂fᵢ = (1/P) Σ_{j≠i} (fᵢ − fⱼ) / (2 √(dᵢⱼ + 1e-8) · dᵢⱼ),
// taken as 0 for a pair whose features are equal (dᵢⱼ = 0, where the norm has no gradient).
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
        var gradients = [[Double]](repeating: [Double](repeating: 0, count: count), count: k)
        var value = 0.0
        for i in 0..<k {
            for j in i + 1..<k {
                var squared = 0.0
                for v in 0..<count {
                    let d = Double(features[i].data[v]) - Double(features[j].data[v])
                    squared += d * d
                }
                let norm = squared.squareRoot(), root = (norm + 1e-8).squareRoot()
                value += root / pairs
                guard norm > 0 else { continue }
                let scale = 1 / (2 * root * norm * pairs)
                for v in 0..<count {
                    let d = (Double(features[i].data[v]) - Double(features[j].data[v])) * scale
                    gradients[i][v] += d
                    gradients[j][v] -= d
                }
            }
        }
        return Result(
            value: value, gradients: gradients.map { Tensor(shape: features[0].shape, data: $0.map(Float.init)) })
    }
}
