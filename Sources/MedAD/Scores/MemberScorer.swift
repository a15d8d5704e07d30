// Every registered score of a member set: per image, each score's per-pixel map averaged over the pixels (sums
// in pixel order, in Double), and the maps themselves when asked for the gallery.

public struct MemberScores: Sendable {
    /// Score names in column order.
    public let names: [String]
    /// One row per image, one value per name.
    public let values: [[Double]]
    /// Per-pixel maps for each image, when asked for.
    public let maps: [ScoreMaps]
}

public struct ScoreMaps: Sendable {
    /// The members' mean reconstruction.
    public let reconstruction: [Float]
    /// The map of each score that draws one, by name.
    public let byScore: [String: [Float]]
}

public enum MemberScorer {
    public static func score(_ set: MemberSet, scores: [any MemberScore] = ScoreRegistry.all, keepMaps: Bool = false) -> MemberScores {
        let columns = scores.map { $0.columns(set.shape) }
        let names = columns.flatMap { $0 }
        // Each score's first column; the maps of single-column scores that draw one.
        let starts = columns.indices.map { s in columns[..<s].reduce(0) { $0 + $1.count } }
        let mapped = keepMaps ? scores.indices.filter { scores[$0].drawsMap && columns[$0].count == 1 } : []
        var rows: [[Double]] = [], maps: [ScoreMaps] = []
        var values = [Double](repeating: 0, count: names.count)
        for i in 0..<set.images {
            var sums = [Double](repeating: 0, count: names.count)
            var reconstruction = [Float](), byScore = [String: [Float]]()
            for p in i * set.plane..<(i + 1) * set.plane {
                let pixel = PixelMembers(set, pixel: p)
                values.withUnsafeMutableBufferPointer { out in
                    for (s, score) in scores.enumerated() where !columns[s].isEmpty {
                        score.write(pixel, to: UnsafeMutableBufferPointer(rebasing: out[starts[s]..<starts[s] + columns[s].count]))
                    }
                }
                for c in sums.indices { sums[c] += values[c] }
                if keepMaps {
                    for s in mapped { byScore[columns[s][0], default: []].append(Float(values[starts[s]])) }
                    reconstruction.append(Float(pixel.average))
                }
            }
            rows.append(sums.map { $0 / Double(set.plane) })
            if keepMaps { maps.append(ScoreMaps(reconstruction: reconstruction, byScore: byScore)) }
        }
        return MemberScores(names: names, values: rows, maps: maps)
    }
}
