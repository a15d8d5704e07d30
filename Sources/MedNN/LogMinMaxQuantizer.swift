// QDD-Ens's weight quantizer (log-min-max, as the reference's scripts/quant.py): each weight's magnitude goes to
// the log domain, u = log(|w| + 1e-20); u is min-max scaled over the tensor, rounded to 2^bits − 1 steps and
// scaled back; the weight is sign(w) · exp(û). One bit keeps the sign alone. Float32 throughout, as PyTorch's.
// Training through it is straight-through: the quantized weight's gradient is passed to the weight unchanged.
import Foundation

public enum LogMinMaxQuantizer {
    public static func quantize(_ weights: [Float], bits: Int) -> [Float] {
        precondition(bits >= 1, "quantization needs at least one bit")
        let sign = weights.map { $0 > 0 ? Float(1) : ($0 < 0 ? -1 : 0) }
        guard bits > 1 else { return sign }
        let logs = weights.map { Foundation.log(abs($0) + 1e-20) }
        guard let low = logs.min(), let high = logs.max() else { return [] }
        // The reference takes min and max as Python floats: the scale's sums are in double, then rounded to float.
        let steps = Float((1 << bits) - 1)
        let denominator = Float(1e-9 + Double(high) - Double(low)), range = Float(Double(high) - Double(low))
        return logs.indices.map { i in
            let scaled = (logs[i] - low) / denominator
            let rounded = (scaled * steps + 0.5).rounded(.down) / steps
            return Foundation.exp(rounded * range + low) * sign[i]
        }
    }
}
