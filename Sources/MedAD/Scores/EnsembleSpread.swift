// ens_std: output-space uncertainty, the members' unbiased standard deviation std_k(x̂ₖ).
public struct EnsembleSpread: MemberScore {
    public init() {}
    public func columns(_ shape: MemberShape) -> [String] { shape.hasSpread ? ["ens_std"] : [] }
    public func write(_ pixel: PixelMembers, to out: UnsafeMutableBufferPointer<Double>) { out[0] = pixel.spread.squareRoot() }
    public var drawsMap: Bool { true }
    /// ∂σ/∂x̂ₖ = (x̂ₖ − x̄) / ((M − 1) σ), 0 where σ = 0; the input enters only through the members.
    public func derivatives(_ pixel: PixelMembers, members: UnsafeMutableBufferPointer<Double>) -> Double? {
        let sigma = pixel.spread.squareRoot(), m = Double(members.count)
        for k in members.indices { members[k] = sigma > 0 ? (pixel.predictions[k] - pixel.average) / ((m - 1) * sigma) : 0 }
        return 0
    }
}
