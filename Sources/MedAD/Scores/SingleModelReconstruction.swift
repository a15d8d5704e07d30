// rec: the single-model baseline, member 0 alone, (x̂₀ − x)².
public struct SingleModelReconstruction: MemberScore {
    public init() {}
    public func columns(members: Int, hasVariance: Bool) -> [String] { ["rec"] }
    public func write(_ pixel: PixelMembers, to out: UnsafeMutableBufferPointer<Double>) {
        out[0] = (pixel.predictions[0] - pixel.target) * (pixel.predictions[0] - pixel.target)
    }
    public var drawsMap: Bool { true }
}
