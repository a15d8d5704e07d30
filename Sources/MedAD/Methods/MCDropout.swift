// MC-dropout (Gal & Ghahramani; the deep-learning-uncertainty thesis): one network with channel dropout
// (Dropout2d, p `dropout`, 0.4 by default) after every encoder and decoder block but the last, trained once (its
// training masks per batch come from (seed, epoch, batch)); at scoring T = `samples` stochastic passes, BatchNorm
// in eval mode and only the dropout masks sampled: the same seed gives the same scores, whatever the batch size.
import MedNN

public struct MCDropout: UncertaintyMethod {
    public init() {}
    public let name = "mc_dropout"
    public let summary = "one network with channel dropout; `samples` stochastic passes are its members (`dropout`, `samples`)"
    public let ownParameters = ["dropout", "samples"]

    public func networks(_ settings: TrainingSettings) -> Int { 1 }

    public func configure(_ config: inout AutoEncoderConfig, _ settings: TrainingSettings) { config.dropout = settings.dropout }

    public func memberCount(_ settings: TrainingSettings) -> Int { settings.samples }

    /// Pass k: the one network with pass k's masks, each image's drawn from (seed, k, its place in the scored set)
    /// alone; dropout goes back to the identity once the pass's gradients are taken.
    public func pass(_ k: Int, _ x: Tensor, models: TrainedNetworks, indices: [Int], settings: TrainingSettings) throws -> MemberPass {
        let model = models[0], seed = settings.seed ^ 0x3C_D20F
        model.seedDropout(seed: seed, stream: UInt64(k), sampling: true, sampleStreams: indices.map { UInt64($0) })
        let pass = try MemberPass(model, x)
        return MemberPass(output: pass.output, backward: pass.backward) {
            pass.done()
            model.seedDropout(seed: seed, stream: 0, sampling: false)
        }
    }
}
