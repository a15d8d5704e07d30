// Dual batch norm (Han et al.'s Medical-Robust-Training, after domain-specific batch norm): two BatchNorms, each
// with its own running statistics and affine parameters, one for clean and one for adversarial batches; `domain`
// picks the one the next forward pass goes through (0 clean, 1 adversarial), and backward goes back through the
// one that ran. PyTorch's names: <name>.bns.0.* and <name>.bns.1.*. Shapes and `relu` as BatchNorm.
public final class DualBatchNorm: Layer {
    /// bns[0] clean, bns[1] adversarial.
    public let bns: [BatchNorm]
    /// The set the next forward pass uses.
    public var domain = 0
    /// The set the last forward pass used (backward's).
    private var used = 0

    public init(_ name: String, channels: Int, relu: Bool = false) {
        bns = [0, 1].map { BatchNorm("\(name).bns.\($0)", channels: channels, relu: relu) }
    }

    public var parameters: [Parameter] { bns.flatMap(\.parameters) }

    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        used = domain
        return try bns[used].forward(x, training: training)
    }

    public func backward(_ dy: Tensor) -> Tensor { bns[used].backward(dy) }

    public func releaseCaches() { bns.forEach { $0.releaseCaches() } }
}
