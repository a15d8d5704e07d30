// DeLong's test for two AUROCs measured on the same images (DeLong, DeLong & Clarke-Pearson 1988), by the
// midrank algorithm of Sun & Xu (2014). With m abnormal (X) and n normal (Y) images, for each score:
//   V10ᵢ = (rank of Xᵢ among all − rank of Xᵢ among the abnormal) / n     (placement of each abnormal image)
//   V01ⱼ = 1 − (rank of Yⱼ among all − rank of Yⱼ among the normal) / m  (of each normal image)
// (midranks: ties count half, as the AUROC does); AUROC = mean V10. With S10, S01 the 2×2 sample covariances of
// (V10ᴬ, V10ᴮ) over the abnormal and (V01ᴬ, V01ᴮ) over the normal images,
//   Var(AUROC_B − AUROC_A) = (S10ᴬᴬ + S10ᴮᴮ − 2 S10ᴬᴮ) / m + (S01ᴬᴬ + S01ᴮᴮ − 2 S01ᴮᴬ) / n,
// z = (AUROC_B − AUROC_A) / SE, two-sided p = erfc(|z| / √2), 95% interval difference ± 1.959964 SE. Signs as
// R's pROC::roc.test and MLstatkit (Tests/MedADTests/Fixtures/make_delong_fixture.py).
import Foundation

public struct DeLongTest: Equatable, Sendable {
    public let aurocA: Double, aurocB: Double
    /// AUROC_B − AUROC_A, its standard error and 95% interval.
    public let difference: Double, standardError: Double, low: Double, high: Double
    public let z: Double, p: Double

    /// Nil without both classes; two identical scores give difference 0, p 1.
    public static func compare(_ a: [Double], _ b: [Double], labels: [Int]) -> DeLongTest? {
        precondition(a.count == b.count && a.count == labels.count, "paired scores")
        let abnormal = labels.indices.filter { labels[$0] == 1 }, normal = labels.indices.filter { labels[$0] != 1 }
        let m = Double(abnormal.count), n = Double(normal.count)
        guard m > 0, n > 0 else { return nil }
        func placements(_ scores: [Double]) -> (v10: [Double], v01: [Double]) {
            let all = Metrics.midranks(scores)
            let within10 = Metrics.midranks(abnormal.map { scores[$0] }), within01 = Metrics.midranks(normal.map { scores[$0] })
            return (
                abnormal.indices.map { (all[abnormal[$0]] - within10[$0]) / n },
                normal.indices.map { 1 - (all[normal[$0]] - within01[$0]) / m }
            )
        }
        let pa = placements(a), pb = placements(b)
        func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }
        func covariance(_ x: [Double], _ y: [Double]) -> Double {
            guard x.count > 1 else { return 0 }
            let (mx, my) = (mean(x), mean(y))
            return zip(x, y).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) } / Double(x.count - 1)
        }
        let aurocA = mean(pa.v10), aurocB = mean(pb.v10), difference = aurocB - aurocA
        let variance =
            (covariance(pa.v10, pa.v10) + covariance(pb.v10, pb.v10) - 2 * covariance(pa.v10, pb.v10)) / m
            + (covariance(pa.v01, pa.v01) + covariance(pb.v01, pb.v01) - 2 * covariance(pa.v01, pb.v01)) / n
        let se = max(variance, 0).squareRoot()
        let z = se > 0 ? difference / se : 0
        return DeLongTest(
            aurocA: aurocA, aurocB: aurocB, difference: difference, standardError: se, low: difference - 1.959964 * se,
            high: difference + 1.959964 * se, z: z, p: se > 0 ? erfc(abs(z) / 2.0.squareRoot()) : 1)
    }
}
