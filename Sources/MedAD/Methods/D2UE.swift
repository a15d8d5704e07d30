// D2UE (DESIGN.md section 3): K learners trained one after another, learner k repelled from the frozen earlier
// ones by λ · mean over them of linearCKA on one block's features (z by default). Members: the learners.
import MedNN

public struct D2UE: UncertaintyMethod {
    public init() {}
    public let name = "d2ue"
    public let summary = "K learners in sequence, each repelled from the earlier ones by linear CKA (`lambda`, `feature`)"
    public let ownParameters = ["lambda", "feature"]

    public func objectiveTerms(_ settings: TrainingSettings, earlier: [AutoEncoder]) -> [any ObjectiveTerm] {
        settings.backbone.objectiveTerms(settings)
            + (earlier.isEmpty ? [] : [CKARepulsion(earlier: earlier, feature: settings.feature, weight: settings.repulsionWeight)])
    }
}
