// QDD-Ens's second training stage, incremental quantization (INQ, Zhou et al., as QDD-Ens runs it): each step
// quantizes a further part of every weight tensor of a network with the log-min-max quantizer at the network's
// bit width, the largest magnitudes among the entries not yet quantized first (ties: the lower index), and the
// quantized entries stay fixed while the rest are retrained. The quantizer's min and max are taken over the whole
// tensor as it is at the step (as the reference quantizes the whole tensor and keeps the newly chosen entries),
// so a tensor ends on one grid of 2^bits magnitudes per step: the bit width is each grid's, the diversity knob
// the paper turns, not a storage format.
// Fixed entries: the gradient is taken as for float weights (straight-through: the quantizer is the identity
// for the backward pass) and then zeroed on the quantized entries, so that with Adam's moments started afresh at
// each step (as the reference creates a new optimiser per stage) those entries never move and stay exactly on the
// quantization grid, at scoring too. Weights quantized: those of convolutions, transposed convolutions and linear
// layers (BatchNorm's affine parameters, biases and MemAE's memory stay in float).
import Foundation

public final class IncrementalQuantization {
    public let bits: Int
    let weights: [Parameter]
    /// true: quantized and fixed; one per weight entry.
    public private(set) var masks: [[Bool]]

    public init(_ parameters: [Parameter], bits: Int) {
        precondition(bits >= 1)
        self.bits = bits
        weights = Self.quantizable(parameters)
        masks = weights.map { [Bool](repeating: false, count: $0.value.count) }
    }

    /// Convolution, transposed-convolution and linear weights: `.weight` tensors of two or more dimensions.
    public static func quantizable(_ parameters: [Parameter]) -> [Parameter] {
        parameters.filter { $0.name.hasSuffix(".weight") && $0.value.shape.count >= 2 }
    }

    /// Quantizes every tensor until `fraction` of its entries (rounded to the nearest entry) are quantized.
    public func quantize(upTo fraction: Double) {
        for (t, p) in weights.enumerated() {
            let n = p.value.count
            let target = min(n, Int((fraction * Double(n)).rounded()))
            let done = masks[t].reduce(0) { $0 + ($1 ? 1 : 0) }
            guard target > done else { continue }
            let quantized = LogMinMaxQuantizer.quantize(p.value.data, bits: bits)
            let order = (0..<n).filter { !masks[t][$0] }.sorted {
                let a = abs(p.value.data[$0]), b = abs(p.value.data[$1])
                return a != b ? a > b : $0 < $1
            }
            for i in order.prefix(target - done) {
                p.value.data[i] = quantized[i]
                masks[t][i] = true
            }
        }
    }

    /// Zeroes the gradients of the quantized entries (call between backward and the optimiser's step).
    public func maskGradients() {
        for (t, p) in weights.enumerated() where p.accumulates {
            masks[t].withUnsafeBufferPointer { mask in
                p.grad.data.withUnsafeMutableBufferPointer { g in
                    for i in g.indices where mask[i] { g[i] = 0 }
                }
            }
        }
    }

    /// The share of the quantizable weights that is quantized.
    public var quantizedFraction: Double {
        let total = masks.reduce(0) { $0 + $1.count }
        return total == 0 ? 0 : Double(masks.reduce(0) { $0 + $1.filter { $0 }.count }) / Double(total)
    }

    /// The masks for a checkpoint, `<prefix><weight name>` as 0/1 floats.
    public func stateDict(prefix: String) -> [String: SafeTensorValue] {
        var state: [String: SafeTensorValue] = [:]
        for (t, p) in weights.enumerated() {
            state[prefix + p.name] = .float32(Tensor(shape: p.value.shape, data: masks[t].map { $0 ? 1 : 0 }))
        }
        return state
    }

    public func load(_ state: [String: SafeTensorValue], prefix: String) throws {
        masks = try weights.map { p in
            let t = try SafeTensors.float(state, prefix + p.name)
            guard t.shape == p.value.shape else {
                throw SafeTensorsError("tensor '\(prefix + p.name)': shape \(t.shape), the weight has \(p.value.shape)")
            }
            return t.data.map { $0 != 0 }
        }
    }
}
