// Detection metrics of DESIGN.md section 3, abnormal = positive: AUROC with ties counted half (Mann–Whitney),
// average precision as the step-wise Σ (Rₙ − Rₙ₋₁)·Pₙ over distinct thresholds (scikit-learn's definition),
// sensitivity at a fixed specificity, the ROC curve, and seeded bootstrap confidence intervals.
import Foundation
import MedNN

public enum Metrics {
    /// P(score of a random abnormal > score of a random normal) + ½ P(equal). Nil without both classes.
    public static func auroc(_ scores: [Double], _ labels: [Int]) -> Double? {
        let positives = labels.filter { $0 == 1 }.count, negatives = labels.count - positives
        guard positives > 0, negatives > 0 else { return nil }
        // Average ranks over ties, then the Mann–Whitney U of the positives.
        let ranks = midranks(scores)
        let rankSum = labels.indices.reduce(0.0) { $0 + (labels[$1] == 1 ? ranks[$1] : 0) }
        let u = rankSum - Double(positives) * Double(positives + 1) / 2
        return u / (Double(positives) * Double(negatives))
    }

    /// Each value's rank among `values` (1-based), tied values sharing the mean of their ranks.
    static func midranks(_ values: [Double]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var ranks = [Double](repeating: 0, count: values.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && values[order[j + 1]] == values[order[i]] { j += 1 }
            for k in i...j { ranks[order[k]] = Double(i + j) / 2 + 1 }
            i = j + 1
        }
        return ranks
    }

    /// Thresholds at each distinct score, highest first: (true positives, false positives) at or above it.
    static func operatingPoints(_ scores: [Double], _ labels: [Int]) -> [(tp: Int, fp: Int)] {
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var points: [(Int, Int)] = []
        var tp = 0, fp = 0, i = 0
        while i < order.count {
            let value = scores[order[i]]
            while i < order.count && scores[order[i]] == value {
                if labels[order[i]] == 1 { tp += 1 } else { fp += 1 }
                i += 1
            }
            points.append((tp, fp))
        }
        return points
    }

    /// Σ (Rₙ − Rₙ₋₁)·Pₙ over the distinct thresholds, highest first. Nil without an abnormal image.
    public static func averagePrecision(_ scores: [Double], _ labels: [Int]) -> Double? {
        let positives = labels.filter { $0 == 1 }.count
        guard positives > 0 else { return nil }
        var ap = 0.0, previousRecall = 0.0
        for (tp, fp) in operatingPoints(scores, labels) {
            let recall = Double(tp) / Double(positives), precision = Double(tp) / Double(tp + fp)
            ap += (recall - previousRecall) * precision
            previousRecall = recall
        }
        return ap
    }

    /// The highest sensitivity among thresholds whose specificity is at least `specificity`.
    public static func sensitivity(atSpecificity specificity: Double, _ scores: [Double], _ labels: [Int]) -> Double? {
        let positives = labels.filter { $0 == 1 }.count, negatives = labels.count - positives
        guard positives > 0, negatives > 0 else { return nil }
        var best = 0.0
        for (tp, fp) in operatingPoints(scores, labels) where 1 - Double(fp) / Double(negatives) >= specificity - 1e-12 {
            best = max(best, Double(tp) / Double(positives))
        }
        return best
    }

    /// The ROC curve from (0, 0) to (1, 1): (false positive rate, true positive rate) at each distinct threshold.
    public static func rocCurve(_ scores: [Double], _ labels: [Int]) -> [(fpr: Double, tpr: Double)] {
        let positives = max(labels.filter { $0 == 1 }.count, 1), negatives = max(labels.count - labels.filter { $0 == 1 }.count, 1)
        return [(0, 0)] + operatingPoints(scores, labels).map { (Double($0.fp) / Double(negatives), Double($0.tp) / Double(positives)) }
    }

    public struct Interval: Equatable, Sendable {
        public var low: Double
        public var high: Double
    }

    /// Percentile (2.5 %, 97.5 % for 0.95) bootstrap intervals of a metric. Each resample draws the normal and
    /// the abnormal images separately with replacement (stratified, so every resample has both classes and
    /// the class balance of the test set); the same seed gives the same intervals.
    public static func bootstrap(
        _ scores: [Double], _ labels: [Int], resamples: Int, seed: UInt64, confidence: Double = 0.95,
        metric: ([Double], [Int]) -> Double?
    ) -> Interval? {
        let positives = scores.indices.filter { labels[$0] == 1 }, negatives = scores.indices.filter { labels[$0] != 1 }
        guard !positives.isEmpty, !negatives.isEmpty, resamples > 0 else { return nil }
        var values: [Double] = []
        values.reserveCapacity(resamples)
        for r in 0..<resamples {
            var generator = SeededGenerator(seed: seed, index: UInt64(r))
            var sampleScores: [Double] = [], sampleLabels: [Int] = []
            for group in [negatives, positives] {
                for _ in group.indices {
                    let pick = group[Int(generator.next() % UInt64(group.count))]
                    sampleScores.append(scores[pick])
                    sampleLabels.append(labels[pick])
                }
            }
            if let value = metric(sampleScores, sampleLabels) { values.append(value) }
        }
        values.sort()
        func quantile(_ q: Double) -> Double {
            // Linear interpolation between order statistics (numpy's default percentile).
            let position = q * Double(values.count - 1), lower = Int(position.rounded(.down)), upper = min(lower + 1, values.count - 1)
            return values[lower] + (values[upper] - values[lower]) * (position - Double(lower))
        }
        let tail = (1 - confidence) / 2
        return Interval(low: quantile(tail), high: quantile(1 - tail))
    }
}
