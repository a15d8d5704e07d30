// QDD-Ens's joint training (Methods/QDD.swift): every step runs the K learners and the meta-learner on the same
// batch, and one loss couples them:
//   loss = Σₖ Lₖ + L_meta − α · Σ_levels D_level
// Lₖ each learner's backbone terms (reconstruction; MemAE's entropy), L_meta the backbone's reconstruction of the
// meta-learner's output, D the deep diversity term (MedNN/DeepDiversity) of the learners' block outputs at
// QDD.diversityLevels. The meta-learner's gradient flows back into the learners' encoders, as in the reference
// (its features are not detached). One Adam per network: Adam is element-wise, so this is the reference's one
// optimiser over every parameter, with each network's state saved under its own prefix.
// Schedule: `epochs` full-precision epochs; then for each partition, a quantization step (IncrementalQuantization,
// each network at its bit width, Adam started afresh as the reference starts a new optimiser per stage) and
// `quant_epochs` epochs with the quantized weights fixed. With quant_epochs 0 the steps follow one another at the
// end. One checkpoint holds every network, Adam state and quantization mask, so a resumed run continues exactly.
import Foundation
import MedNN

struct QDDTraining {
    let trainer: EnsembleTrainer
    var settings: TrainingSettings { trainer.settings }

    /// One network of the joint training: its parameters, optimiser and quantization.
    final class Network {
        let prefix: String
        let parameters: [Parameter]
        var adam: Adam
        let quantization: IncrementalQuantization
        let state: () -> [String: SafeTensorValue]
        let load: ([String: SafeTensorValue]) throws -> Void

        init(
            prefix: String, parameters: [Parameter], settings: TrainingSettings, bits: Int,
            state: @escaping () -> [String: SafeTensorValue], load: @escaping ([String: SafeTensorValue]) throws -> Void
        ) {
            (self.prefix, self.parameters, self.state, self.load) = (prefix, parameters, state, load)
            adam = Network.adam(parameters, settings)
            quantization = IncrementalQuantization(parameters, bits: bits)
        }

        static func adam(_ parameters: [Parameter], _ s: TrainingSettings) -> Adam {
            Adam(parameters, learningRate: s.learningRate, beta1: s.beta1, beta2: s.beta2)
        }

        /// Weights, Adam's state and the quantization masks, under this network's prefix.
        func checkpoint() -> [String: SafeTensorValue] {
            var tensors: [String: SafeTensorValue] = [:]
            for (name, value) in state() { tensors["\(prefix).\(name)"] = value }
            for (name, value) in adam.stateDict() { tensors["\(prefix).optimizer.\(name)"] = value }
            return tensors.merging(quantization.stateDict(prefix: "\(prefix).quantized.")) { $1 }
        }

        func restore(_ tensors: [String: SafeTensorValue]) throws {
            try load(tensors.strippingPrefix("\(prefix).").filter { !$0.key.hasPrefix("optimizer.") && !$0.key.hasPrefix("quantized.") })
            try adam.load(tensors.strippingPrefix("\(prefix).optimizer."))
            try quantization.load(tensors, prefix: "\(prefix).quantized.")
        }
    }

    func run(
        store: CheckpointStore, progress: (EpochRecord, _ done: Int) -> Void
    ) throws -> (models: TrainedNetworks, records: [EpochRecord]) {
        let s = settings, k = s.learners
        let learners = (0..<k).map { AutoEncoder(s.modelConfig, seed: s.modelSeed($0)) }
        let meta = s.uncertaintyMethod.metaLearner(s)
        let networks = self.networks(learners, meta: meta)
        var records: [EpochRecord] = []
        var startEpoch = 1, steps = 0
        if let saved = try store.load(learner: 0) {
            for network in networks { try network.restore(saved.tensors) }
            guard case .int64(_, let values)? = saved.tensors["quantization_steps"], let done = values.first else {
                throw TrainingError("qdd checkpoint: 'quantization_steps' is missing")
            }
            (records, startEpoch, steps) = (saved.records, saved.epoch + 1, Int(done))
        }
        // Cumulative shares after each step; the last is every weight.
        let shares = s.quantPartitions.indices.map { $0 == s.quantPartitions.count - 1 ? 1 : s.quantPartitions[...$0].reduce(0, +) }
        func quantize(through step: Int) {
            while steps < step {
                for network in networks {
                    network.quantization.quantize(upTo: shares[steps])
                    network.adam = Network.adam(network.parameters, s)
                }
                steps += 1
            }
        }
        let total = s.uncertaintyMethod.epochs(s)
        var lastSave = DispatchTime.now().uptimeNanoseconds
        if startEpoch <= total {
            for epoch in startEpoch...total {
                quantize(through: epoch <= s.epochs ? 0 : (epoch - s.epochs - 1) / s.quantEpochs + 1)
                let start = DispatchTime.now().uptimeNanoseconds
                var epochRecords = try trainEpoch(epoch, learners: learners, meta: meta, networks: networks, quantizing: steps > 0)
                if let validation = trainer.validation,
                    epoch == 1 || (s.validateEvery > 0 && epoch % s.validateEvery == 0) || epoch == total
                {
                    for (index, model) in learners.enumerated() {
                        (epochRecords[index].validationAUROC, epochRecords[index].validationAP) = try trainer.validate(on: validation) {
                            try model.forward($0, training: false)
                        }
                    }
                    if let meta {
                        (epochRecords[k].validationAUROC, epochRecords[k].validationAP) = try trainer.validate(on: validation) {
                            try Self.fused($0, learners: learners, meta: meta)
                        }
                    }
                }
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                for index in epochRecords.indices { epochRecords[index].seconds = seconds }
                records += epochRecords
                let now = DispatchTime.now().uptimeNanoseconds
                if epoch == total || Double(now - lastSave) / 1e9 >= store.interval {
                    try save(networks, steps: steps, epoch: epoch, records: records, store: store)
                    lastSave = DispatchTime.now().uptimeNanoseconds
                }
                for record in epochRecords { progress(record, records.count) }
            }
        }
        // quant_epochs 0: the steps come one after another once training ends.
        if steps < shares.count {
            quantize(through: shares.count)
            try save(networks, steps: steps, epoch: total, records: records, store: store)
        }
        for model in learners {
            model.setFrozen(true)
            model.releaseCaches()
        }
        meta?.setFrozen(true)
        meta?.releaseCaches()
        return (TrainedNetworks(learners, meta: meta), records)
    }

    /// The learners' and the meta-learner's optimisers and quantizations, the meta-learner last.
    func networks(_ learners: [AutoEncoder], meta: MetaDecoder?) -> [Network] {
        let s = settings
        var networks = learners.enumerated().map { index, model in
            Network(
                prefix: "learner\(index)", parameters: model.parameters, settings: s, bits: QDD.bits(index, s), state: model.stateDict,
                load: model.load)
        }
        if let meta {
            networks.append(
                Network(
                    prefix: "meta", parameters: meta.parameters, settings: s, bits: QDD.bits(learners.count, s), state: meta.stateDict,
                    load: meta.load))
        }
        return networks
    }

    func save(_ networks: [Network], steps: Int, epoch: Int, records: [EpochRecord], store: CheckpointStore) throws {
        var tensors: [String: SafeTensorValue] = ["quantization_steps": .int64(shape: [], values: [Int64(steps)])]
        for network in networks { tensors.merge(network.checkpoint()) { $1 } }
        try store.save(learner: 0, tensors: tensors, epoch: epoch, records: records)
    }

    /// The meta-learner's reconstruction of x (eval mode): the learners' encoder features, fused.
    static func fused(_ x: Tensor, learners: [AutoEncoder], meta: MetaDecoder) throws -> Tensor {
        let levels = try learners.map { model in
            _ = try model.forward(x, training: false)
            defer { model.releaseCaches() }
            return MetaDecoder.levels.map { model.batchLastFeature($0)! }
        }
        defer { meta.releaseCaches() }
        return try meta.forward(levels, training: false)
    }

    /// One epoch of joint steps; one record per learner (and the meta-learner, last).
    func trainEpoch(
        _ epoch: Int, learners: [AutoEncoder], meta: MetaDecoder?, networks: [Network], quantizing: Bool
    ) throws -> [EpochRecord] {
        let size = settings.batchSize, order = trainer.order(learner: 0, epoch: epoch)
        var sums = [(reconstruction: Double, extra: Double)](repeating: (0, 0), count: networks.count)
        var lossSum = 0.0, diversitySum = 0.0
        for b in 0..<trainer.batchesPerEpoch {
            let parts = try step(
                trainer.train.batch(order[b * size..<(b + 1) * size]), learners: learners, meta: meta, networks: networks,
                quantizing: quantizing)
            guard parts.loss.isFinite else {
                var diverged = TrainingDiverged(learner: 0, epoch: epoch, batch: b + 1, loss: parts.loss, lastGoodEpoch: epoch - 1)
                diverged.joint = true
                throw diverged
            }
            for index in networks.indices {
                sums[index].reconstruction += parts.reconstruction[index]
                sums[index].extra += parts.extra[index]
            }
            lossSum += parts.loss
            diversitySum += parts.diversity
        }
        let n = Double(trainer.batchesPerEpoch)
        return networks.indices.map { index in
            var record = EpochRecord(
                learner: index, epoch: epoch, loss: lossSum / n, reconstruction: sums[index].reconstruction / n,
                repulsion: index < learners.count ? diversitySum / n : 0, extra: sums[index].extra / n, seconds: 0)
            record.quantized = networks[index].quantization.quantizedFraction
            return record
        }
    }
}

extension QDDTraining {
    /// One joint step's loss and its parts: each network's reconstruction and extra term, Σ D over the levels.
    struct StepParts {
        var loss = 0.0, diversity = 0.0
        var reconstruction: [Double], extra: [Double]
    }

    /// One joint step on the batch x: forward every network, the coupled loss, backward, and each network's
    /// Adam step (quantized entries' gradients zeroed while `quantizing`). A non-finite loss returns before any
    /// update.
    func step(_ x: Tensor, learners: [AutoEncoder], meta: MetaDecoder?, networks: [Network], quantizing: Bool) throws -> StepParts {
        let s = settings, terms = s.backbone.objectiveTerms(s), alpha = Double(s.diversityWeight)
        var parts = StepParts(
            reconstruction: [Double](repeating: 0, count: networks.count), extra: [Double](repeating: 0, count: networks.count))
        networks.forEach { $0.adam.zeroGrad() }
        var gradients = [ObjectiveGradients](repeating: ObjectiveGradients(), count: learners.count)
        for (index, model) in learners.enumerated() {
            let output = try model.forward(x, training: true)
            let own = try terms.flatMap { try $0.evaluate(model: model, input: x, output: output, gradients: &gradients[index]) }
            parts.loss += own.loss
            parts.reconstruction[index] = own.total(.reconstruction)
            parts.extra[index] = own.total(.extra)
        }
        // −α · D at every level: the gradient of D, scaled by −α, joins each learner's block output. The diversity
        // and the meta-learner work on the layers' batch-last features (D does not depend on the layout): no copies.
        for level in QDD.diversityLevels {
            let result = DeepDiversity.compute(learners.map { $0.batchLastFeature(level)! })
            parts.diversity += result.value
            for index in learners.indices { gradients[index].add(result.gradients[index], scaledBy: Float(-alpha), at: level) }
        }
        parts.loss -= alpha * parts.diversity
        if let meta {
            let output = try meta.forward(learners.map { model in MetaDecoder.levels.map { model.batchLastFeature($0)! } }, training: true)
            var own = ObjectiveGradients()
            let reconstruction = try s.backbone.reconstruction.evaluate(model: learners[0], input: x, output: output, gradients: &own)
            parts.loss += reconstruction.loss
            parts.reconstruction[learners.count] = reconstruction.total(.reconstruction)
            // The meta-learner's gradient flows on into the learners' encoders.
            for (index, levels) in meta.backward(own.output!).enumerated() {
                for (level, gradient) in zip(MetaDecoder.levels, levels) { gradients[index].add(gradient, scaledBy: 1, at: level) }
            }
        }
        // Checked before the update: a NaN step would poison the weights and every later checkpoint.
        guard parts.loss.isFinite else { return parts }
        for (index, model) in learners.enumerated() { gradients[index].backward(through: model, inputGradient: false) }
        for network in networks {
            if quantizing { network.quantization.maskGradients() }
            network.adam.update()
        }
        return parts
    }
}

extension ObjectiveGradients {
    /// Adds scale · gradient into the gradient of block output `feature` (batch-last, as the layers hold it).
    mutating func add(_ gradient: Tensor, scaledBy scale: Float, at feature: String) {
        guard var sum = batchLastFeatures.removeValue(forKey: feature) else {
            batchLastFeatures[feature] = scale == 1 ? gradient : Tensor(shape: gradient.shape, data: gradient.data.map { $0 * scale })
            return
        }
        sum.data.withUnsafeMutableBufferPointer { s in
            gradient.data.withUnsafeBufferPointer { g in for i in s.indices { s[i] += scale * g[i] } }
        }
        batchLastFeatures[feature] = sum
    }
}
