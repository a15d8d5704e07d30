// The member set of an ensemble of trained autoencoders (D2UE, deep ensemble): each learner in eval mode is one
// member; MC-dropout's passes go through the same collection (MCDropoutMembers). The input gradient is the total derivative, through the network and through the loss's own use of x.
import MedNN

public enum EnsembleMembers {
    /// Runs every learner on x [N, 1, S, S] (eval mode; no parameter gradient is used).
    public static func collect(_ x: Tensor, learners: [AutoEncoder]) throws -> MemberSet {
        precondition(!learners.isEmpty)
        return try collect(x, members: learners.count) { learners[$0] }
    }

    /// The member set of `members` eval-mode passes; `member(k)` readies and returns the network of pass k (a
    /// learner, or the one network with pass k's dropout masks). Each pass's input gradients come from its own
    /// forward pass, so MC-dropout's masks stay fixed between a pass's output and its gradient.
    static func collect(_ x: Tensor, members: Int, member: (Int) -> AutoEncoder) throws -> MemberSet {
        let uncertainty = member(0).config.outputChannels == 2
        let n = x.shape[0], plane = x.shape[2] * x.shape[3]
        var means: [[Float]] = [], logVariances: [[Float]] = [], dual: [[Float]] = [], dualU: [[Float]] = []
        for k in 0..<members {
            let network = member(k)
            // dsu: Lₖ = mean|x̂ₖ − x| per image. Loss.l1 averages over the whole batch, so its gradient is the
            // per-image one divided by N (eval mode keeps images independent): scale back by N.
            let (output, _, dx) = try network.inputGradient(x, training: false) { output, target in
                guard uncertainty else { return Loss.l1(output, target) }
                var result = Loss.l1(OutputChannels.mean(output), target)
                result.dOutput = OutputChannels.withZeroLogVarianceGradient(result.dOutput)
                return result
            }
            let mean = uncertainty ? OutputChannels.mean(output).data : output.data
            means.append(mean)
            dual.append((0..<n * plane).map { abs(mean[$0] - x.data[$0]) * dx.data[$0] * Float(n) })
            if uncertainty {
                logVariances.append(OutputChannels.channel(output, 1).data)
                let dxU = network.inputGradient(of: Loss.precisionWeightedError(output, x))
                dualU.append((0..<n * plane).map { abs(mean[$0] - x.data[$0]) * dxU.data[$0] * Float(n) })
            }
        }
        return MemberSet(
            input: x, reconstructions: means, logVariances: uncertainty ? logVariances : nil, dual: dual,
            dualPrecision: uncertainty ? dualU : nil)
    }
}

/// AE-U's two output channels, mean and log-variance, of an [N, 2, H, W] tensor.
enum OutputChannels {
    /// Channel 0 (the mean), as [N, 1, H, W].
    static func mean(_ output: Tensor) -> Tensor { channel(output, 0) }

    /// One channel of an [N, C, H, W] tensor, as [N, 1, H, W].
    static func channel(_ t: Tensor, _ c: Int) -> Tensor {
        let n = t.shape[0], channels = t.shape[1], plane = t.shape[2] * t.shape[3]
        var data = [Float](repeating: 0, count: n * plane)
        for i in 0..<n {
            let start = (i * channels + c) * plane
            for p in 0..<plane { data[i * plane + p] = t.data[start + p] }
        }
        return Tensor(shape: [n, 1, t.shape[2], t.shape[3]], data: data)
    }

    /// [N, 1, H, W] gradient for the mean channel → [N, 2, H, W] with zeros for the log-variance channel.
    static func withZeroLogVarianceGradient(_ d: Tensor) -> Tensor {
        let n = d.shape[0], plane = d.shape[2] * d.shape[3]
        var out = Tensor(zeros: [n, 2, d.shape[2], d.shape[3]])
        for i in 0..<n { for p in 0..<plane { out.data[2 * i * plane + p] = d.data[i * plane + p] } }
        return out
    }
}
