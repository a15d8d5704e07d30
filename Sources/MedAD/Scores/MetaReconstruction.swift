// meta_rec: QDD-Ens's own prediction, the meta-learner's reconstruction from the learners' fused features,
// (x̂_meta − x)². Written only for member sets that carry a fused prediction. Its saliency would run back through
// the meta-learner and every learner's encoder; the gallery shows its map without one.
public struct MetaReconstruction: MemberScore {
    public init() {}
    public func columns(_ shape: MemberShape) -> [String] { shape.hasFused ? ["meta_rec"] : [] }
    public func write(_ pixel: PixelMembers, to out: UnsafeMutableBufferPointer<Double>) {
        let e = pixel.fused! - pixel.target
        out[0] = e * e
    }
    public var drawsMap: Bool { true }
}
