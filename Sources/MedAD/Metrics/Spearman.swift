// Spearman's rank correlation: Pearson's correlation of the midranks (ties share their mean rank), as SciPy's
// spearmanr; with a percentile bootstrap interval over groups (the shift experiment resamples images, each
// contributing all its magnitudes). Nil when either side is constant.
import Foundation
import MedNN

extension Metrics {
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double? {
        precondition(x.count == y.count)
        let (rx, ry) = (midranks(x), midranks(y))
        let n = Double(x.count), mx = rx.reduce(0, +) / n, my = ry.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for i in rx.indices {
            sxy += (rx[i] - mx) * (ry[i] - my)
            sxx += (rx[i] - mx) * (rx[i] - mx)
            syy += (ry[i] - my) * (ry[i] - my)
        }
        return sxx > 0 && syy > 0 ? sxy / (sxx * syy).squareRoot() : nil
    }

    /// ρ and its percentile 95% interval over `resamples` draws of whole groups with replacement, seeded.
    public static func spearmanInterval(
        groups: [[(x: Double, y: Double)]], resamples: Int, seed: UInt64
    ) -> (rho: Double, low: Double?, high: Double?)? {
        let all = groups.flatMap { $0 }
        guard let rho = spearman(all.map(\.x), all.map(\.y)) else { return nil }
        guard resamples > 0, groups.count > 1 else { return (rho, nil, nil) }
        var generator = SeededGenerator(seed: seed)
        var values: [Double] = []
        for _ in 0..<resamples {
            let drawn = (0..<groups.count).flatMap { _ in groups[Int(generator.next() % UInt64(groups.count))] }
            if let r = spearman(drawn.map(\.x), drawn.map(\.y)) { values.append(r) }
        }
        guard !values.isEmpty else { return (rho, nil, nil) }
        values.sort()
        let at = { (q: Double) in values[min(values.count - 1, Int((q * Double(values.count - 1)).rounded()))] }
        return (rho, at(0.025), at(0.975))
    }
}
