// Training the networks of an uncertainty method (DESIGN.md sections 3 and 5) on normal images, one after
// another: the method (Methods/, one file each) says how many, how the backbone is changed and what each one's
// loss is; the backbone (AE: MSE; AE-U: heteroscedastic; MemAE: MSE + weighted attention entropy) gives the
// reconstruction terms. Every epoch ends in a checkpoint (weights, BatchNorm statistics, Adam's moments and
// step); the shuffle of each epoch is derived from (seed, network, epoch) alone, so a run resumed from a
// checkpoint ends with the same weights as one that was never interrupted.
import Foundation
import MedNN

public enum Backbone: String, CaseIterable, Sendable, Codable { case ae, aeu, memae }

public struct TrainingSettings: Equatable, Sendable, Codable {
    /// The method's name (MethodRegistry).
    public var method = "d2ue"
    public var backbone: Backbone = .ae
    public var learners = 3
    public var batchSize = 64
    /// The train stage sets the backbone's published rate unless the manifest gives one.
    public var learningRate = Backbone.ae.publishedLearningRate
    public var beta1: Float = 0.5
    public var beta2: Float = 0.999
    public var epochs = 250
    public var seed: UInt64 = 8
    /// λ, the weight of the CKA repulsion (d2ue).
    public var repulsionWeight: Float = 1
    /// The block output the repulsion compares (en1…en4, z, de, de1…de4).
    public var feature = "z"
    /// The architecture's defaults are MedNN's (AutoEncoderConfig), written once there.
    public var inputSize = AutoEncoderConfig().inputSize
    public var baseWidth = AutoEncoderConfig().baseWidth
    public var latentSize = AutoEncoderConfig().latentSize
    public var hiddenSize = AutoEncoderConfig().hiddenSize
    /// The D2UE reference's MemAE as its code runs: 25 items, shrink threshold 0.0025 (its configs say 0.0, but
    /// its model factory never passes that on, so MemBottleNeck's default applies).
    public var memoryItems = 25
    public var shrinkThreshold = AutoEncoderConfig().shrinkThreshold
    public var entropyWeight: Float = 0.0002
    /// Validation AUROC/AP of each learner on the test part at epoch 1, every this many epochs and at the last
    /// (the reference logs epoch 1 and every 25th); 0: first and last only.
    public var validateEvery = 25
    /// mc_dropout: the channel-dropout probability (the thesis's 0.4) and the stochastic passes at scoring.
    public var dropout: Float = 0.4
    public var samples = 15
    /// layer_ensemble: the shallowest heads left out of the member set.
    public var skipHeads = 0
    /// adversarial: PGD's L∞ radius, step and iterations on [−1, 1] inputs (the reference's 0.005 and 0.0025 on
    /// [0, 1], doubled).
    public var adversarialEpsilon: Float = 0.01
    public var pgdStep: Float = 0.005
    public var pgdIterations = 10
    /// qdd: α, the weight of the deep diversity term; the incremental quantization after the full-precision
    /// epochs (each step quantizes the next partition of every weight tensor, then trains `quantEpochs` epochs);
    /// each learner's bit width (one value: every learner's; the meta-learner takes the widest); the meta-learner.
    public var diversityWeight: Float = 0.005
    public var quantEpochs = 25
    public var quantPartitions = [0.3, 0.3, 0.2, 0.2]
    public var bits = [5]
    public var meta = true

    public init() {}

    /// Settings from a model.json; a setting it lacks (written before the setting existed, when the behaviour was
    /// the default's) takes its default.
    public static func decode(_ data: Data) throws -> TrainingSettings {
        var merged = try JSONSerialization.jsonObject(with: JSONEncoder().encode(TrainingSettings())) as? [String: Any] ?? [:]
        guard let given = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TrainingError("model settings: not a JSON object")
        }
        merged.merge(given) { $1 }
        return try JSONDecoder().decode(TrainingSettings.self, from: JSONSerialization.data(withJSONObject: merged))
    }

    /// The registered method of this name; unknown names are refused when the settings are made.
    public var uncertaintyMethod: any UncertaintyMethod { MethodRegistry.named(method)! }

    /// Networks the method trains (and the score stage loads).
    public var networks: Int { uncertaintyMethod.networks(self) }

    public var modelConfig: AutoEncoderConfig {
        var config = AutoEncoderConfig(
            inputSize: inputSize, baseWidth: baseWidth, latentSize: latentSize, hiddenSize: hiddenSize,
            outputChannels: backbone == .aeu ? 2 : 1, memoryItems: backbone == .memae ? memoryItems : 0,
            shrinkThreshold: shrinkThreshold)
        uncertaintyMethod.configure(&config, self)
        return config
    }

    /// The member set of `models` (the trained networks) on x; `indices` are the images' places in the scored set.
    public func members(_ x: Tensor, models: TrainedNetworks, indices: [Int]) throws -> MemberSet {
        try uncertaintyMethod.members(x, models: models, indices: indices, settings: self)
    }

    /// The seed of learner k's initial weights.
    public func modelSeed(_ learner: Int) -> UInt64 {
        var generator = SeededGenerator(seed: seed, index: UInt64(learner))
        return generator.next()
    }
}

/// Images as one batch-first block [count, 1, S, S] scaled to [−1, 1], with labels (1 = abnormal) when known.
public struct ImageSet: Sendable {
    public let size: Int
    public let pixels: [Float]
    public let labels: [Int]
    public let ids: [String]
    public var count: Int { ids.count }

    public init(size: Int, pixels: [Float], labels: [Int], ids: [String]) {
        precondition(pixels.count == ids.count * size * size && labels.count == ids.count)
        self.size = size
        self.pixels = pixels
        self.labels = labels
        self.ids = ids
    }

    /// The images at `indices` as [n, 1, S, S].
    public func batch(_ indices: some Collection<Int>) -> Tensor {
        let plane = size * size
        var data = [Float](repeating: 0, count: indices.count * plane)
        for (row, i) in indices.enumerated() {
            data.replaceSubrange(row * plane..<(row + 1) * plane, with: pixels[i * plane..<(i + 1) * plane])
        }
        return Tensor(shape: [indices.count, 1, size, size], data: data)
    }
}

/// One learner's epoch, as train.csv records it.
public struct EpochRecord: Equatable, Sendable {
    public var learner: Int
    public var epoch: Int
    public var loss: Double
    public var reconstruction: Double
    public var repulsion: Double
    /// AE-U: mean log-variance term; MemAE: attention entropy; AE: 0.
    public var extra: Double
    /// Adversarial training: the loss on the crafted batch (its backbone's terms); 0 otherwise.
    public var adversarial: Double = 0
    /// qdd: the share of the network's weights quantized (and fixed) during the epoch; 0 otherwise.
    public var quantized: Double = 0
    public var seconds: Double
    public var validationAUROC: Double?
    public var validationAP: Double?

    public static let columns = [
        "learner", "epoch", "loss", "reconstruction", "repulsion", "extra", "adversarial", "quantized", "seconds", "val_auroc",
        "val_ap",
    ]

    public var row: [String] {
        [
            String(learner), String(epoch), format(loss), format(reconstruction), format(repulsion), format(extra), format(adversarial),
            format(quantized), String(format: "%.3f", seconds), validationAUROC.map(format) ?? "", validationAP.map(format) ?? "",
        ]
    }

    public init(
        learner: Int, epoch: Int, loss: Double, reconstruction: Double, repulsion: Double, extra: Double, seconds: Double,
        validationAUROC: Double? = nil, validationAP: Double? = nil
    ) {
        (self.learner, self.epoch, self.loss, self.reconstruction, self.repulsion, self.extra, self.seconds) = (
            learner, epoch, loss, reconstruction, repulsion, extra, seconds
        )
        (self.validationAUROC, self.validationAP) = (validationAUROC, validationAP)
    }

    public init(row: [String: String]) throws {
        func number(_ key: String) throws -> Double {
            guard let text = row[key], let value = Double(text) else {
                throw TrainingError("train record: '\(key)' is missing or not a number")
            }
            return value
        }
        self.init(
            learner: Int(try number("learner")), epoch: Int(try number("epoch")), loss: try number("loss"),
            reconstruction: try number("reconstruction"), repulsion: try number("repulsion"), extra: try number("extra"),
            seconds: try number("seconds"), validationAUROC: row["val_auroc"].flatMap(Double.init),
            validationAP: row["val_ap"].flatMap(Double.init))
        adversarial = try number("adversarial")
        // train.csv files written before qdd have no `quantized` column.
        quantized = row["quantized"] == nil ? 0 : try number("quantized")
    }
}

public struct TrainingError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Shortest round-trip text of a metric or loss.
func format(_ value: Double) -> String { String(format: "%.8g", value) }

/// Where a trainer keeps its checkpoints; the stage provides it (atomic files in its cache folder).
public protocol CheckpointStore {
    /// The last saved state of a learner: tensors (model state_dict plus `optimizer.`-prefixed Adam state), the
    /// last finished epoch (1-based) and the records of every finished epoch. Nil when there is none.
    func load(learner: Int) throws -> (tensors: [String: SafeTensorValue], epoch: Int, records: [EpochRecord])?
    func save(learner: Int, tensors: [String: SafeTensorValue], epoch: Int, records: [EpochRecord]) throws
    /// Seconds between saves; every network's last epoch is always saved. 0: every epoch.
    var interval: Double { get }
}

extension CheckpointStore {
    public var interval: Double { 0 }
}

public final class EnsembleTrainer {
    public let settings: TrainingSettings
    public let train: ImageSet
    public let validation: ImageSet?

    public init(settings: TrainingSettings, train: ImageSet, validation: ImageSet?) throws {
        guard train.count >= settings.batchSize else {
            throw TrainingError("training needs at least one full batch: \(train.count) images, batch size \(settings.batchSize)")
        }
        self.settings = settings
        self.train = train
        self.validation = validation
    }

    public var batchesPerEpoch: Int { train.count / settings.batchSize }

    /// Trains the method's networks (resuming from the store where it holds checkpoints) and returns them, frozen,
    /// in eval-ready state. `progress` sees each finished epoch and how many train.csv rows are finished.
    public func run(
        store: CheckpointStore, progress: (EpochRecord, _ done: Int) -> Void = { _, _ in }
    ) throws -> (models: TrainedNetworks, records: [EpochRecord]) {
        try settings.uncertaintyMethod.train(self, store: store, progress: progress)
    }

    /// Train.csv's rows when training ends: one per network (and meta-learner) and epoch.
    public var expectedRecords: Int {
        let method = settings.uncertaintyMethod
        return (settings.networks + (method.metaLearner(settings) == nil ? 0 : 1)) * method.epochs(settings)
    }

    /// The networks one after another, each network's loss seeing the ones trained before it.
    public func trainInSequence(
        store: CheckpointStore, progress: (EpochRecord, _ done: Int) -> Void
    ) throws -> (models: TrainedNetworks, records: [EpochRecord]) {
        var finished: [AutoEncoder] = []
        var records: [EpochRecord] = []
        for k in 0..<settings.networks {
            let before = records.count
            let (model, learnerRecords) = try trainLearner(k, earlier: finished, store: store) { progress($0, before + $1) }
            model.setFrozen(true)
            model.releaseCaches()
            finished.append(model)
            records += learnerRecords
        }
        return (TrainedNetworks(finished), records)
    }

    func trainLearner(
        _ k: Int, earlier: [AutoEncoder], store: CheckpointStore, progress: (EpochRecord, _ done: Int) -> Void
    ) throws -> (AutoEncoder, [EpochRecord]) {
        let model = AutoEncoder(settings.modelConfig, seed: settings.modelSeed(k))
        let adam = Adam(model.parameters, learningRate: settings.learningRate, beta1: settings.beta1, beta2: settings.beta2)
        var records: [EpochRecord] = []
        var startEpoch = 1
        if let saved = try store.load(learner: k) {
            try model.load(saved.tensors.filter { !$0.key.hasPrefix("optimizer.") })
            try adam.load(saved.tensors.strippingPrefix("optimizer."))
            records = saved.records
            startEpoch = saved.epoch + 1
        }
        let terms = objectiveTerms(earlier: earlier)
        // Checkpoints are written in place, between epochs: the state_dict shares the weights' storage, so a save
        // costs no copy of them (a background writer needed a snapshot of weights and Adam's moments, 100 MB at
        // the demo's size). At most one save per store.interval seconds keeps that cost small.
        var lastSave = DispatchTime.now().uptimeNanoseconds
        if startEpoch <= settings.epochs {
            for epoch in startEpoch...settings.epochs {
                let start = DispatchTime.now().uptimeNanoseconds
                var record = try trainEpoch(model, adam: adam, learner: k, epoch: epoch, terms: terms)
                if let validation,
                    epoch == 1 || (settings.validateEvery > 0 && epoch % settings.validateEvery == 0) || epoch == settings.epochs
                {
                    (record.validationAUROC, record.validationAP) = try validate(on: validation) { try model.forward($0, training: false) }
                }
                record.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                records.append(record)
                let now = DispatchTime.now().uptimeNanoseconds
                if epoch == settings.epochs || Double(now - lastSave) / 1e9 >= store.interval {
                    var tensors = model.stateDict()
                    for (name, value) in adam.stateDict() { tensors["optimizer.\(name)"] = value }
                    try store.save(learner: k, tensors: tensors, epoch: epoch, records: records)
                    lastSave = DispatchTime.now().uptimeNanoseconds
                }
                progress(record, records.count)
            }
        }
        return (model, records)
    }

    /// The images of learner k's epoch, in its order: a permutation drawn from (seed, learner, epoch) only.
    public func order(learner: Int, epoch: Int) -> [Int] {
        var generator = SeededGenerator(seed: settings.seed ^ 0x5EED_0F_E90C, index: UInt64(learner) << 32 | UInt64(epoch))
        var indices = Array(0..<train.count)
        generator.shuffle(&indices)
        return indices
    }

    /// Network k's loss, as its method composes it from the backbone's terms and its own.
    func objectiveTerms(earlier: [AutoEncoder]) -> [any ObjectiveTerm] {
        settings.uncertaintyMethod.objectiveTerms(settings, earlier: earlier)
    }

    func trainEpoch(_ model: AutoEncoder, adam: Adam, learner: Int, epoch: Int, terms: [any ObjectiveTerm]) throws -> EpochRecord {
        let order = self.order(learner: learner, epoch: epoch), size = settings.batchSize
        var sums = (loss: 0.0, reconstruction: 0.0, repulsion: 0.0, extra: 0.0, adversarial: 0.0)
        for b in 0..<batchesPerEpoch {
            let x = train.batch(order[b * size..<(b + 1) * size])
            // Dropout masks and attack starts come from (learner, epoch, batch) alone: a resumed run draws the same.
            let step = TrainingStep(seed: settings.modelSeed(learner), stream: UInt64(epoch) << 24 | UInt64(b))
            model.seedDropout(seed: step.seed, stream: step.stream, sampling: false)
            adam.zeroGrad()
            let own = try terms.flatMap { try $0.ownPass(model: model, input: x, step: step) }
            let output = try model.forward(x, training: true)
            var gradients = ObjectiveGradients()
            let parts = try own + terms.flatMap { try $0.evaluate(model: model, input: x, output: output, gradients: &gradients) }
            let loss = parts.loss
            // Checked before the update: a NaN step would poison the weights and every later checkpoint.
            guard loss.isFinite else {
                throw TrainingDiverged(learner: learner, epoch: epoch, batch: b + 1, loss: loss, lastGoodEpoch: epoch - 1)
            }
            gradients.backward(through: model, inputGradient: false)
            adam.update()
            sums.loss += loss
            sums.reconstruction += parts.total(.reconstruction)
            sums.repulsion += parts.total(.repulsion)
            sums.extra += parts.total(.extra)
            sums.adversarial += parts.total(.adversarial)
        }
        let n = Double(batchesPerEpoch)
        var record = EpochRecord(
            learner: learner, epoch: epoch, loss: sums.loss / n, reconstruction: sums.reconstruction / n,
            repulsion: sums.repulsion / n, extra: sums.extra / n, seconds: 0)
        record.adversarial = sums.adversarial / n
        return record
    }

    /// One network alone on the test part: AUROC and AP of its reconstruction error in eval mode (`reconstruct`
    /// runs it on a batch), for AE-U weighted by the predicted precision exp(−s), as the reference's single-model
    /// test.
    func validate(on set: ImageSet, reconstruct: (Tensor) throws -> Tensor) throws -> (Double?, Double?) {
        var scores: [Double] = []
        let plane = set.size * set.size
        for start in stride(from: 0, to: set.count, by: settings.batchSize) {
            let x = set.batch(start..<min(start + settings.batchSize, set.count))
            let output = try reconstruct(x)
            let channels = output.shape[1]
            for i in 0..<x.shape[0] {
                var sum = 0.0
                for p in 0..<plane {
                    let e = Double(output.data[i * channels * plane + p] - x.data[i * plane + p])
                    let precision = channels == 2 ? exp(-Double(output.data[(i * channels + 1) * plane + p])) : 1
                    sum += precision * e * e
                }
                scores.append(sum / Double(plane))
            }
        }
        return (Metrics.auroc(scores, set.labels), Metrics.averagePrecision(scores, set.labels))
    }
}

/// A learner whose loss became NaN or infinite. Training stops before that step's update; the checkpoint of
/// the last finished epoch stays in the stage's cache.
public struct TrainingDiverged: Error, CustomStringConvertible {
    public let learner: Int, epoch: Int, batch: Int
    public let loss: Double
    public let lastGoodEpoch: Int
    /// Networks trained jointly (qdd) diverge together.
    public var joint = false
    public var description: String {
        let kept = lastGoodEpoch > 0 ? "the checkpoint of epoch \(lastGoodEpoch) is kept" : "no epoch had finished"
        return
            "\(joint ? "the jointly trained networks" : "learner \(learner)") diverged at epoch \(epoch), batch \(batch): the loss is \(loss); \(kept). "
            + "Lower learning_rate (or check the inputs) and run again"
    }
}
