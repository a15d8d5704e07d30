// train: an ensemble of autoencoders on the split's normal training images (D2UE or a deep ensemble; AE, AE-U
// or MemAE), the published defaults unless the manifest says otherwise. Writes train.csv (one row per learner
// and epoch), models/learner_<k>.safetensors (PyTorch state_dict names) and model.json (the settings the score
// stage rebuilds the learners from). Checkpoints after every epoch in the stage's cache: a killed run resumes at
// the current learner's last finished epoch and ends with the weights of an uninterrupted run.
import Foundation
import MedAD
import MedNN
import Pipeline

public struct TrainStage: Stage {
    public static let kind = "train"
    public static let summary =
        "train autoencoders for an uncertainty method (\(MethodRegistry.all.map(\.name).joined(separator: ", ")); ae, aeu or memae) on the normal training images"
    public static let usesEveryCore = true
    public static let parameters: [ParameterSpec] = [
        ParameterSpec(
            "method", .choice(MethodRegistry.names), default: .string("d2ue"),
            help: MethodRegistry.all.map { "\($0.name): \($0.summary)" }.joined(separator: "; ")),
        ParameterSpec(
            "backbone", .choice(Backbone.allCases.map(\.rawValue)), default: .string("ae"),
            help: "ae, aeu (heteroscedastic) or memae (memory module)"),
        ParameterSpec("learners", .int(1...64), optional: "ensemble size K (default 3; mc_dropout and layer_ensemble train one network)"),
        ParameterSpec(
            "batch_size", .int(2...4096), default: .int(64), help: "images per step; the last incomplete batch of an epoch is dropped"),
        ParameterSpec("learning_rate", .double(1e-8...1), default: .double(5e-4), help: "Adam's learning rate"),
        ParameterSpec("beta1", .double(0...0.9999), default: .double(0.5), help: "Adam's β₁"),
        ParameterSpec("beta2", .double(0...0.999999), default: .double(0.999), help: "Adam's β₂"),
        ParameterSpec("epochs", .int(1...100_000), default: .int(250), help: "epochs per learner"),
        ParameterSpec(
            "seed", .int(0...Int(Int32.max)), default: .int(8),
            help: "initial weights and shuffles; the same seed and threads give the same weights"),
        ParameterSpec("lambda", .double(0...1000), optional: "d2ue: weight of the CKA repulsion (default 1)"),
        ParameterSpec(
            "feature", .choice(["en1", "en2", "en3", "en4", "z", "de", "de1", "de2", "de3", "de4"]),
            optional: "d2ue: the block output compared by CKA (default z)"),
        ParameterSpec("input_size", .int(16...1024), default: .int(64), help: "model input rows and columns, a multiple of 16"),
        ParameterSpec("base_width", .int(1...256), default: .int(16), help: "channels of the first convolution (multiplier × 16)"),
        ParameterSpec("latent_size", .int(1...4096), default: .int(16), help: "size of z"),
        ParameterSpec("hidden_size", .int(1...16384), default: .int(2048), help: "width of the bottleneck's hidden layers"),
        ParameterSpec("memory_items", .int(1...100_000), default: .int(25), help: "memae: memory items"),
        ParameterSpec(
            "shrink_threshold", .double(0...1), default: .double(0.0025), help: "memae: hard-shrink threshold of the attention (0: none)"),
        ParameterSpec("entropy_weight", .double(0...100), default: .double(0.0002), help: "memae: weight of the attention's entropy"),
        ParameterSpec("dropout", .double(0...0.95), optional: "mc_dropout: channel-dropout probability (default 0.4, the thesis's)"),
        ParameterSpec("samples", .int(1...1000), optional: "mc_dropout: stochastic passes at scoring, each a member (default 15)"),
        ParameterSpec(
            "skip_heads", .int(0...16), optional: "layer_ensemble: the shallowest heads left out of the member set (default 0 of 4)"),
        ParameterSpec(
            "validate_every", .int(0...100_000), default: .int(25),
            help: "each learner's AUROC/AP on the test part at epoch 1, every N epochs and the last (0: first and last)"),
    ]

    let settings: TrainingSettings

    public init(parameters p: Parameters) throws {
        var s = TrainingSettings()
        let method = MethodRegistry.named(p.string("method"))!
        s.method = method.name
        s.backbone = Backbone(rawValue: p.string("backbone"))!
        for key in MethodRegistry.methodParameters.subtracting(method.ownParameters).sorted() where p.has(key) {
            let owners = MethodRegistry.all.filter { $0.ownParameters.contains(key) }.map(\.name).joined(separator: ", ")
            throw ParameterError(key: key, "applies to method \(owners) only (this stage's method is \(method.name))")
        }
        if p.has("learners") { s.learners = p.int("learners") }
        if p.has("lambda") { s.repulsionWeight = Float(p.double("lambda")) }
        if p.has("feature") { s.feature = p.string("feature") }
        if p.has("dropout") { s.dropout = Float(p.double("dropout")) }
        if p.has("samples") { s.samples = p.int("samples") }
        if p.has("skip_heads") { s.skipHeads = p.int("skip_heads") }
        if s.networks != s.learners {
            if p.has("learners") {
                throw ParameterError(
                    key: "learners", "\(method.name) trains \(s.networks) network(s); its members come from \(method.summary)")
            }
            s.learners = s.networks
        }
        s.batchSize = p.int("batch_size")
        s.learningRate = Float(p.double("learning_rate"))
        s.beta1 = Float(p.double("beta1"))
        s.beta2 = Float(p.double("beta2"))
        s.epochs = p.int("epochs")
        s.seed = UInt64(p.int("seed"))
        s.inputSize = p.int("input_size")
        s.baseWidth = p.int("base_width")
        s.latentSize = p.int("latent_size")
        s.hiddenSize = p.int("hidden_size")
        s.memoryItems = p.int("memory_items")
        s.shrinkThreshold = Float(p.double("shrink_threshold"))
        s.entropyWeight = Float(p.double("entropy_weight"))
        s.validateEvery = p.int("validate_every")
        guard s.inputSize % 16 == 0 else { throw ParameterError(key: "input_size", "must be a multiple of 16, got \(s.inputSize)") }
        if let problem = method.problem(s) { throw ParameterError(key: problem.key, "\(method.name): \(problem.reason)") }
        settings = s
    }

    public static let modelFile = "model.json"
    public static func learnerFile(_ k: Int) -> String { "models/learner_\(k).safetensors" }

    public func run(in context: StageContext) throws -> StageOutcome {
        let train = try ModelInputs.load(context, parts: ["train"], labels: [0], size: settings.inputSize)
        let test = try ModelInputs.load(context, parts: ["test"], size: settings.inputSize)
        context.log(
            "\(train.count) training images (\(train.count * train.size * train.size * 4 / 1_048_576) MiB as Float32), \(test.count) test images for validation; "
                + "\(settings.method), \(settings.backbone.rawValue), \(settings.networks) network(s), \(settings.epochs) epochs, \(Parallel.threads) threads"
        )
        let trainer = try EnsembleTrainer(
            settings: settings, train: train, validation: test.count > 0 && Set(test.labels).count == 2 ? test : nil)
        let store = try CheckpointFolder(context: context, settings: settings, data: train)
        let total = settings.learners * settings.epochs
        let (models, records) = try trainer.run(store: store) { record in
            context.progress(done: record.learner * settings.epochs + record.epoch, total: total)
            if record.epoch == settings.epochs || record.validationAUROC != nil {
                context.log(
                    "learner \(record.learner) epoch \(record.epoch): loss \(format(record.loss))"
                        + (record.validationAUROC.map { ", val AUROC \(format($0))" } ?? "")
                        + (record.validationAP.map { " AP \(format($0))" } ?? ""))
            }
        }
        try context.writeCSV("train.csv", header: EpochRecord.columns, rows: records.map(\.row))
        try FileManager.default.createDirectory(
            at: context.outputDirectory.appendingPathComponent("models"), withIntermediateDirectories: true)
        for (k, model) in models.enumerated() {
            let data = try SafeTensors.encode(
                model.stateDict(), metadata: ["format": "pt", "backbone": settings.backbone.rawValue, "learner": String(k)])
            try AtomicFile.write(data, to: context.outputDirectory.appendingPathComponent(Self.learnerFile(k)))
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
/// replaced atomically.
struct CheckpointFolder: CheckpointStore {
    let folder: URL
    let inform: (String) -> Void, warn: (String) -> Void

    init(context: StageContext, settings: TrainingSettings, data: ImageSet) throws {
        (inform, warn) = (context.log, context.warn)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let settingsHash = XXH64.hex(try encoder.encode(settings))
        let pixelsHash = data.pixels.withUnsafeBytes { XXH64.hash($0) }
        let key = XXH64.hex(Data("\(settingsHash) \(pixelsHash) \(data.ids.joined(separator: "/"))".utf8))
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
            let records = try CSV.read(log).rows.map(EpochRecord.init(row:)).filter { $0.epoch <= epoch }
            guard records.count == epoch else { throw StageFailure("\(records.count) epoch records for epoch \(epoch)") }
            inform("resuming from checkpoints: learner \(learner) at epoch \(epoch)")
            return (tensors, epoch, records)
        } catch {
            warn("ignoring the unreadable checkpoint \(weights.path) (\(error)); learner \(learner) starts over")
            return nil
        }
    }

    func save(learner: Int, tensors: [String: SafeTensorValue], epoch: Int, records: [EpochRecord]) throws {
        // Records first: a kill between the two files leaves records ahead of the weights, which load trims.
        try CSV.write(folder.appendingPathComponent("learner_\(learner).csv"), header: EpochRecord.columns, rows: records.map(\.row))
        try AtomicFile.write(
            try SafeTensors.encode(tensors, metadata: ["epoch": String(epoch)]),
            to: folder.appendingPathComponent("learner_\(learner).safetensors"))
    }
}
