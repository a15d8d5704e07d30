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

    /// Members ordered by depth, shallowest first (a layer ensemble's heads): agreement between neighbours means
    /// something. An ensemble's learners and MC-dropout's passes have no order.
    public let byDepth: Bool
    /// The member that is the method's own single prediction (`rec`): learner 0, or the deepest head.
    public let pointMember: Int
    /// A prediction fused from the members, not itself a member (QDD-Ens's meta-learner; its mean channel),
    /// N·S² values; nil for methods without one.
    public var fused: [Float]?

    public init(
        input: Tensor, reconstructions: [[Float]], logVariances: [[Float]]?, dual: [[Float]], dualPrecision: [[Float]]?,
        byDepth: Bool = false, pointMember: Int = 0
    ) {
        precondition(!reconstructions.isEmpty && dual.count == reconstructions.count, "a member set needs members")
        precondition(reconstructions.indices.contains(pointMember))
        (self.input, self.reconstructions, self.logVariances, self.dual, self.dualPrecision) =
            (input, reconstructions, logVariances, dual, dualPrecision)
        (self.byDepth, self.pointMember) = (byDepth, pointMember)
    }

    /// What decides which score columns apply.
    public var shape: MemberShape { MemberShape(members: members, hasVariance: hasVariance, byDepth: byDepth, hasFused: fused != nil) }

    public var members: Int { reconstructions.count }
    public var images: Int { input.shape[0] }
    public var plane: Int { input.shape[2] * input.shape[3] }
    /// Whether the members predict a variance (the AE-U forms of the scores apply).
    public var hasVariance: Bool { logVariances != nil }
}

/// The shape of a member set, as far as the score columns depend on it.
public struct MemberShape: Equatable, Sendable {
    public let members: Int
    public let hasVariance: Bool
    public let byDepth: Bool
    /// Whether a fused prediction comes with the members (meta_rec).
    public let hasFused: Bool
    public init(members: Int, hasVariance: Bool, byDepth: Bool = false, hasFused: Bool = false) {
        (self.members, self.hasVariance, self.byDepth, self.hasFused) = (members, hasVariance, byDepth, hasFused)
    }

    /// Whether the members can disagree: the spread scores (ens_std, dsu and their AE-U forms) need two or more,
    /// and are left out for a single network (adversarial training's default), where they would be 0 everywhere.
    public var hasSpread: Bool { members >= 2 }
}
