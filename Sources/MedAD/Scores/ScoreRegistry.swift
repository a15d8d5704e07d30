// The scores the score stage computes, in column order. A new score is one file and one line here.
public enum ScoreRegistry {
    public static let all: [any MemberScore] = [
        MemberReconstruction(),
        SingleModelReconstruction(),
        EnsembleReconstruction(),
        EnsembleSpread(),
        DualSpaceUncertainty(),
        PrecisionEnsembleReconstruction(),
        PrecisionEnsembleSpread(),
        PrecisionDualSpaceUncertainty(),
    ]

    /// Every column for a member set of this shape, in order.
    public static func columns(members: Int, hasVariance: Bool) -> [String] {
        all.flatMap { $0.columns(members: members, hasVariance: hasVariance) }
    }

    /// The single-column scores whose maps the gallery shows.
    public static var mapped: [String] {
        all.filter(\.drawsMap).flatMap { $0.columns(members: 1, hasVariance: false) }
    }
}
