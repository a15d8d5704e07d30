// Where an anomaly map points, against ground-truth lesion masks: the pixel-level AUROC (every pixel of every
// test image one sample, lesion pixels positive; ties count half) and the best Dice over thresholds
// (Dice = 2·TP / (2·TP + FP + FN) of the pixels at or above the threshold, over all images at once; the threshold
// that maximises it is reported), as anomaly-detection benchmarks report localisation.
import Foundation

extension Metrics {
    public static func localisation(map: [Double], mask: [Bool]) -> (auroc: Double?, dice: Double, threshold: Double)? {
        precondition(map.count == mask.count)
        let positives = mask.reduce(0) { $0 + ($1 ? 1 : 0) }
        guard positives > 0 else { return nil }
        let auroc = Metrics.auroc(map, mask.map { $0 ? 1 : 0 })
        // Sweep thresholds from the highest value down, one distinct value at a time.
        let order = map.indices.sorted { map[$0] > map[$1] }
        var tp = 0, fp = 0, best = (dice: 0.0, threshold: map[order[0]]), i = 0
        while i < order.count {
            let value = map[order[i]]
            while i < order.count && map[order[i]] == value {
                if mask[order[i]] { tp += 1 } else { fp += 1 }
                i += 1
            }
            let dice = 2 * Double(tp) / Double(tp + fp + positives)
            if dice > best.dice { best = (dice, value) }
        }
        return (auroc, best.dice, best.threshold)
    }
}
