// QDD-Ens's meta-learner (B0), adapted from segmentation to reconstruction: a decoder with no encoder of its own,
// fed with K learners' encoder features at every level, giving one more reconstruction of the input.
//   level l = 1…4 (en1…en4: C = w, 2w, 4w, 4w channels at S/2 … S/16): the K learners' features concatenated
//     along channels [K·C] → fuse<l>: 1×1 convolution (no bias) → BatchNorm → ReLU → [C]
//   up1: ConvTranspose(4w → 4w) on fuse4                 → [4w, S/8]
//   up2: ConvTranspose(8w → 2w) on [up1, fuse3]          → [2w, S/4]
//   up3: ConvTranspose(4w → w)  on [up2, fuse2]          → [w, S/2]
//   up4: ConvTranspose(2w → out) on [up3, fuse1]         → [out, S]
// each with kernel 4, stride 2, padding 1, then BatchNorm → ReLU, except up4 (as the AE's last block); `out` is the
// backbone's (AE-U: mean and log-variance). The reference's B0 is a full CE-Net whose own encoder stream absorbs
// the learners' features level by level (1×1 fusions with channel attention); here the learners' encoders already
// see the image, so B0 keeps only the fusion and a U-Net decoder over the fused levels. State_dict names:
// fuse<l>.0.weight, fuse<l>.1.*, up<l>.0.weight, up<l>.1.* (bench/torch_ae.py's MetaDecoder).
import Foundation

public final class MetaDecoder {
    /// The learners' blocks it reads, shallowest first.
    public static let levels = ["en1", "en2", "en3", "en4"]
    public let learners: Int
    let fuse: [[Layer]]
    let up: [[Layer]]
    let norms: [BatchNorm]

    public init(_ config: AutoEncoderConfig, learners: Int, seed: UInt64) {
        precondition(learners >= 1)
        self.learners = learners
        var initializer = UniformInit(seed: seed)
        let w = config.baseWidth
        let channels = [w, 2 * w, 4 * w, 4 * w]
        var norms: [BatchNorm] = []
        // Each BatchNorm with the ReLU after it (BatchNorm's relu).
        func normReLU(_ name: String, _ channels: Int) -> BatchNorm {
            norms.append(BatchNorm(name, channels: channels, relu: true))
            return norms.last!
        }
        fuse = channels.enumerated().map { index, c in
            [
                Conv2d(
                    "fuse\(index + 1).0", inChannels: learners * c, outChannels: c, kernel: 1, stride: 1, padding: 0,
                    initializer: &initializer),
                normReLU("fuse\(index + 1).1", c),
            ]
        }
        let blocks = [(4 * w, 4 * w), (8 * w, 2 * w), (4 * w, w), (2 * w, config.outputChannels)]
        up = blocks.enumerated().map { index, io in
            let deconv = ConvTranspose2d(
                "up\(index + 1).0", inChannels: io.0, outChannels: io.1, kernel: 4, stride: 2, padding: 1, initializer: &initializer)
            return index == 3 ? [deconv] : [deconv, normReLU("up\(index + 1).1", io.1)]
        }
        self.norms = norms
    }

    public var parameters: [Parameter] { (fuse + up).flatMap { $0.flatMap(\.parameters) } }

    /// features[k][l]: learner k's output of block levels[l] as its layers hold it, batch-last [C, H, W, N]
    /// (AutoEncoder.batchLastFeature) → the reconstruction, batch-first [N, out, S, S].
    public func forward(_ features: [[Tensor]], training: Bool) throws -> Tensor {
        guard features.count == learners, features.allSatisfy({ $0.count == Self.levels.count }) else {
            throw ShapeError(layer: "MetaDecoder", expected: "\(learners) learners × \(Self.levels.count) levels", got: [features.count])
        }
        // Batch-last, a concatenation along channels is one after the other.
        let fused = try Self.levels.indices.map { l in
            let parts = features.map { $0[l] }
            var h = Tensor(shape: [parts.reduce(0) { $0 + $1.shape[0] }] + parts[0].shape.dropFirst(), data: parts.flatMap(\.data))
            for layer in fuse[l] { h = try layer.forward(h, training: training) }
            return h
        }
        var h = fused[3]
        for (index, block) in up.enumerated() {
            if index > 0 {
                h = Tensor(shape: [h.shape[0] + fused[3 - index].shape[0]] + h.shape.dropFirst(), data: h.data + fused[3 - index].data)
            }
            for layer in block { h = try layer.forward(h, training: training) }
        }
        return h.batchFirst()
    }

    /// dL/d(output), batch-first → dL/d(features[k][l]), batch-last; accumulates the parameters' gradients.
    public func backward(_ dOutput: Tensor) -> [[Tensor]] {
        var g = dOutput.batchLast()
        var dFused = [Tensor?](repeating: nil, count: 4)
        for index in up.indices.reversed() {
            for layer in up[index].reversed() { g = layer.backward(g) }
            guard index > 0 else { dFused[3] = g; break }
            // Split the concatenation: the block below's part first, then the fused level's (equal halves: each
            // block's output has its fused level's channels).
            let own = g.shape[0] / 2
            let rest = Array(g.shape.dropFirst()), plane = rest.reduce(1, *)
            dFused[3 - index] = Tensor(shape: [g.shape[0] - own] + rest, data: Array(g.data[(own * plane)...]))
            g = Tensor(shape: [own] + rest, data: Array(g.data[..<(own * plane)]))
        }
        var result = [[Tensor]](repeating: [], count: learners)
        for l in Self.levels.indices {
            var d = dFused[l]!
            for layer in fuse[l].reversed() { d = layer.backward(d) }
            let rest = Array(d.shape.dropFirst()), part = d.count / learners
            for k in 0..<learners {
                result[k].append(Tensor(shape: [d.shape[0] / learners] + rest, data: Array(d.data[k * part..<(k + 1) * part])))
            }
        }
        return result
    }

    public func releaseCaches() { (fuse + up).forEach { $0.forEach { $0.releaseCaches() } } }
    public func setFrozen(_ frozen: Bool) { parameters.forEach { $0.frozen = frozen } }

    public func stateDict() -> [String: SafeTensorValue] { StateDict.of(parameters: parameters, norms: norms) }

    public func load(_ state: [String: SafeTensorValue]) throws {
        try StateDict.load(state, parameters: parameters, norms: norms, architecture: "meta-learner over \(learners) learners")
    }
}
