// train: the networks of one uncertainty method (MedAD/Methods: d2ue, deep_ensemble, mc_dropout, layer_ensemble,
// adversarial, qdd; AE, AE-U or MemAE) on the split's normal training images, the published defaults unless the
// manifest says otherwise. Writes train.csv (one row per network and epoch), models/learner_<k>.safetensors
// (PyTorch state_dict names; qdd adds models/meta.safetensors and each file's bit width in its metadata) and
// model.json (the settings the score stage rebuilds the networks from).
// Checkpoints at most every checkpoint_every seconds in the stage's cache: a killed run resumes at the current
// network's last saved epoch and ends with the weights of an uninterrupted run.
import Foundation
import MedAD
import MedNN
import Pipeline

public struct TrainStage: Stage {
    public static let kind = "train"
    public static let summary =
        "train autoencoders for an uncertainty method (\(MethodRegistry.all.map(\.name).joined(separator: ", ")); ae, aeu or memae) on the normal training images"
    public static let usesEveryCore = true
    /// The stage's settings: the training's (model.json; the checkpoints' key) and how often to checkpoint.
    struct Settings {
        var training = TrainingSettings()
        /// Seconds between checkpoints.
        var checkpointEvery = 10.0
        /// Adam's learning rate when the manifest gives one (otherwise the backbone's published rate).
        var learningRate: Float?
    }

    static let settings: [Setting<Settings>] = [
        .choice(
            "method", \.training.method, MethodRegistry.names,
            MethodRegistry.all.map { "\($0.name): \($0.summary)" }.joined(separator: "; ") + "; `independent`: deep_ensemble's first name"),
        .choice("backbone", \.training.backbone, "ae, aeu (heteroscedastic) or memae (memory module)"),
        .int("learners", \.training.learners, 1...64, optional: true, "ensemble size K (mc_dropout and layer_ensemble train one network)"),
        .int("batch_size", \.training.batchSize, 2...4096, "images per step; the last incomplete batch of an epoch is dropped"),
        .optionalFloat(
            "learning_rate", \.learningRate, 1e-8...1,
            "Adam's learning rate (default: the backbone's published rate, "
                + Backbone.allCases.map { "\($0.rawValue) \($0.publishedLearningRate)" }.joined(separator: ", ") + ")"),
        .float("beta1", \.training.beta1, 0...0.9999, "Adam's β₁"),
        .float("beta2", \.training.beta2, 0...0.999999, "Adam's β₂"),
        .int("epochs", \.training.epochs, 1...100_000, "epochs per network"),
        .seed("seed", \.training.seed, "initial weights, shuffles and dropout masks; the same seed and threads give the same weights"),
        .float("lambda", \.training.repulsionWeight, 0...1000, optional: true, "d2ue: weight of the CKA repulsion"),
        .choice(
            "feature", \.training.feature, ["en1", "en2", "en3", "en4", "z", "de", "de1", "de2", "de3", "de4"], optional: true,
            "d2ue: the block output compared by CKA"),
        .int("input_size", \.training.inputSize, 16...1024, "model input rows and columns, a multiple of 16"),
        .int("base_width", \.training.baseWidth, 1...256, "channels of the first convolution"),
        .int("latent_size", \.training.latentSize, 1...4096, "size of z"),
        .int("hidden_size", \.training.hiddenSize, 1...16384, "width of the bottleneck's hidden layers"),
        .int("memory_items", \.training.memoryItems, 1...100_000, "memae: memory items"),
        .float("shrink_threshold", \.training.shrinkThreshold, 0...1, "memae: hard-shrink threshold of the attention (0: none)"),
        .float("entropy_weight", \.training.entropyWeight, 0...100, "memae: weight of the attention's entropy"),
        .float("dropout", \.training.dropout, 0...0.95, optional: true, "mc_dropout: channel-dropout probability (the thesis's)"),
        .int("samples", \.training.samples, 1...1000, optional: true, "mc_dropout: stochastic passes at scoring, each a member"),
        .int(
            "skip_heads", \.training.skipHeads, 0...16, optional: true,
            "layer_ensemble: the shallowest of its 4 heads left out of the member set"),
        .float("epsilon", \.training.adversarialEpsilon, 0...1, optional: true, "adversarial: PGD's L∞ radius on [−1, 1] inputs"),
        .float("pgd_step", \.training.pgdStep, 0...1, optional: true, "adversarial: PGD's step"),
        .int("pgd_iterations", \.training.pgdIterations, 0...1000, optional: true, "adversarial: PGD's iterations"),
        .float("alpha", \.training.diversityWeight, 0...1000, optional: true, "qdd: weight α of the deep diversity term"),
        .integers(
            "bits", \.training.bits, 1...16, optional: true,
            "qdd: the learners' bit width (one value) or each learner's; the meta-learner takes the widest"),
        .int("quant_epochs", \.training.quantEpochs, 0...100_000, optional: true, "qdd: epochs after each quantization step"),
        .numbers(
            "quant_partitions", \.training.quantPartitions, 0.0001...1, optional: true,
            "qdd: the share of every weight tensor quantized at each step, largest magnitudes first; they add up to 1"),
        .bool("meta", \.training.meta, optional: true, "qdd: a meta-learner on the learners' encoder features (meta_rec)"),
        .double(
            "checkpoint_every", \.checkpointEvery, 0...86_400,
            "seconds between checkpoints (each network's last epoch is always saved; 0: every epoch); a kill loses at most this much"),
        .int(
            "validate_every", \.training.validateEvery, 0...100_000,
            "each network's AUROC/AP on the test part at epoch 1, every N epochs and the last (0: first and last)"),
    ]
    public static let parameters = settings.specs(defaults: Settings())

    let settings: TrainingSettings
    let checkpointEvery: Double

    public init(parameters p: Parameters) throws {
        let given = Self.settings.apply(p, to: Settings())
        var s = given.training
        s.learningRate = given.learningRate ?? s.backbone.publishedLearningRate
        let method = MethodRegistry.named(s.method)!
        s.method = method.name
        for key in MethodRegistry.methodParameters.subtracting(method.ownParameters).sorted() where p.has(key) {
            let owners = MethodRegistry.all.filter { $0.ownParameters.contains(key) }.map(\.name).joined(separator: ", ")
            throw ParameterError(key: key, "applies to method \(owners) only (this stage's method is \(method.name))")
        }
        if !p.has("learners"), let k = method.defaultLearners { s.learners = k }
        if s.networks != s.learners {
            if p.has("learners") {
                throw ParameterError(
                    key: "learners", "\(method.name) trains \(s.networks) network(s); its members come from \(method.summary)")
            }
            s.learners = s.networks
        }
        guard s.inputSize % 16 == 0 else { throw ParameterError(key: "input_size", "must be a multiple of 16, got \(s.inputSize)") }
        if let problem = method.problem(s) { throw ParameterError(key: problem.key, "\(method.name): \(problem.reason)") }
        settings = s
        checkpointEvery = given.checkpointEvery
    }

    public static let modelFile = "model.json"
    public static func learnerFile(_ k: Int) -> String { "models/learner_\(k).safetensors" }
    /// QDD-Ens's meta-learner.
    public static let metaFile = "models/meta.safetensors"

    public func run(in context: StageContext) throws -> StageOutcome {
        let train = try ModelInputs.load(context, parts: ["train"], labels: [0], size: settings.inputSize)
        let test = try ModelInputs.load(context, parts: ["test"], size: settings.inputSize)
        context.log(
            "\(train.count) training images (\(train.count * train.size * train.size * 4 / 1_048_576) MiB as Float32), \(test.count) test images for validation; "
                + "\(settings.method), \(settings.backbone.rawValue), \(settings.networks) network(s), \(settings.epochs) epochs, \(Parallel.threads) threads"
        )
        let trainer = try EnsembleTrainer(
            settings: settings, train: train, validation: test.count > 0 && Set(test.labels).count == 2 ? test : nil)
        let store = try CheckpointFolder(context: context, settings: settings, data: train, interval: checkpointEvery)
        let total = trainer.expectedRecords
        let (models, records) = try trainer.run(store: store) { record, done in
            context.progress(done: done, total: total)
            if record.epoch == settings.uncertaintyMethod.epochs(settings) || record.validationAUROC != nil {
                context.log(
                    "learner \(record.learner) epoch \(record.epoch): loss \(format(record.loss))"
                        + (record.validationAUROC.map { ", val AUROC \(format($0))" } ?? "")
                        + (record.validationAP.map { " AP \(format($0))" } ?? ""))
            }
        }
        try context.writeCSV("train.csv", records: records)
        try FileManager.default.createDirectory(
            at: context.outputDirectory.appendingPathComponent("models"), withIntermediateDirectories: true)
        let method = settings.uncertaintyMethod
        var files = models.enumerated().map { k, model in (Self.learnerFile(k), model.stateDict(), ["learner": String(k)]) }
        if let meta = models.meta { files.append((Self.metaFile, meta.stateDict(), ["learner": "meta"])) }
        for (k, (file, state, own)) in files.enumerated() {
            let metadata = ["format": "pt", "backbone": settings.backbone.rawValue].merging(own) { $1 }
                .merging(method.weightMetadata(k, settings)) { $1 }
            try AtomicFile.write(to: context.outputDirectory.appendingPathComponent(file)) { append in
                try SafeTensors.stream(state, metadata: metadata, into: append)
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(settings), to: context.outputDirectory.appendingPathComponent(Self.modelFile))
        return StageOutcome(rows: records.count, items: train.count)
    }

    func format(_ value: Double) -> String { String(format: "%.4f", value) }
}

/// Checkpoints in the stage's cache, under a key of the settings and the training images, so that a changed
/// manifest or split never resumes from another run's weights. Each learner: learner_<k>.safetensors
/// (state_dict + optimizer state, epoch in the metadata) and learner_<k>.csv (its finished epochs), each
/// replaced atomically; at most one save per `interval` seconds (a kill loses at most that much training).
struct CheckpointFolder: CheckpointStore {
    let folder: URL
    /// Seconds between saves. The demo's D2UE wrote 13 GB of checkpoints when it saved every epoch (54 MB, 240
    /// times); the default, every 10 s, costs under 1% of the training time.
    let interval: Double
    let inform: (String) -> Void, warn: (String) -> Void

    init(context: StageContext, settings: TrainingSettings, data: ImageSet, interval: Double) throws {
        (inform, warn, self.interval) = (context.log, context.warn, interval)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let settingsHash = XXH3.hex(try encoder.encode(settings))
        let pixelsHash = data.pixels.withUnsafeBytes { XXH3.hash($0) }
        let key = XXH3.hex(Data("\(settingsHash) \(pixelsHash) \(data.ids.joined(separator: "/"))".utf8))
        let root = context.cacheDirectory.appendingPathComponent("checkpoints")
        folder = root.appendingPathComponent(key)
        // Checkpoints of other settings or data are of no further use.
        for old in (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? [] where old != key {
            try? FileManager.default.removeItem(at: root.appendingPathComponent(old))
        }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    /// A checkpoint that cannot be read (a disk fault, a hand edit) is reported and ignored: the learner starts
    /// over rather than blocking every later run.
    func load(learner: Int) throws -> (tensors: [String: SafeTensorValue], epoch: Int, records: [EpochRecord])? {
        let weights = folder.appendingPathComponent("learner_\(learner).safetensors"),
            log = folder.appendingPathComponent("learner_\(learner).csv")
        guard FileManager.default.fileExists(atPath: weights.path), FileManager.default.fileExists(atPath: log.path) else { return nil }
        do {
            let (tensors, metadata) = try SafeTensors.read(weights)
            guard let epoch = metadata["epoch"].flatMap(Int.init) else { throw StageFailure("no epoch in its metadata") }
            let records = try CSV.records(log, as: EpochRecord.self).filter { $0.epoch <= epoch }
            // Every epoch up to the saved one, each with the same number of rows (one per network trained in this
            // file: one, or qdd's jointly trained learners and meta-learner).
            let perEpoch = Dictionary(grouping: records, by: \.epoch).mapValues(\.count)
            guard Set(perEpoch.keys) == Set(1...max(epoch, 1)), Set(perEpoch.values).count == 1 else {
                throw StageFailure("\(records.count) epoch records do not cover epochs 1…\(epoch) evenly")
            }
            inform("resuming from checkpoints: learner \(learner) at epoch \(epoch)")
            return (tensors, epoch, records)
        } catch {
            warn("ignoring the unreadable checkpoint \(weights.path) (\(error)); learner \(learner) starts over")
            return nil
        }
    }

    func save(learner: Int, tensors: [String: SafeTensorValue], epoch: Int, records: [EpochRecord]) throws {
        // Records first: a kill between the two files leaves records ahead of the weights, which load trims.
        try CSV.write(folder.appendingPathComponent("learner_\(learner).csv"), records: records)
        try AtomicFile.write(to: folder.appendingPathComponent("learner_\(learner).safetensors")) { append in
            try SafeTensors.stream(tensors, metadata: ["epoch": String(epoch)], into: append)
        }
    }
}

/// train.csv's row type (MedAD's EpochRecord, which knows nothing of the pipeline's CSV).
extension EpochRecord: CSVRecord {
    public var fields: [String] { row }
    public init(_ row: CSV.Row) throws {
        do { try self.init(row: row.values) } catch { throw CSVError("\(row.file): line \(row.line): \(error)") }
    }
}
