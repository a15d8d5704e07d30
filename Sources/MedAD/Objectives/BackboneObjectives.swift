// Each backbone's own terms: what its learners minimise before any method adds coupling terms.
extension Backbone {
    /// The loss of one output against the input.
    public var reconstruction: any ObjectiveTerm { self == .aeu ? HeteroscedasticReconstruction() : SquaredErrorReconstruction() }

    /// The reconstruction first, then the backbone's other terms (MemAE's attention entropy).
    public func objectiveTerms(_ settings: TrainingSettings) -> [any ObjectiveTerm] {
        [reconstruction] + (self == .memae ? [MemoryEntropy(weight: settings.entropyWeight)] : [])
    }
}
