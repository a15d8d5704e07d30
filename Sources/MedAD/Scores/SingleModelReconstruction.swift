// rec: the single-model baseline, the method's own prediction alone (learner 0; a layer ensemble's deepest head),
// (x̂ − x)².
public struct SingleModelReconstruction: MemberScore {
    public init() {}
    public func columns(_ shape: MemberShape) -> [String] { ["rec"] }
    public func write(_ pixel: PixelMembers, to out: UnsafeMutableBufferPointer<Double>) {
        out[0] = (pixel.point - pixel.target) * (pixel.point - pixel.target)
    }
    public var drawsMap: Bool { true }
    public func derivatives(_ pixel: PixelMembers, members: UnsafeMutableBufferPointer<Double>) -> Double? {
        let e = pixel.point - pixel.target
        members.update(repeating: 0)
        members[pixel.pointMember] = 2 * e
        return -2 * e
    }
}
