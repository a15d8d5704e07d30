// Dropout: in training, and in "sample" mode at inference for MC-dropout, each value is zeroed with
// probability p and the survivors scaled by 1/(1−p); otherwise the identity. Masks come from a seeded
// generator, so the same seed gives the same masks.
public final class Dropout: Layer {
    public let probability: Float
    /// Draw masks at inference too (MC-dropout).
    public var sampling = false
    private var generator: UniformInit
    private var mask: [Float] = []

    public init(probability: Float, seed: UInt64) {
        precondition(probability >= 0 && probability < 1, "dropout probability must be in [0, 1)")
        self.probability = probability
        generator = UniformInit(seed: seed)
    }

    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        guard (training || sampling) && probability > 0 else {
            mask = []
            return x
        }
        let keep = 1 / (1 - probability)
        mask = generator.uniform(x.count, bound: 1).map { ($0 + 1) / 2 >= probability ? keep : 0 }
        return Tensor(shape: x.shape, data: zip(x.data, mask).map(*))
    }

    public func backward(_ dy: Tensor) -> Tensor {
        mask.isEmpty ? dy : Tensor(shape: dy.shape, data: zip(dy.data, mask).map(*))
    }
}
