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
        LayerAgreement(),
        MetaReconstruction(),
    ]

    /// Every column for a member set of this shape, in order.
    public static func columns(_ shape: MemberShape) -> [String] {
        all.flatMap { $0.columns(shape) }
    }

    /// The single-column scores whose maps the gallery shows.
    public static var mapped: [String] { all.filter(\.drawsMap).flatMap { $0.columns(widest) } }

    /// The score plug-in that writes the mapped column `name`.
    public static func mapping(_ name: String) -> (any MemberScore)? {
        all.first { $0.drawsMap && $0.columns(widest) == [name] }
    }

    /// A member-set shape every single-column score applies to.
    static let widest = MemberShape(members: 3, hasVariance: false, byDepth: true, hasFused: true)
}
