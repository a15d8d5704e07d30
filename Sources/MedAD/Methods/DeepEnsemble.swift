// Deep ensemble (Lakshminarayanan et al.): K learners from different seeds, no coupling; the thesis uses 15.
// Each learner in eval mode is one member.
import MedNN

public struct DeepEnsemble: UncertaintyMethod {
    public init() {}
    public let name = "deep_ensemble"
    public let summary = "K learners from different seeds, no coupling (`independent` is its old name)"
}
