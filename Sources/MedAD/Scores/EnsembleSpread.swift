// ens_std: output-space uncertainty, the members' unbiased standard deviation std_k(x̂ₖ).
public struct EnsembleSpread: MemberScore {
    public init() {}
    public func columns(_ shape: MemberShape) -> [String] { shape.hasSpread ? ["ens_std"] : [] }
    public func write(_ pixel: PixelMembers, to out: UnsafeMutableBufferPointer<Double>) { out[0] = pixel.spread.squareRoot() }
    public var drawsMap: Bool { true }
}
