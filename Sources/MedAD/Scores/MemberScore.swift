// A score plug-in (DESIGN.md section 5): a per-pixel map computed from the member set and the input, averaged
import Foundation

// over the image's pixels to one number per column. One file per score, one line in ScoreRegistry.
public protocol MemberScore: Sendable {
    /// The columns it writes for `members` predictions: one name, one per member (rec_k), or none when it does
    /// not apply (the AE-U forms without predicted variances).
    func columns(_ shape: MemberShape) -> [String]
    /// Writes the map's value at one pixel into `out`, one per column (no allocation: the scorer calls this for
    /// every pixel of every image).
    func write(_ pixel: PixelMembers, to out: UnsafeMutableBufferPointer<Double>)
    /// Whether the score stage's gallery shows its map (single-column scores only).
    var drawsMap: Bool { get }
    /// For saliency: the map's derivative at this pixel with respect to each member's reconstruction (written into
    /// `members`) and with respect to the input directly (returned); nil for a score whose map is not a function
    /// of the reconstructions and the input alone (dsu reads input gradients).
    func derivatives(_ pixel: PixelMembers, members: UnsafeMutableBufferPointer<Double>) -> Double?
}

extension MemberScore {
    public var drawsMap: Bool { false }
    public func derivatives(_ pixel: PixelMembers, members: UnsafeMutableBufferPointer<Double>) -> Double? { nil }
}

/// The members at one pixel of one image, with what several scores share, computed once.
public struct PixelMembers {
    /// The input x.
    public let target: Double
    /// Each member's reconstruction x̂ₖ.
    public let predictions: [Double]
    /// mean_k x̂ₖ.
    public let average: Double
    /// The method's own single prediction (MemberSet.pointMember), and which member it is.
    public let point: Double
    public let pointMember: Int
    /// The fused prediction (MemberSet.fused), nil without one.
    public let fused: Double?
    /// var_k x̂ₖ, unbiased.
    public let spread: Double
    /// dₖ of every member (MemberSet.dual).
    public let dual: [Double]
    /// AE-U: σ̄² = mean_k exp(sₖ), and dₖ of the precision-weighted loss; nil without variances.
    public let meanVariance: Double?
    public let dualPrecision: [Double]?

    public init(_ set: MemberSet, pixel p: Int) {
        target = Double(set.input.data[p])
        predictions = set.reconstructions.map { Double($0[p]) }
        average = predictions.reduce(0, +) / Double(predictions.count)
        point = predictions[set.pointMember]
        pointMember = set.pointMember
        fused = set.fused.map { Double($0[p]) }
        spread = unbiasedVariance(predictions)
        dual = set.dual.map { Double($0[p]) }
        meanVariance = set.logVariances.map { $0.map { exp(Double($0[p])) }.reduce(0, +) / Double($0.count) }
        dualPrecision = set.dualPrecision.map { $0.map { Double($0[p]) } }
    }
}

/// Unbiased variance (0 for fewer than two values).
public func unbiasedVariance(_ values: [Double]) -> Double {
    guard values.count > 1 else { return 0 }
    let mean = values.reduce(0, +) / Double(values.count)
    return values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)
}
