// rec_k: each member alone, (x̂ₖ − x)².
public struct MemberReconstruction: MemberScore {
    public init() {}
    public func columns(_ shape: MemberShape) -> [String] { (0..<shape.members).map { "rec_\($0)" } }
    public func write(_ pixel: PixelMembers, to out: UnsafeMutableBufferPointer<Double>) {
        for (k, prediction) in pixel.predictions.enumerated() { out[k] = (prediction - pixel.target) * (prediction - pixel.target) }
    }
}
