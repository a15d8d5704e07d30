// How each trained method turns a batch into its member set at scoring; the score stage asks here and never
// names a method.
import MedNN

extension TrainingSettings {
    /// The member set of `models` (the train stage's networks) on x; `indices` are the images' places in the
    /// scored set (MC-dropout draws each image's masks from its own).
    public func members(_ x: Tensor, models: [AutoEncoder], indices: [Int]) throws -> MemberSet {
        switch method {
        case .d2ue, .deepEnsemble:
            return try EnsembleMembers.collect(x, learners: models)
        case .mcDropout:
            return try MCDropoutMembers.collect(
                x, model: models[0], samples: samples, seed: seed ^ 0x3C_D20F, streams: indices.map { UInt64($0) })
        }
    }
}
