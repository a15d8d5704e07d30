// dsu: dual-space uncertainty, std_k(dₖ) with dₖ = |x̂ₖ − x| ⊙ ∂Lₖ/∂x and Lₖ = mean|x̂ₖ − x| (D2UE).
public struct DualSpaceUncertainty: MemberScore {
    public init() {}
    public func columns(_ shape: MemberShape) -> [String] { shape.hasSpread ? ["dsu"] : [] }
    public func write(_ pixel: PixelMembers, to out: UnsafeMutableBufferPointer<Double>) {
        out[0] = unbiasedVariance(pixel.dual).squareRoot()
    }
    public var drawsMap: Bool { true }
}
