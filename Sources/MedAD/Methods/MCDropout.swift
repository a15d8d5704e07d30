// MC-dropout (Gal & Ghahramani; the deep-learning-uncertainty thesis): one network with channel dropout
// (Dropout2d, p `dropout`, 0.4 by default) after every encoder and decoder block but the last, trained once (its
// training masks per batch come from (seed, epoch, batch)); at scoring T = `samples` stochastic passes, BatchNorm
// in eval mode and only the dropout masks sampled. Pass t of image i draws its masks from (seed, t, the image's
// place in the scored set) alone: the same seed gives the same scores, whatever the batch size.
import MedNN

public struct MCDropout: UncertaintyMethod {
    public init() {}
    public let name = "mc_dropout"
    public let summary = "one network with channel dropout; `samples` stochastic passes are its members (`dropout`, `samples`)"
    public let ownParameters = ["dropout", "samples"]

    public func networks(_ settings: TrainingSettings) -> Int { 1 }

    public func configure(_ config: inout AutoEncoderConfig, _ settings: TrainingSettings) { config.dropout = settings.dropout }

    public func members(_ x: Tensor, models: [AutoEncoder], indices: [Int], settings: TrainingSettings) throws -> MemberSet {
        try Self.collect(
            x, model: models[0], samples: settings.samples, seed: settings.seed ^ 0x3C_D20F, streams: indices.map { UInt64($0) })
    }

    /// `streams`: one per image of x (its index in the scored set, for example).
    public static func collect(_ x: Tensor, model: AutoEncoder, samples: Int, seed: UInt64, streams: [UInt64]) throws -> MemberSet {
        precondition(samples >= 1 && streams.count == x.shape[0])
        defer { model.seedDropout(seed: seed, stream: 0, sampling: false) }
        return try EnsembleMembers.collect(x, members: samples) { pass in
            model.seedDropout(seed: seed, stream: UInt64(pass), sampling: true, sampleStreams: streams)
            return try MemberPass(model, x)
        }
    }
}
