// MC-dropout's member set (Gal & Ghahramani; the deep-learning-uncertainty thesis): T stochastic passes of one
// network, BatchNorm in eval mode and only the channel-dropout masks sampled. Pass t of image i draws its masks
// from (seed, t, the image's stream) alone: the same seed gives the same scores, whatever the batch size.
import MedNN

public enum MCDropoutMembers {
    /// `streams`: one per image of x (its index in the scored set, for example).
    public static func collect(_ x: Tensor, model: AutoEncoder, samples: Int, seed: UInt64, streams: [UInt64]) throws -> MemberSet {
        precondition(samples >= 1 && streams.count == x.shape[0])
        defer { model.seedDropout(seed: seed, stream: 0, sampling: false) }
        return try EnsembleMembers.collect(x, members: samples) { pass in
            model.seedDropout(seed: seed, stream: UInt64(pass), sampling: true, sampleStreams: streams)
            return model
        }
    }
}
