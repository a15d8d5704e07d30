// ens_rec: the members' mean reconstruction against the input, (x − mean_k x̂ₖ)².
public struct EnsembleReconstruction: MemberScore {
    public init() {}
    public func columns(_ shape: MemberShape) -> [String] { ["ens_rec"] }
    public func write(_ pixel: PixelMembers, to out: UnsafeMutableBufferPointer<Double>) {
        out[0] = (pixel.target - pixel.average) * (pixel.target - pixel.average)
    }
    public var drawsMap: Bool { true }
}
