// A method plug-in (DESIGN.md section 5): which networks it trains and how, and how a batch becomes its member
// set at scoring. The train and score stages ask through this protocol and never name a method. A new method
// is one file and one line in MethodRegistry.
import MedNN

public protocol UncertaintyMethod: Sendable {
    /// The name a manifest gives as the train stage's `method`.
    var name: String { get }
    /// One line for `medad help` and the README.
    var summary: String { get }
    /// Train-stage parameters only this method reads; another method's are refused by name.
    var ownParameters: [String] { get }
    /// Why this method does not combine with the settings (the parameter at fault and the reason); nil when it does.
    func problem(_ settings: TrainingSettings) -> (key: String, reason: String)?
    /// Networks trained (one after another unless the method trains them its own way).
    func networks(_ settings: TrainingSettings) -> Int
    /// Epochs each network trains (train.csv's rows per network).
    func epochs(_ settings: TrainingSettings) -> Int
    /// Trains the networks: by default one after another (EnsembleTrainer.trainInSequence).
    func train(
        _ trainer: EnsembleTrainer, store: CheckpointStore, progress: (EpochRecord, _ done: Int) -> Void
    ) throws -> (models: TrainedNetworks, records: [EpochRecord])
    /// A meta-learner over the networks' features, untrained (QDD-Ens); nil for a method without one.
    func metaLearner(_ settings: TrainingSettings) -> MetaDecoder?
    /// Metadata saved with network k's weights (k = networks: the meta-learner's), beside the backbone and index.
    func weightMetadata(_ k: Int, _ settings: TrainingSettings) -> [String: String]
    /// The ensemble size when the manifest gives no `learners` (nil: TrainingSettings' default).
    var defaultLearners: Int? { get }
    /// What the method changes in the backbone (dropout layers, heads).
    func configure(_ config: inout AutoEncoderConfig, _ settings: TrainingSettings)
    /// Network k's training loss, `earlier` the networks trained before it (frozen).
    func objectiveTerms(_ settings: TrainingSettings, earlier: [AutoEncoder]) -> [any ObjectiveTerm]
    /// Members per image at scoring.
    func memberCount(_ settings: TrainingSettings) -> Int
    /// Member k's eval-mode pass on x: its output and the way back to x (the member set is made of these, and
    /// saliency runs them again); `indices` are the images' places in the scored set.
    func pass(_ k: Int, _ x: Tensor, models: TrainedNetworks, indices: [Int], settings: TrainingSettings) throws -> MemberPass
    /// Members ordered by depth (a layer ensemble's heads), and the one that is the method's own prediction.
    func byDepth(_ settings: TrainingSettings) -> Bool
    func pointMember(_ settings: TrainingSettings) -> Int
    /// The member set of the trained networks on x (by default every pass in turn).
    func members(_ x: Tensor, models: TrainedNetworks, indices: [Int], settings: TrainingSettings) throws -> MemberSet
}

extension UncertaintyMethod {
    public var ownParameters: [String] { [] }
    public func problem(_ settings: TrainingSettings) -> (key: String, reason: String)? { nil }
    public func networks(_ settings: TrainingSettings) -> Int { settings.learners }
    public func epochs(_ settings: TrainingSettings) -> Int { settings.epochs }
    public func train(
        _ trainer: EnsembleTrainer, store: CheckpointStore, progress: (EpochRecord, _ done: Int) -> Void
    ) throws -> (models: TrainedNetworks, records: [EpochRecord]) {
        try trainer.trainInSequence(store: store, progress: progress)
    }
    public func metaLearner(_ settings: TrainingSettings) -> MetaDecoder? { nil }
    public func weightMetadata(_ k: Int, _ settings: TrainingSettings) -> [String: String] { [:] }
    public var defaultLearners: Int? { nil }
    public func configure(_ config: inout AutoEncoderConfig, _ settings: TrainingSettings) {}
    public func objectiveTerms(_ settings: TrainingSettings, earlier: [AutoEncoder]) -> [any ObjectiveTerm] {
        settings.backbone.objectiveTerms(settings)
    }
    /// Ensembles: each learner is a member.
    public func memberCount(_ settings: TrainingSettings) -> Int { networks(settings) }
    public func pass(_ k: Int, _ x: Tensor, models: TrainedNetworks, indices: [Int], settings: TrainingSettings) throws -> MemberPass {
        try MemberPass(models[k], x)
    }
    public func byDepth(_ settings: TrainingSettings) -> Bool { false }
    public func pointMember(_ settings: TrainingSettings) -> Int { 0 }
    public func members(_ x: Tensor, models: TrainedNetworks, indices: [Int], settings: TrainingSettings) throws -> MemberSet {
        try EnsembleMembers.collect(x, members: memberCount(settings), byDepth: byDepth(settings), pointMember: pointMember(settings)) {
            try pass($0, x, models: models, indices: indices, settings: settings)
        }
    }
}

/// The methods a train stage can run, in the order `medad help` lists them.
public enum MethodRegistry {
    public static let all: [any UncertaintyMethod] = [
        D2UE(),
        DeepEnsemble(),
        MCDropout(),
        LayerEnsemble(),
        Adversarial(),
        QDD(),
    ]

    /// Earlier names that still work: `independent` was deep_ensemble's first name.
    public static let aliases = ["independent": "deep_ensemble"]

    /// Every name a manifest may use, aliases last.
    public static var names: [String] { all.map(\.name) + aliases.keys.sorted() }

    public static func named(_ name: String) -> (any UncertaintyMethod)? {
        let canonical = aliases[name] ?? name
        return all.first { $0.name == canonical }
    }

    /// Every method's own parameters (a parameter in here that the chosen method does not own is refused).
    public static var methodParameters: Set<String> { Set(all.flatMap(\.ownParameters)) }
}
