// The anomaly-map strips of the score stage's gallery: grey 8-bit panels side by side (input | mean
// reconstruction | a score's per-pixel map).
/// Grey 8-bit panels side by side for the anomaly-map strips.
public enum MapStrip {
    public static let gap = 2

    /// Values in [low, high] to 0…255, clamped.
    public static func grey(_ values: [Float], from low: Float, to high: Float) -> [UInt8] {
        values.map { $0.isFinite ? UInt8(clamping: Int(((($0 - low) / (high - low)) * 255).rounded())) : 0 }
    }

    /// Min–max scaled to 0…255 (a flat map is black).
    public static func scaled(_ values: [Float]) -> [UInt8] {
        let finite = values.filter(\.isFinite)
        let low = finite.min() ?? 0, high = finite.max() ?? 0
        return high > low ? grey(values, from: low, to: high) : [UInt8](repeating: 0, count: values.count)
    }

    /// The panel with the outline of `mask` (its pixels with a 4-neighbour outside it) drawn white: where the
    /// ground truth is, on the input and on the map.
    public static func outlined(_ panel: [UInt8], mask: [Bool], size: Int) -> [UInt8] {
        var out = panel
        for p in mask.indices where mask[p] {
            let (x, y) = (p % size, p / size)
            let edge =
                x == 0 || y == 0 || x == size - 1 || y == size - 1 || !mask[p - 1] || !mask[p + 1] || !mask[p - size] || !mask[p + size]
            if edge { out[p] = 255 }
        }
        return out
    }

    /// size × size panels left to right, `gap` white columns between them.
    public static func horizontal(_ panels: [[UInt8]], size: Int) -> [UInt8] {
        let width = panels.count * size + (panels.count - 1) * gap
        var out = [UInt8](repeating: 255, count: width * size)
        for (p, panel) in panels.enumerated() {
            for y in 0..<size { for x in 0..<size { out[y * width + p * (size + gap) + x] = panel[y * size + x] } }
        }
        return out
    }
}
