// Layer ensembles (Kushibar et al.): one network with a head after each decoder block (head1…head3: a 3×3
// convolution to the output channels and bilinear upsampling to full size; the last block is itself the last
// head), trained with the sum of the heads' losses (AE-U: each head predicts mean and log-variance). One forward
// pass gives H = 4 predictions, shallowest first; `skip_heads` leaves the first ones out of the member set. A
// member's input gradient is taken through its own head alone. Adds the layer_agreement score (AULA).
import MedNN

public struct LayerEnsemble: UncertaintyMethod {
    public init() {}
    public let name = "layer_ensemble"
    public let summary = "one network with a head after each decoder block; one pass gives a member per head (`skip_heads`)"
    public let ownParameters = ["skip_heads"]

    public func problem(_ settings: TrainingSettings) -> (key: String, reason: String)? {
        let heads = AutoEncoder.decoderHeads + 1
        return settings.skipHeads < heads - 1
            ? nil : ("skip_heads", "must leave at least two of the \(heads) heads in the member set (got \(settings.skipHeads))")
    }

    public func networks(_ settings: TrainingSettings) -> Int { 1 }

    public func configure(_ config: inout AutoEncoderConfig, _ settings: TrainingSettings) { config.heads = true }

    public func objectiveTerms(_ settings: TrainingSettings, earlier: [AutoEncoder]) -> [any ObjectiveTerm] {
        [HeadReconstruction(settings.backbone.reconstruction)] + settings.backbone.objectiveTerms(settings).dropFirst()
    }

    public func memberCount(_ settings: TrainingSettings) -> Int { AutoEncoder.decoderHeads + 1 - settings.skipHeads }
    public func byDepth(_ settings: TrainingSettings) -> Bool { true }
    /// The deepest head, the network's own output.
    public func pointMember(_ settings: TrainingSettings) -> Int { memberCount(settings) - 1 }

    /// Member k alone: a forward pass, head skip_heads + k's output and its backward through that head alone.
    public func pass(_ k: Int, _ x: Tensor, models: TrainedNetworks, indices: [Int], settings: TrainingSettings) throws -> MemberPass {
        let model = models[0]
        let last = try model.forward(x, training: false)
        return Self.head(settings.skipHeads + k, of: model, outputs: model.headOutputs() + [last])
    }

    /// Every member from one forward pass (the heads share it).
    public func members(_ x: Tensor, models: TrainedNetworks, indices: [Int], settings: TrainingSettings) throws -> MemberSet {
        let model = models[0]
        let last = try model.forward(x, training: false)
        let outputs = model.headOutputs() + [last]
        return try EnsembleMembers.collect(x, members: memberCount(settings), byDepth: true, pointMember: pointMember(settings)) {
            Self.head(settings.skipHeads + $0, of: model, outputs: outputs)
        }
    }

    /// Head `head`'s output (the last is the network's own) and its way back to x through that head alone.
    static func head(_ head: Int, of model: AutoEncoder, outputs: [Tensor]) -> MemberPass {
        let last = outputs.count - 1
        return MemberPass(output: outputs[head]) { d in
            head == last ? model.backward(d)! : model.backward(Tensor(zeros: outputs[last].shape), headGradients: [head: d])!
        }
    }
}
