// Each backbone's own terms: what its learners minimise before any method adds coupling terms.
extension Backbone {
    /// Adam's learning rate in the published configurations (D2UE's cfgs): 1e-3 for AE-U, 5e-4 for AE and MemAE.
    public var publishedLearningRate: Float { self == .aeu ? 1e-3 : 5e-4 }

    /// The loss of one output against the input.
    public var reconstruction: any ObjectiveTerm { self == .aeu ? HeteroscedasticReconstruction() : SquaredErrorReconstruction() }

    /// The reconstruction first, then the backbone's other terms (MemAE's attention entropy).
    public func objectiveTerms(_ settings: TrainingSettings) -> [any ObjectiveTerm] {
        [reconstruction] + (self == .memae ? [MemoryEntropy(weight: settings.entropyWeight)] : [])
    }
}
