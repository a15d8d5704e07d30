// layer_agreement: a layer ensemble's AULA (Kushibar et al.) for reconstructions. Layer ensembles measure how
// much consecutive heads agree; for segmentation the agreement is Dice, for reconstructions we define it as
//   Aₕ = 1 − mean over pixels of |x̂ₕ − x̂ₕ₊₁| / 2      (h = 1 … H−1, heads shallowest first)
// (2 is the width of the input range [−1, 1], so Aₕ = 1 for identical heads and 0 for opposite extremes). AULA
// is the area under Aₕ over depth by the trapezoid rule with unit spacing, Σₕ wₕ Aₕ with w = ½, 1, …, 1, ½,
// and the score is −AULA: heads that disagree more are more anomalous. Because the area is linear in the
// per-pixel differences, it is the mean over pixels of the map Σₕ wₕ (|x̂ₕ − x̂ₕ₊₁| / 2 − 1), which is what this
// writes. It needs at least three members ordered by depth (two agreements make an area).
public struct LayerAgreement: MemberScore {
    public init() {}
    public func columns(_ shape: MemberShape) -> [String] { shape.byDepth && shape.members >= 3 ? ["layer_agreement"] : [] }
    public func write(_ pixel: PixelMembers, to out: UnsafeMutableBufferPointer<Double>) {
        let p = pixel.predictions, last = p.count - 2
        var sum = 0.0
        for h in 0...last {
            let weight = h == 0 || h == last ? 0.5 : 1
            sum += weight * (abs(p[h] - p[h + 1]) / 2 - 1)
        }
        out[0] = sum
    }
    public var drawsMap: Bool { true }
    /// ∂/∂x̂ₕ = wₕ sign(x̂ₕ − x̂ₕ₊₁)/2 − wₕ₋₁ sign(x̂ₕ₋₁ − x̂ₕ)/2; the input enters only through the heads.
    public func derivatives(_ pixel: PixelMembers, members: UnsafeMutableBufferPointer<Double>) -> Double? {
        let p = pixel.predictions, last = p.count - 2
        members.update(repeating: 0)
        for h in 0...last {
            let d = (p[h] - p[h + 1]).sign == .minus ? -0.5 : (p[h] == p[h + 1] ? 0 : 0.5)
            let weight = h == 0 || h == last ? 0.5 : 1
            members[h] += weight * d
            members[h + 1] -= weight * d
        }
        return 0
    }
}
