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
            let chosen = Self.largest(target - done, of: p.value.data, except: masks[t])
            p.value.data.withUnsafeMutableBufferPointer { w in for i in chosen { w[i] = quantized[i] } }
            masks[t].withUnsafeMutableBufferPointer { m in for i in chosen { m[i] = true } }
        }
    }

    /// The indices of the `count` largest magnitudes among the entries not `excluded`, ties taken in index order.
    /// A selection, not a sort: sorting the 2.1 M entries of the AE's largest linear weight by (magnitude, index)
    /// took 1.4 s a tensor here; the threshold's quickselect takes a few milliseconds.
    static func largest(_ count: Int, of values: [Float], except excluded: [Bool]) -> [Int] {
        let candidates = values.indices.filter { !excluded[$0] }
        guard count < candidates.count else { return candidates }
        guard count > 0 else { return [] }
        var magnitudes = candidates.map { abs(values[$0]) }
        let threshold = kthLargest(&magnitudes, count)
        var picked = candidates.filter { abs(values[$0]) > threshold }
        for i in candidates where picked.count < count && abs(values[i]) == threshold { picked.append(i) }
        return picked
    }

    /// The k-th largest value (1-based) of `values`, which it reorders: Hoare's selection with a middle pivot.
    static func kthLargest(_ values: inout [Float], _ k: Int) -> Float {
        var low = 0, high = values.count - 1
        let target = k - 1
        while low < high {
            let pivot = values[(low + high) / 2]
            var i = low, j = high
            while i <= j {
                while values[i] > pivot { i += 1 }
                while values[j] < pivot { j -= 1 }
                if i <= j {
                    values.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if target <= j { high = j } else if target >= i { low = i } else { break }
        }
        return values[target]
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
        let quantized = masks.reduce(0) { sum, mask in sum + mask.reduce(0) { $0 + ($1 ? 1 : 0) } }
        return total == 0 ? 0 : Double(quantized) / Double(total)
    }

    /// The masks for a checkpoint, `<prefix><weight name>`: bits packed 64 to an int64 word, entry i in bit i % 64
    /// of word i / 64 (as floats they were 54 MB a checkpoint for three learners).
    public func stateDict(prefix: String) -> [String: SafeTensorValue] {
        var state: [String: SafeTensorValue] = [:]
        for (t, p) in weights.enumerated() {
            var words = [Int64](repeating: 0, count: (masks[t].count + 63) / 64)
            for (i, quantized) in masks[t].enumerated() where quantized { words[i / 64] |= Int64(bitPattern: 1 << UInt64(i % 64)) }
            state[prefix + p.name] = .int64(shape: [words.count], values: words)
        }
        return state
    }

    public func load(_ state: [String: SafeTensorValue], prefix: String) throws {
        masks = try weights.map { p in
            guard case .int64(_, let words)? = state[prefix + p.name], words.count == (p.value.count + 63) / 64 else {
                throw SafeTensorsError("quantization mask '\(prefix + p.name)' is missing or not \((p.value.count + 63) / 64) words")
            }
            return (0..<p.value.count).map { words[$0 / 64] & Int64(bitPattern: 1 << UInt64($0 % 64)) != 0 }
        }
    }
}
