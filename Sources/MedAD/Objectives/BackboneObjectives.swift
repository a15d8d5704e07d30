// Each backbone's own terms: what its learners minimise before any method adds coupling terms.
extension Backbone {
    public func objectiveTerms(_ settings: TrainingSettings) -> [any ObjectiveTerm] {
        switch self {
        case .ae: return [SquaredErrorReconstruction()]
        case .aeu: return [HeteroscedasticReconstruction()]
        case .memae: return [SquaredErrorReconstruction(), MemoryEntropy(weight: settings.entropyWeight)]
        }
    }
}
