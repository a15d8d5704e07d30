// Dropout2d (PyTorch's nn.Dropout2d): each channel of each sample is zeroed whole with probability p and the
// kept ones scaled by 1/(1−p); the identity unless training, or sampling at inference (MC-dropout).
// Shapes: batch-last [C, H, W, N] (or [C, N]) → same; the mask is one value per (channel, sample).
// Masks are drawn from (seed, stream) alone, so a training batch or an MC pass gets the same masks whatever ran
// before it (a resumed run, a re-scored image); `keep` can fix them from outside (tests, PyTorch fixtures).
import CMedNNKernels

public final class ChannelDropout: Layer {
    public let probability: Float
    /// Draw masks at inference too (MC-dropout's passes).
    public var sampling = false
    /// Where the next forward pass draws its masks: the stream's seed and index.
    public var seed: UInt64 = 0
    public var stream: UInt64 = 0
    /// A fixed keep mask [C × N] of 0 and 1 (batch-last: index c·N + n), used instead of drawing; nil to draw.
    public var keep: [Float]?
    /// One stream per sample of the batch (MC-dropout's scoring): each sample's masks then come from
    /// (seed, stream, its own stream), so an image gets the same masks whatever batch it is scored in.
    public var sampleStreams: [UInt64]?
    /// The scaled mask of the last forward pass, one value per (channel, sample); empty for the identity.
    private var mask: [Float] = []
    public func releaseCaches() { mask = [] }

    public init(probability: Float) {
        precondition(probability >= 0 && probability < 1, "dropout probability must be in [0, 1)")
        self.probability = probability
    }

    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        guard (training || sampling) && probability > 0 else {
            mask = []
            return x
        }
        let channels = x.shape[0], samples = x.shape[x.shape.count - 1], scale = 1 / (1 - probability)
        if let keep {
            guard keep.count == channels * samples else {
                throw ShapeError(layer: "ChannelDropout", expected: "a keep mask of \(channels * samples)", got: [keep.count])
            }
            mask = keep.map { $0 * scale }
        } else if let sampleStreams {
            guard sampleStreams.count == samples else {
                throw ShapeError(layer: "ChannelDropout", expected: "\(samples) sample streams", got: [sampleStreams.count])
            }
            mask = [Float](repeating: 0, count: channels * samples)
            for n in 0..<samples {
                var generator = SeededGenerator(seed: seed, index: stream &+ sampleStreams[n] &* 0x9E37_79B9_7F4A_7C15)
                for c in 0..<channels { mask[c * samples + n] = Float(generator.uniform()) >= probability ? scale : 0 }
            }
        } else {
            var generator = SeededGenerator(seed: seed, index: stream)
            mask = (0..<channels * samples).map { _ in Float(generator.uniform()) >= probability ? scale : 0 }
        }
        return Tensor(shape: x.shape, data: apply(x.data, samples: samples))
    }

    public func backward(_ dy: Tensor) -> Tensor {
        mask.isEmpty ? dy : Tensor(shape: dy.shape, data: apply(dy.data, samples: dy.shape[dy.shape.count - 1]))
    }

    /// values ⊙ mask, the mask broadcast over each channel's plane. Batch-last, a channel is `positions` runs of
    /// `samples` values, each run multiplied by that channel's row of the mask (the per-value division and remainder
    /// that found each value's mask entry took 22% of MC-dropout scoring; the runs as a Swift loop, compiled for
    /// plain x86-64, 5%: now in C, cmednnkernels.h).
    private func apply(_ values: [Float], samples: Int) -> [Float] {
        let channels = mask.count / samples, positions = values.count / mask.count
        return [Float](uninitializedCount: values.count) { out in
            values.withUnsafeBufferPointer { x in
                mask.withUnsafeBufferPointer { mask in
                    Parallel.chunks(channels, work: values.count) { range in
                        for c in range {
                            let plane = c * positions * samples
                            med_multiply_runs(x.baseAddress! + plane, positions, samples, mask.baseAddress! + c * samples, out + plane)
                        }
                    }
                }
            }
        }
    }
}
