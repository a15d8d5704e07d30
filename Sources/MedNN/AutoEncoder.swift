// The AE of DESIGN.md section 3, AE-U (two output channels: mean and log-variance) and MemAE (a memory module
// on z, Memory.swift), with the module names of the D2UE reference code, so that state_dicts load into it and
// into bench/torch_ae.py: en_block1…4.model.{0 conv, 1 bn}, bottle_neck.linear_enc.{0, 1 bn, 3},
// bottle_neck.linear_dec.{0, 1 bn, 3}, bottle_neck.memory_module.memory (MemAE), de_block1…4.model.{0 deconv, 1 bn}.
import Foundation

public struct AutoEncoderConfig: Equatable, Sendable {
    // The defaults are the init's, written once (TrainingSettings takes its architecture defaults from here).
    /// Input rows and columns; a multiple of 16.
    public var inputSize: Int
    public var baseWidth: Int
    public var latentSize: Int
    /// Width of the bottleneck's hidden layers (mid_num in the reference code).
    public var hiddenSize: Int
    /// 1 for AE, 2 for AE-U (mean and log-variance).
    public var outputChannels: Int
    /// MemAE: the number of memory items (0: no memory, a plain AE or AE-U) and the hard-shrink threshold.
    public var memoryItems: Int
    public var shrinkThreshold: Float
    /// MC-dropout: channel dropout (Dropout2d) with this probability after every encoder and decoder block but
    /// the last (en1…en4, de1…de3); 0 for none. It has no parameters, so state_dict names do not change.
    public var dropout: Float
    /// Layer ensembles: a head after each of the decoder blocks de1…de3 (head1…head3: a 3×3 convolution with bias
    /// to the output channels, then bilinear upsampling to the input size); de4 is itself the last head.
    public var heads: Bool
    /// Adversarial training: every BatchNorm doubled into a clean and an adversarial set (DualBatchNorm;
    /// state_dict names <bn>.bns.0.* and <bn>.bns.1.*).
    public var dualNorm: Bool
    public init(
        inputSize: Int = 64, baseWidth: Int = 16, latentSize: Int = 16, hiddenSize: Int = 2048, outputChannels: Int = 1,
        memoryItems: Int = 0, shrinkThreshold: Float = 0.0025, dropout: Float = 0, heads: Bool = false, dualNorm: Bool = false
    ) {
        self.inputSize = inputSize
        self.baseWidth = baseWidth
        self.latentSize = latentSize
        self.hiddenSize = hiddenSize
        self.outputChannels = outputChannels
        self.memoryItems = memoryItems
        self.shrinkThreshold = shrinkThreshold
        self.dropout = dropout
        self.heads = heads
        self.dualNorm = dualNorm
    }
}

public final class AutoEncoder {
    public let config: AutoEncoderConfig
    /// Blocks in forward order, each named for the feature it outputs (en1…en4, z, memory for MemAE, de,
    /// de1…de4).
    let blocks: [(feature: String, layers: [Layer])]
    let batchNorms: [BatchNorm]
    /// MemAE's memory module, nil for AE and AE-U.
    public let memory: MemoryModule?
    /// Layer ensembles' heads by the block they hang from (de1…de3); empty without heads.
    let heads: [(feature: String, layers: [Layer])]
    /// Each block's output from the last forward pass, batch-last as the layers produced it.
    private var batchLastFeatures: [String: Tensor] = [:]
    /// Each head's output from the last forward pass, batch-last, in depth order.
    private var batchLastHeads: [Tensor] = []
    private var flatShape: [Int] = []

    public init(_ config: AutoEncoderConfig, seed: UInt64) {
        precondition(config.inputSize % 16 == 0 && config.inputSize >= 16, "input size must be a multiple of 16")
        self.config = config
        var initializer = UniformInit(seed: seed)
        let w = config.baseWidth, fm = config.inputSize / 16
        let flat = 4 * w * fm * fm
        var norms: [BatchNorm] = []
        var dropouts: [ChannelDropout] = []
        func dropout() -> [Layer] {
            guard config.dropout > 0 else { return [] }
            dropouts.append(ChannelDropout(probability: config.dropout))
            return [dropouts.last!]
        }
        var duals: [DualBatchNorm] = []
        // Each BatchNorm with the ReLU after it (BatchNorm's relu: one layer, the same values).
        func normReLU(_ name: String, _ channels: Int) -> Layer {
            guard config.dualNorm else {
                let bn = BatchNorm(name, channels: channels, relu: true)
                norms.append(bn)
                return bn
            }
            let dual = DualBatchNorm(name, channels: channels, relu: true)
            duals.append(dual)
            norms += dual.bns
            return dual
        }
        func down(_ index: Int, _ input: Int, _ output: Int) -> (String, [Layer]) {
            (
                "en\(index)",
                [
                    Conv2d(
                        "en_block\(index).model.0", inChannels: input, outChannels: output, kernel: 4, stride: 2, padding: 1,
                        initializer: &initializer),
                    normReLU("en_block\(index).model.1", output),
                ] + dropout()
            )
        }
        func up(_ index: Int, _ input: Int, _ output: Int, last: Bool = false) -> (String, [Layer]) {
            let deconv = ConvTranspose2d(
                "de_block\(index).model.0", inChannels: input, outChannels: output, kernel: 4, stride: 2, padding: 1,
                initializer: &initializer)
            return ("de\(index)", last ? [deconv] : [deconv, normReLU("de_block\(index).model.1", output)] + dropout())
        }
        var blocks = [down(1, 1, w), down(2, w, 2 * w), down(3, 2 * w, 4 * w), down(4, 4 * w, 4 * w)]
        blocks.append(
            (
                "z",
                [
                    Linear("bottle_neck.linear_enc.0", inFeatures: flat, outFeatures: config.hiddenSize, initializer: &initializer),
                    normReLU("bottle_neck.linear_enc.1", config.hiddenSize),
                    Linear(
                        "bottle_neck.linear_enc.3", inFeatures: config.hiddenSize, outFeatures: config.latentSize, initializer: &initializer
                    ),
                ]
            ))
        // Created in the reference's order (linear_enc, linear_dec, then the memory), run memory-first.
        let decoderHead: [Layer] = [
            Linear("bottle_neck.linear_dec.0", inFeatures: config.latentSize, outFeatures: config.hiddenSize, initializer: &initializer),
            normReLU("bottle_neck.linear_dec.1", config.hiddenSize),
            Linear("bottle_neck.linear_dec.3", inFeatures: config.hiddenSize, outFeatures: flat, initializer: &initializer),
        ]
        if config.memoryItems > 0 {
            let module = MemoryModule(
                "bottle_neck.memory_module.memory", items: config.memoryItems, latentSize: config.latentSize,
                shrinkThreshold: config.shrinkThreshold, initializer: &initializer)
            blocks.append(("memory", [module]))
            memory = module
        } else {
            memory = nil
        }
        blocks.append(("de", decoderHead))
        blocks += [up(1, 4 * w, 4 * w), up(2, 4 * w, 2 * w), up(3, 2 * w, w), up(4, w, config.outputChannels, last: true)]
        self.blocks = blocks
        batchNorms = norms
        dualNorms = duals
        self.dropouts = dropouts
        // Created after everything else, so that the backbone's initial weights do not depend on the heads.
        heads =
            config.heads
            ? [(1, 4 * w), (2, 2 * w), (3, w)].map { index, channels in
                (
                    "de\(index)",
                    [
                        Conv2d(
                            "head\(index).0", inChannels: channels, outChannels: config.outputChannels, kernel: 3, stride: 1,
                            padding: 1, bias: true, initializer: &initializer),
                        BilinearUpsample(size: config.inputSize),
                    ]
                )
            } : []
    }

    /// Adversarial training's dual batch norms (none unless config.dualNorm).
    let dualNorms: [DualBatchNorm]

    /// Which statistics and affine parameters the dual batch norms use from the next forward pass on: 0 clean
    /// (training on clean batches, and always at scoring), 1 adversarial. No effect without dual batch norm.
    public var normDomain: Int {
        get { dualNorms.first?.domain ?? 0 }
        set { dualNorms.forEach { $0.domain = newValue } }
    }

    /// The channel-dropout layers in forward order (none unless config.dropout > 0).
    public let dropouts: [ChannelDropout]

    /// Where the dropout layers draw their next masks: each layer from (seed, stream · 64 + its index), per sample
    /// of the batch when `sampleStreams` are given; `sampling` draws at inference too (MC-dropout's passes).
    public func seedDropout(seed: UInt64, stream: UInt64, sampling: Bool, sampleStreams: [UInt64]? = nil) {
        for (index, layer) in dropouts.enumerated() {
            (layer.seed, layer.stream, layer.sampling) = (seed, stream &* 64 &+ UInt64(index), sampling)
            layer.sampleStreams = sampleStreams
        }
    }

    public var parameters: [Parameter] { (blocks + heads).flatMap { $0.layers.flatMap(\.parameters) } }

    /// How many outputs one forward pass gives: the heads' and the last block's.
    public var outputCount: Int { heads.count + 1 }

    /// The heads a layer ensemble adds (after de1…de3).
    public static let decoderHeads = 3

    public func zeroGrad() { parameters.forEach { $0.zeroGrad() } }

    /// Freezes (or thaws) every parameter: backward then computes only input and feature gradients.
    public func setFrozen(_ frozen: Bool) { parameters.forEach { $0.frozen = frozen } }

    /// Pauses (or resumes) parameter gradients without touching their buffers: backward then computes only input
    /// and feature gradients, as when frozen, for passes between training steps' own (adversarial examples).
    public func pauseGradients(_ paused: Bool) { parameters.forEach { $0.paused = paused } }

    /// x [N, 1, S, S] → [N, outputChannels, S, S]; `training` selects batch statistics in BatchNorm. The model
    /// speaks PyTorch's batch-first layout; inside, the layers run batch-last (Convolution.swift says why).
    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        let s = config.inputSize
        guard x.shape.count == 4, x.shape[1] == 1, x.shape[2] == s, x.shape[3] == s else {
            throw ShapeError(layer: "AutoEncoder", expected: "[N, 1, \(s), \(s)]", got: x.shape)
        }
        var h = x.batchLast()
        batchLastFeatures = [:]
        batchLastHeads = []
        for (feature, layers) in blocks {
            // Batch-last, PyTorch's flatten of [C, H, W] per sample is a plain reshape.
            if feature == "z" {
                flatShape = h.shape
                h = h.reshaped([h.count / h.shape.last!, h.shape.last!])
            }
            if feature == "de1" { h = h.reshaped(flatShape) }
            for layer in layers { h = try layer.forward(h, training: training) }
            batchLastFeatures[feature] = h
            if let head = heads.first(where: { $0.feature == feature }) {
                var out = h
                for layer in head.layers { out = try layer.forward(out, training: training) }
                batchLastHeads.append(out)
            }
        }
        return h.batchFirst()
    }

    /// Runs x through the blocks up to and including `feature` (eval mode) and returns that block's output
    /// batch-first, keeping no activations: what a frozen network's features cost (D2UE's earlier learners give
    /// their z to the repulsion without running their decoders).
    public func features(_ x: Tensor, upTo feature: String) throws -> Tensor {
        guard let last = blocks.firstIndex(where: { $0.feature == feature }) else {
            throw ShapeError(layer: "AutoEncoder", expected: "a block name (\(featureNames.joined(separator: ", ")))", got: [])
        }
        defer { releaseCaches() }
        var h = x.batchLast()
        for (feature, layers) in blocks[...last] {
            if feature == "z" { h = h.reshaped([h.count / h.shape.last!, h.shape.last!]) }
            if feature == "de1" { h = h.reshaped(flatShape(for: x.shape[0])) }
            for layer in layers { h = try layer.forward(h, training: false) }
        }
        return h.batchFirst()
    }

    /// The batch-last shape of en4's output for a batch of n.
    func flatShape(for n: Int) -> [Int] {
        let fm = config.inputSize / 16
        return [4 * config.baseWidth, fm, fm, n]
    }

    /// Drops every activation kept for backward, and the features of the last pass.
    public func releaseCaches() {
        (blocks + heads).forEach { $0.layers.forEach { $0.releaseCaches() } }
        batchLastFeatures = [:]
        batchLastHeads = []
    }

    /// The heads' outputs from the last forward pass, batch-first [N, outputChannels, S, S], shallowest first
    /// (the last block's output, forward's result, is the deepest head and not among them).
    public func headOutputs() -> [Tensor] { batchLastHeads.map { $0.batchFirst() } }

    /// A block's output from the last forward pass, batch-first: en1…en4 and de1…de4 as [N, C, H, W], z and
    /// de as [N, features]. Nil for an unknown name or before the first forward pass.
    public func feature(_ name: String) -> Tensor? { batchLastFeatures[name]?.batchFirst() }

    /// A block's output as the layers hold it, batch-last ([C, H, W, N]; [features, N]), with no copy: for terms
    /// that do not depend on the layout (QDD-Ens's diversity, its meta-learner), which then give their gradients
    /// back batch-last too (backward's batchLastFeatureGradients).
    public func batchLastFeature(_ name: String) -> Tensor? { batchLastFeatures[name] }

    /// MemAE's attention over the memory items from the last forward pass, batch-first [N, M]; nil without memory.
    public func attention() -> Tensor? { memory.map { $0.attention.batchFirst() } }

    /// The names feature() and backward's featureGradients accept, in forward order.
    public var featureNames: [String] { blocks.map(\.feature) }

    /// Back-propagates dL/d(output), plus any dL/d(feature) given by feature name (for example a
    /// repulsion term on z), all batch-first; accumulates parameter gradients and returns dL/dx.
    /// `attentionGradient` is dL/d(attention) [N, M] for a loss on MemAE's attention (Loss.memoryEntropy).
    /// Without `inputGradient` (training) the first convolution skips dL/dx and the result is nil.
    /// `headGradients`: dL/d(head output) by head index (headOutputs' order), batch-first.
    /// `batchLastFeatureGradients`: dL/d(feature) in the layers' batch-last layout (batchLastFeature's).
    @discardableResult
    public func backward(
        _ dOutput: Tensor, featureGradients: [String: Tensor] = [:], batchLastFeatureGradients: [String: Tensor] = [:],
        headGradients: [Int: Tensor] = [:], attentionGradient: Tensor? = nil, inputGradient: Bool = true
    ) -> Tensor? {
        var g = dOutput.batchLast()
        for (feature, layers) in blocks.reversed() {
            if let index = heads.firstIndex(where: { $0.feature == feature }), let headGradient = headGradients[index] {
                var extra = headGradient.batchLast()
                for layer in heads[index].layers.reversed() { extra = layer.backward(extra) }
                g.add(extra)
            }
            for extra in [featureGradients[feature]?.batchLast(), batchLastFeatureGradients[feature]].compactMap({ $0 }) {
                precondition(
                    extra.shape == g.shape, "gradient for \(feature) has shape \(extra.shape), the feature \(g.shape) (batch-last)")
                g.add(extra)
            }
            for layer in layers.reversed() {
                if !inputGradient, layer === blocks[0].layers[0], let first = layer as? Conv2d {
                    return first.backward(g, inputGradient: false)?.batchFirst()
                }
                if let memory = layer as? MemoryModule {
                    g = memory.backward(g, attentionGradient: attentionGradient?.batchLast())
                    continue
                }
                g = layer.backward(g)
            }
            // The reshapes of forward, undone at the same block boundaries.
            if feature == "de1" { g = g.reshaped([g.count / g.shape.last!, g.shape.last!]) }
            if feature == "z" { g = g.reshaped(flatShape) }
        }
        return g.batchFirst()
    }

    /// The gradient of a scalar loss of (output, x) with respect to the input image, through the network and
    /// through the loss's own use of x (what the dual-space uncertainty needs). Parameter gradients are
    /// accumulated as a side effect; zero them before training.
    public func inputGradient(
        _ x: Tensor, training: Bool, loss: (Tensor, Tensor) -> LossResult
    ) throws -> (output: Tensor, loss: LossResult, dx: Tensor) {
        let output = try forward(x, training: training)
        let result = loss(output, x)
        return (output, result, inputGradient(of: result))
    }

    /// dL/dx for a loss computed from the last forward pass (backward leaves that pass's caches as they were,
    /// so several losses of one output need one forward).
    public func inputGradient(of result: LossResult) -> Tensor {
        var dx = backward(result.dOutput)!
        dx.add(result.dTarget)
        return dx
    }

    /// PyTorch's state_dict: parameters, BatchNorm running statistics and batch counters.
    public func stateDict() -> [String: SafeTensorValue] { StateDict.of(parameters: parameters, norms: batchNorms) }

    /// Loads a state_dict; a missing, extra or mis-shaped tensor, or one holding NaN or infinity, is an error naming it.
    public func load(_ state: [String: SafeTensorValue]) throws {
        try StateDict.load(state, parameters: parameters, norms: batchNorms, architecture: "\(config)")
    }
}
