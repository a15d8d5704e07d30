// Adversarial training with dual batch norm (Han et al., Medical-Robust-Training; Objectives/AdversarialTraining):
// every BatchNorm doubled into a clean and an adversarial set, each step trained on the clean batch and on its
// PGD example. K learners from different seeds (default 1; K > 1 is a robust deep ensemble); scoring uses the
// clean batch norms, and the learners are the members.
import MedNN

public struct Adversarial: UncertaintyMethod {
    public init() {}
    public let name = "adversarial"
    public let summary = "learners trained on clean and PGD batches through dual batch norm (`epsilon`, `pgd_step`, `pgd_iterations`)"
    public let ownParameters = ["epsilon", "pgd_step", "pgd_iterations"]
    public var defaultLearners: Int? { 1 }

    public func configure(_ config: inout AutoEncoderConfig, _ settings: TrainingSettings) { config.dualNorm = true }

    public func objectiveTerms(_ settings: TrainingSettings, earlier: [AutoEncoder]) -> [any ObjectiveTerm] {
        let backbone = settings.backbone.objectiveTerms(settings)
        return backbone + [
            AdversarialTraining(
                terms: backbone, epsilon: settings.adversarialEpsilon, stepSize: settings.pgdStep, iterations: settings.pgdIterations)
        ]
    }
}
