// Where an anomaly map points, against ground-truth lesion masks: the pixel-level AUROC (every pixel of every
// test image one sample, lesion pixels positive; ties count half) and the best Dice over thresholds
// (Dice = 2·TP / (2·TP + FP + FN) of the pixels at or above the threshold, over all images at once; the threshold
// that maximises it is reported), as anomaly-detection benchmarks report localisation.
import Foundation

extension Metrics {
    public static func localisation(map: [Double], mask: [Bool]) -> (auroc: Double?, dice: Double, threshold: Double)? {
        precondition(map.count == mask.count)
        let positives = mask.reduce(0) { $0 + ($1 ? 1 : 0) }, negatives = mask.count - positives
        guard positives > 0 else { return nil }
        // One sweep of the thresholds from the highest value down, one distinct value at a time, gives both: Dice at
        // each threshold, and the Mann–Whitney count (each negative above which `tp` positives already lie, plus
        // half of the positives tied with it) — the AUROC with ties counted half, without a second sort of the
        // millions of pixels.
        let order = map.indices.sorted { map[$0] > map[$1] }
        var tp = 0, fp = 0, best = (dice: 0.0, threshold: map[order[0]]), i = 0
        var pairs = 0.0
        while i < order.count {
            let value = map[order[i]]
            var (groupTP, groupFP) = (0, 0)
            while i < order.count && map[order[i]] == value {
                if mask[order[i]] { groupTP += 1 } else { groupFP += 1 }
                i += 1
            }
            pairs += Double(groupFP) * (Double(tp) + Double(groupTP) / 2)
            (tp, fp) = (tp + groupTP, fp + groupFP)
            let dice = 2 * Double(tp) / Double(tp + fp + positives)
            if dice > best.dice { best = (dice, value) }
        }
        let auroc = negatives > 0 ? pairs / (Double(positives) * Double(negatives)) : nil
        return (auroc, best.dice, best.threshold)
    }
}
