// QDD-Ens / QME-Net (DESIGN.md section 5), adapted from segmentation to reconstruction: K learners trained jointly
// (QDDTraining): the sum of their reconstruction losses and the meta-learner's, minus α · Σ over the block outputs
// en1…en4 and de1…de3 of the deep diversity term; after `epochs` full-precision epochs, incremental log-min-max
// quantization of growing partitions of every weight tensor, `quant_epochs` epochs after each step, to each
// learner's bit width. Members: the K learners (quantized). The meta-learner (MetaDecoder, `meta`) reconstructs
// from the learners' fused encoder features: the method's own prediction, scored as meta_rec.
import MedNN

public struct QDD: UncertaintyMethod {
    public init() {}
    public let name = "qdd"
    public let summary =
        "K learners trained jointly with a deep diversity loss, then incrementally quantized, and a meta-learner on their features (`alpha`, `bits`, `quant_epochs`, `quant_partitions`, `meta`)"
    public let ownParameters = ["alpha", "bits", "quant_epochs", "quant_partitions", "meta"]

    /// The block outputs the diversity term compares: every encoder block and every decoder block but the last
    /// (de4 is the reconstruction itself, which every learner should get right).
    public static let diversityLevels = ["en1", "en2", "en3", "en4", "de1", "de2", "de3"]

    public func problem(_ settings: TrainingSettings) -> (key: String, reason: String)? {
        if settings.learners < 2 { return ("learners", "needs at least two learners to diversify (got \(settings.learners))") }
        if settings.bits.count != 1 && settings.bits.count != settings.learners {
            return ("bits", "give one width for every learner or one per learner (\(settings.learners)), not \(settings.bits.count)")
        }
        let sum = settings.quantPartitions.reduce(0, +)
        if abs(sum - 1) > 1e-6 { return ("quant_partitions", "the partitions must add up to 1 (they add up to \(sum))") }
        return nil
    }

    public func epochs(_ settings: TrainingSettings) -> Int {
        settings.epochs + settings.quantPartitions.count * settings.quantEpochs
    }

    public func train(
        _ trainer: EnsembleTrainer, store: CheckpointStore, progress: (EpochRecord, _ done: Int) -> Void
    ) throws -> (models: TrainedNetworks, records: [EpochRecord]) {
        try QDDTraining(trainer: trainer).run(store: store, progress: progress)
    }

    public func metaLearner(_ settings: TrainingSettings) -> MetaDecoder? {
        settings.meta ? MetaDecoder(settings.modelConfig, learners: settings.learners, seed: settings.modelSeed(settings.learners)) : nil
    }

    /// Learner k's bit width; the meta-learner (k = K) takes the widest.
    public static func bits(_ k: Int, _ settings: TrainingSettings) -> Int {
        k < settings.learners && settings.bits.count > 1 ? settings.bits[k] : settings.bits.max()!
    }

    public func weightMetadata(_ k: Int, _ settings: TrainingSettings) -> [String: String] {
        ["quantization": "log-min-max", "bits": String(Self.bits(k, settings))]
    }

    /// The learners as members, and the meta-learner's reconstruction from their encoder features of the same
    /// pass as the fused prediction.
    public func members(_ x: Tensor, models: TrainedNetworks, indices: [Int], settings: TrainingSettings) throws -> MemberSet {
        var levels: [[Tensor]] = []
        var set = try EnsembleMembers.collect(x, members: models.count) { k in
            let pass = try MemberPass(models[k], x)
            if models.meta != nil { levels.append(MetaDecoder.levels.map { models[k].batchLastFeature($0)! }) }
            return pass
        }
        if let meta = models.meta {
            let output = try meta.forward(levels, training: false)
            meta.releaseCaches()
            set.fused = output.shape[1] == 2 ? OutputChannels.mean(output).data : output.data
        }
        return set
    }
}
