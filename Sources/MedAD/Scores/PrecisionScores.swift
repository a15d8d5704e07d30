// The AE-U forms (members that predict a log-variance sₖ; σ̄² = mean_k exp(sₖ)): each divides its ensemble
// score by the mean predicted variance. They apply only to member sets with variances.
//   ens_rec_u  (x − mean_k x̂ₖ)² / σ̄²
//   ens_std_u  √(var_k x̂ₖ / σ̄²)
//   dsu_u      std_k(dₖ / σ̄), dₖ from Lₖ = mean(exp(−sₖ)(x − x̂ₖ)²)
public struct PrecisionEnsembleReconstruction: MemberScore {
    public init() {}
    public func columns(_ shape: MemberShape) -> [String] { shape.hasVariance ? ["ens_rec_u"] : [] }
    public func write(_ pixel: PixelMembers, to out: UnsafeMutableBufferPointer<Double>) {
        out[0] = (pixel.target - pixel.average) * (pixel.target - pixel.average) / pixel.meanVariance!
    }
}

public struct PrecisionEnsembleSpread: MemberScore {
    public init() {}
    public func columns(_ shape: MemberShape) -> [String] { shape.hasVariance && shape.hasSpread ? ["ens_std_u"] : [] }
    public func write(_ pixel: PixelMembers, to out: UnsafeMutableBufferPointer<Double>) {
        out[0] = (pixel.spread / pixel.meanVariance!).squareRoot()
    }
}

public struct PrecisionDualSpaceUncertainty: MemberScore {
    public init() {}
    public func columns(_ shape: MemberShape) -> [String] { shape.hasVariance && shape.hasSpread ? ["dsu_u"] : [] }
    public func write(_ pixel: PixelMembers, to out: UnsafeMutableBufferPointer<Double>) {
        let sigma = pixel.meanVariance!.squareRoot()
        out[0] = unbiasedVariance(pixel.dualPrecision!.map { $0 / sigma }).squareRoot()
    }
}
