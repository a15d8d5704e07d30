// rec_k: each member alone, (x̂ₖ − x)².
public struct MemberReconstruction: MemberScore {
    public init() {}
    public func columns(members: Int, hasVariance: Bool) -> [String] { (0..<members).map { "rec_\($0)" } }
    public func values(at pixel: PixelMembers) -> [Double] {
        pixel.predictions.map { ($0 - pixel.target) * ($0 - pixel.target) }
    }
}
