// Per-image anomaly scores from an ensemble of K autoencoders in eval mode (DESIGN.md section 3), each the mean
// over pixels of a per-pixel map:
//   rec_k    (x̂ₖ − x)²                      one learner (rec_0 is the single-model baseline)
//   ens_rec  (x − mean_k x̂ₖ)²
//   ens_std  std_k(x̂ₖ), unbiased              output-space uncertainty
//   dsu      std_k(|x̂ₖ − x| ⊙ ∂Lₖ/∂x), Lₖ = mean|x̂ₖ − x| over the image's pixels   dual-space uncertainty
// and, for AE-U (mean x̂ₖ and log-variance sₖ, σ̄² = mean_k exp(sₖ)):
//   ens_rec_u (x − mean_k x̂ₖ)² / σ̄²,  ens_std_u √(var_k x̂ₖ / σ̄²),  dsu_u std_k(dₖ / σ̄) with Lₖ = mean(exp(−sₖ)(x − x̂ₖ)²).
// The gradient is the total derivative: through the network and through the loss's own use of x.
import Foundation
import MedNN

public struct EnsembleScores: Sendable {
    /// Score names in column order.
    public let names: [String]
    /// One row per image, one value per name.
    public let values: [[Double]]
    /// Per-pixel maps for each image (ens mean reconstruction and, by score name, the map), when asked for.
    public let maps: [ScoreMaps]
}

public struct ScoreMaps: Sendable {
    public let reconstruction: [Float]
    public let byScore: [String: [Float]]
}

public enum AnomalyScorer {
    public static func names(learners: Int, uncertainty: Bool) -> [String] {
        (0..<learners).map { "rec_\($0)" } + ["rec", "ens_rec", "ens_std", "dsu"]
            + (uncertainty ? ["ens_rec_u", "ens_std_u", "dsu_u"] : [])
    }

    /// Scores one batch x [N, 1, S, S] with every learner (eval mode, parameters frozen by the caller or not:
    /// no parameter gradient is used). `keepMaps` returns the per-pixel maps too.
    public static func score(_ x: Tensor, learners: [AutoEncoder], keepMaps: Bool = false) throws -> EnsembleScores {
        precondition(!learners.isEmpty)
        let uncertainty = learners[0].config.outputChannels == 2
        let n = x.shape[0], plane = x.shape[2] * x.shape[3], k = learners.count
        var means: [[Float]] = [], logVariances: [[Float]] = [], dual: [[Float]] = [], dualU: [[Float]] = []
        for learner in learners {
            // dsu: Lₖ = mean|x̂ₖ − x| per image. Loss.l1 averages over the whole batch, so its gradient is the
            // per-image one divided by N (eval mode keeps images independent): scale back by N.
            let (output, _, dx) = try learner.inputGradient(x, training: false) { output, target in
                guard uncertainty else { return Loss.l1(output, target) }
                var result = Loss.l1(meanChannel(output), target)
                result.dOutput = withZeroLogVarianceGradient(result.dOutput)
                return result
            }
            let mean = uncertainty ? meanChannel(output).data : output.data
            means.append(mean)
            dual.append((0..<n * plane).map { abs(mean[$0] - x.data[$0]) * dx.data[$0] * Float(n) })
            if uncertainty {
                logVariances.append(channel(output, 1).data)
                let dxU = learner.inputGradient(of: Loss.precisionWeightedError(output, x))
                dualU.append((0..<n * plane).map { abs(mean[$0] - x.data[$0]) * dxU.data[$0] * Float(n) })
            }
        }
        let names = Self.names(learners: k, uncertainty: uncertainty)
        var rows: [[Double]] = [], maps: [ScoreMaps] = []
        for i in 0..<n {
            let pixels = i * plane..<(i + 1) * plane
            var recs = [Double](repeating: 0, count: k)
            var ensRec = 0.0, ensStd = 0.0, dsu = 0.0, ensRecU = 0.0, ensStdU = 0.0, dsuU = 0.0
            var mapRec = [Float](), mapEnsRec = [Float](), mapEnsStd = [Float](), mapDsu = [Float]()
            var reconstruction = [Float]()
            for p in pixels {
                let target = Double(x.data[p])
                let predictions = means.map { Double($0[p]) }
                for j in 0..<k { recs[j] += (predictions[j] - target) * (predictions[j] - target) }
                let average = predictions.reduce(0, +) / Double(k)
                let spread = variance(predictions)
                let er = (target - average) * (target - average), es = spread.squareRoot()
                let d = variance(dual.map { Double($0[p]) }).squareRoot()
                ensRec += er; ensStd += es; dsu += d
                if uncertainty {
                    let sigma2 = logVariances.map { exp(Double($0[p])) }.reduce(0, +) / Double(k)
                    ensRecU += er / sigma2
                    ensStdU += (spread / sigma2).squareRoot()
                    dsuU += variance(dualU.map { Double($0[p]) / sigma2.squareRoot() }).squareRoot()
                }
                if keepMaps {
                    reconstruction.append(Float(average))
                    mapRec.append(Float((predictions[0] - target) * (predictions[0] - target)))
                    mapEnsRec.append(Float(er)); mapEnsStd.append(Float(es)); mapDsu.append(Float(d))
                }
            }
            let count = Double(plane)
            var row = recs.map { $0 / count }
            row += [recs[0] / count, ensRec / count, ensStd / count, dsu / count]
            if uncertainty { row += [ensRecU / count, ensStdU / count, dsuU / count] }
            rows.append(row)
            if keepMaps {
                maps.append(
                    ScoreMaps(
                        reconstruction: reconstruction, byScore: ["rec": mapRec, "ens_rec": mapEnsRec, "ens_std": mapEnsStd, "dsu": mapDsu])
                )
            }
        }
        return EnsembleScores(names: names, values: rows, maps: maps)
    }

    /// Unbiased variance (0 for fewer than two values).
    static func variance(_ values: [Double]) -> Double {
        guard values.count > 1 else { return 0 }
        let mean = values.reduce(0, +) / Double(values.count)
        return values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)
    }

    /// Channel 0 (the mean) of an AE-U output [N, 2, H, W], as [N, 1, H, W].
    static func meanChannel(_ output: Tensor) -> Tensor { channel(output, 0) }

    /// One channel of an [N, C, H, W] tensor, as [N, 1, H, W].
    static func channel(_ t: Tensor, _ c: Int) -> Tensor {
        let n = t.shape[0], channels = t.shape[1], plane = t.shape[2] * t.shape[3]
        var data = [Float](repeating: 0, count: n * plane)
        for i in 0..<n {
            let start = (i * channels + c) * plane
            for p in 0..<plane { data[i * plane + p] = t.data[start + p] }
        }
        return Tensor(shape: [n, 1, t.shape[2], t.shape[3]], data: data)
    }

    /// [N, 1, H, W] gradient for the mean channel → [N, 2, H, W] with zeros for the log-variance channel.
    static func withZeroLogVarianceGradient(_ d: Tensor) -> Tensor {
        let n = d.shape[0], plane = d.shape[2] * d.shape[3]
        var out = Tensor(zeros: [n, 2, d.shape[2], d.shape[3]])
        for i in 0..<n { for p in 0..<plane { out.data[2 * i * plane + p] = d.data[i * plane + p] } }
        return out
    }
}
