// The shape every uncertainty method shares at scoring (DESIGN.md section 5): for each image of a batch, a set of
// M predictions, the members (an ensemble's learners, MC-dropout's passes, a layer ensemble's heads), with what
// the scores read from them. Scores are functions of this set and the input, whatever the method.
import MedNN

public struct MemberSet: Sendable {
    /// The batch, [N, 1, S, S].
    public let input: Tensor
    /// Each member's reconstruction (AE-U: its mean channel), N·S² values in the input's order.
    public let reconstructions: [[Float]]
    /// AE-U: each member's predicted log-variance sₖ; nil for single-channel backbones.
    public let logVariances: [[Float]]?
    /// dₖ = |x̂ₖ − x| ⊙ ∂Lₖ/∂x per member, Lₖ = mean over the image's pixels of |x̂ₖ − x| (dual-space uncertainty).
    public let dual: [[Float]]
    /// AE-U: dₖ with Lₖ = mean(exp(−sₖ)(x − x̂ₖ)²) instead.
    public let dualPrecision: [[Float]]?

    public init(input: Tensor, reconstructions: [[Float]], logVariances: [[Float]]?, dual: [[Float]], dualPrecision: [[Float]]?) {
        precondition(!reconstructions.isEmpty && dual.count == reconstructions.count, "a member set needs members")
        (self.input, self.reconstructions, self.logVariances, self.dual, self.dualPrecision) =
            (input, reconstructions, logVariances, dual, dualPrecision)
    }

    public var members: Int { reconstructions.count }
    public var images: Int { input.shape[0] }
    public var plane: Int { input.shape[2] * input.shape[3] }
    /// Whether the members predict a variance (the AE-U forms of the scores apply).
    public var hasVariance: Bool { logVariances != nil }
}
