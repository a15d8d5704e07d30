// ens_rec: the members' mean reconstruction against the input, (x − mean_k x̂ₖ)².
public struct EnsembleReconstruction: MemberScore {
    public init() {}
    public func columns(_ shape: MemberShape) -> [String] { ["ens_rec"] }
    public func write(_ pixel: PixelMembers, to out: UnsafeMutableBufferPointer<Double>) {
        out[0] = (pixel.target - pixel.average) * (pixel.target - pixel.average)
    }
    public var drawsMap: Bool { true }
    /// ∂/∂x̂ₖ = −2(x − x̄)/M, ∂/∂x = 2(x − x̄).
    public func derivatives(_ pixel: PixelMembers, members: UnsafeMutableBufferPointer<Double>) -> Double? {
        let e = pixel.target - pixel.average
        members.update(repeating: -2 * e / Double(members.count))
        return 2 * e
    }
}
