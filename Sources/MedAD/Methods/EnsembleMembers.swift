// How members become a member set: each member's reconstruction (AE-U: mean and log-variance) and the input
// gradients the dual-space scores read. An ensemble's learners in eval mode are its members; MC-dropout's passes
// and a layer ensemble's heads go through the same collection. The input gradient is the total derivative,
// through the network and through the loss's own use of x.
import MedNN

/// One member's prediction on a batch and the way back from it: dL/d(its output) → dL/dx through the network
/// alone (the loss's own use of x is added by the collection).
public struct MemberPass {
    public let output: Tensor
    public let backward: (Tensor) -> Tensor
    /// Called once the member's gradients are taken (a learner drops its activations).
    public let done: () -> Void

    public init(output: Tensor, backward: @escaping (Tensor) -> Tensor, done: @escaping () -> Void = {}) {
        (self.output, self.backward, self.done) = (output, backward, done)
    }

    /// A network's eval-mode pass on x: its output, its backward from the output; its activations are dropped
    /// when done, so an ensemble's scoring holds one learner's at a time.
    public init(_ network: AutoEncoder, _ x: Tensor) throws {
        self.init(output: try network.forward(x, training: false), backward: { network.backward($0)! }, done: network.releaseCaches)
    }
}

public enum EnsembleMembers {
    /// Runs every learner on x [N, 1, S, S] (eval mode; no parameter gradient is used).
    public static func collect(_ x: Tensor, learners: [AutoEncoder]) throws -> MemberSet {
        precondition(!learners.isEmpty)
        return try collect(x, members: learners.count) { try MemberPass(learners[$0], x) }
    }

    /// The member set of `members` passes; `pass(k)` runs member k (a learner; the one network with pass k's
    /// dropout masks; a head of one forward pass). Member k's input gradients are taken right after pass(k), so
    /// MC-dropout's masks stay fixed between a pass's output and its gradient.
    public static func collect(
        _ x: Tensor, members: Int, byDepth: Bool = false, pointMember: Int = 0, pass: (Int) throws -> MemberPass
    ) throws -> MemberSet {
        let n = x.shape[0], plane = x.shape[2] * x.shape[3]
        var means: [[Float]] = [], logVariances: [[Float]] = [], dual: [[Float]] = [], dualU: [[Float]] = []
        var uncertainty = false
        for k in 0..<members {
            let member = try pass(k)
            let output = member.output
            uncertainty = output.shape[1] == 2
            // dL/dx: through the network, plus the loss's own use of x.
            func inputGradient(_ result: LossResult) -> Tensor {
                var dx = member.backward(result.dOutput)
                dx.add(result.dTarget)
                return dx
            }
            // dsu: Lₖ = mean|x̂ₖ − x| per image. Loss.l1 averages over the whole batch, so its gradient is the
            // per-image one divided by N (eval mode keeps images independent): scale back by N.
            var l1 = Loss.l1(uncertainty ? OutputChannels.mean(output) : output, x)
            if uncertainty { l1.dOutput = OutputChannels.withZeroLogVarianceGradient(l1.dOutput) }
            let dx = inputGradient(l1)
            let mean = uncertainty ? OutputChannels.mean(output).data : output.data
            means.append(mean)
            dual.append((0..<n * plane).map { abs(mean[$0] - x.data[$0]) * dx.data[$0] * Float(n) })
            if uncertainty {
                logVariances.append(OutputChannels.channel(output, 1).data)
                let dxU = inputGradient(Loss.precisionWeightedError(output, x))
                dualU.append((0..<n * plane).map { abs(mean[$0] - x.data[$0]) * dxU.data[$0] * Float(n) })
            }
            member.done()
        }
        return MemberSet(
            input: x, reconstructions: means, logVariances: uncertainty ? logVariances : nil, dual: dual,
            dualPrecision: uncertainty ? dualU : nil, byDepth: byDepth, pointMember: pointMember)
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
