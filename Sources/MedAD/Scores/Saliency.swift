// Saliency: the gradient of an image's anomaly score with respect to the input image, what the Medical-Robust-
// Training readers rated. score = mean over pixels of the map m(x̂₁ … x̂_M, x), so
//   ∂score/∂x = Σₖ Jₖᵀ (∂m/∂x̂ₖ / P) + ∂m/∂x / P,
// each member's vector-Jacobian product Jₖᵀ taken by running its pass again and back-propagating (MemberPass).
// Scores whose map reads input gradients themselves (dsu) have no saliency here: that needs second derivatives.
import MedNN

public enum Saliency {
    /// ∂score/∂x for every image of `set` ([N·S²], the set's order); nil when the score gives no derivatives.
    /// `pass(k)` runs member k on the set's input again.
    public static func inputGradient(
        of score: any MemberScore, set: MemberSet, pass: (Int) throws -> MemberPass
    ) throws -> [Float]? {
        let members = set.members, count = set.images * set.plane
        var byMember = [[Float]](repeating: [Float](repeating: 0, count: count), count: members)
        var gradient = [Float](repeating: 0, count: count)
        var slot = [Double](repeating: 0, count: members)
        let scale = 1 / Double(set.plane)
        for p in 0..<count {
            let direct = slot.withUnsafeMutableBufferPointer { score.derivatives(PixelMembers(set, pixel: p), members: $0) }
            guard let direct else { return nil }
            gradient[p] = Float(direct * scale)
            for k in 0..<members { byMember[k][p] = Float(slot[k] * scale) }
        }
        let shape = set.input.shape
        for k in 0..<members {
            let member = try pass(k)
            var dOutput = Tensor(shape: shape, data: byMember[k])
            if member.output.shape[1] == 2 { dOutput = OutputChannels.withZeroLogVarianceGradient(dOutput) }
            let dx = member.backward(dOutput)
            member.done()
            for i in 0..<count { gradient[i] += dx.data[i] }
        }
        return gradient
    }
}
