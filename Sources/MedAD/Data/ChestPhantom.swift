// Chest-radiograph-like phantoms: a body outline, two lung fields, ribs, spine and heart shadow, with
// random normal variation. `Lung Opacity` adds what RSNA's readers boxed: diffuse, patchy consolidation of one lung
// or both (bilateral in about a third), each region a few percent up to a third of its lung field, with soft
// borders and texture, and its mask (where the added density is at least a third of its peak) and bounding box;
// `Not Normal` enlarges the heart and, in half the images, adds a pleural effusion (the lung's base whitened up to
// a meniscus), neither of them an opacity. Values are densities in [0, 1]: high is dense, bright on MONOCHROME2.
#if canImport(Glibc)
    import Glibc
    import MedNN
#endif

/// The RSNA detailed classes the phantoms reproduce.
public enum ChestFinding: String, CaseIterable, Sendable {
    case normal = "Normal"
    case lungOpacity = "Lung Opacity"
    case notNormal = "No Lung Opacity / Not Normal"
}

public struct ChestPhantom: Sendable {
    public let size: Int
    public let finding: ChestFinding
    /// Densities, row-major, size × size.
    public let density: [Float]
    /// Number of opacity regions drawn (0 unless lungOpacity).
    public let opacities: Int
    /// Where the opacities are (size × size, row-major) and each region's bounding box in pixels.
    public let lesionMask: [Bool]
    public let boxes: [(x: Int, y: Int, width: Int, height: Int)]

    /// Renders one phantom; all randomness comes from `rng`.
    public init(size: Int, finding: ChestFinding, rng: inout SeededGenerator) {
        self.size = size
        self.finding = finding
        let shift = (rng.uniform(-0.05, 0.05), rng.uniform(-0.05, 0.05))
        let scale = rng.uniform(0.92, 1.06)
        let body = Ellipse(cx: shift.0, cy: 0.05 + shift.1, rx: 0.86 * scale, ry: 0.98 * scale)
        let lungWidth = rng.uniform(0.24, 0.31) * scale
        let lungHeight = rng.uniform(0.50, 0.60) * scale
        let lungs = [-1.0, 1.0].map { side in
            Ellipse(
                cx: shift.0 + side * rng.uniform(0.34, 0.40) * scale, cy: shift.1 - 0.08 + rng.uniform(-0.03, 0.03),
                rx: lungWidth * rng.uniform(0.95, 1.05), ry: lungHeight * rng.uniform(0.95, 1.05))
        }
        let heartScale = (finding == .notNormal ? rng.uniform(1.35, 1.6) : rng.uniform(0.9, 1.1)) * scale
        let heart = Ellipse(cx: shift.0 + 0.1 * scale, cy: shift.1 + 0.28, rx: 0.24 * heartScale, ry: 0.2 * heartScale)
        let ribSpacing = rng.uniform(0.1, 0.125) * scale
        let ribStart = shift.1 - 0.62 * scale
        let ribCurve = rng.uniform(0.25, 0.4)
        let tissue = rng.uniform(0.5, 0.6)
        let lungDarkness = rng.uniform(0.3, 0.4)
        let gain = rng.uniform(0.85, 1.15)
        let offset = rng.uniform(-0.04, 0.04)
        let noise = rng.uniform(0.008, 0.02)
        let waves = (0..<3).map { _ in
            (x: rng.uniform(-1, 1), y: rng.uniform(-1, 1), r: rng.uniform(0.3, 0.8), a: rng.uniform(-0.05, 0.05))
        }
        var regions: [Consolidation] = []
        if finding == .lungOpacity {
            let first = Int(rng.next() % 2)
            let sides = rng.uniform() < 0.35 ? [first, 1 - first] : [first]
            regions = sides.map { Consolidation(in: lungs[$0], rng: &rng) }
        }
        opacities = regions.count
        // Not Normal's second finding: a pleural effusion at one lung's base (a meniscus), no opacity.
        let effusion: (lung: Ellipse, level: Double, a: Double)? =
            finding == .notNormal && rng.uniform() < 0.5
            ? (lungs[Int(rng.next() % 2)], rng.uniform(0.45, 0.75), rng.uniform(0.15, 0.3)) : nil

        var density = [Float](repeating: 0, count: size * size)
        var lesion = [Double](repeating: 0, count: size * size)
        let step = 2.0 / Double(size)
        for row in 0..<size {
            let y = -1 + (Double(row) + 0.5) * step
            for column in 0..<size {
                let x = -1 + (Double(column) + 0.5) * step
                let inBody = body.inside(x, y)
                var d = 0.04 + tissue * inBody
                let inLungs = max(lungs[0].inside(x, y), lungs[1].inside(x, y))
                d -= lungDarkness * inLungs
                // Ribs: parabolic bands across the chest, visible over the lungs.
                let ribPhase = (y - ribStart - ribCurve * (x - shift.0) * (x - shift.0)) / ribSpacing
                if ribPhase > 0 && ribPhase < 10 {
                    let frac = ribPhase - ribPhase.rounded(.down)
                    d += 0.09 * smoothBand(frac, center: 0.5, halfWidth: 0.3) * inBody * (0.4 + 0.6 * inLungs)
                }
                d += 0.12 * smoothBand(x - shift.0, center: 0, halfWidth: 0.08) * inBody
                d += 0.2 * heart.inside(x, y)
                var added = 0.0
                for region in regions { added += region.density(x, y) }
                added *= inLungs
                lesion[row * size + column] = added
                d += added
                if let effusion {
                    // Fluid fills the lung from its base up to `level` (a fraction of its height), curving up at the sides.
                    let lung = effusion.lung
                    let u = (x - lung.cx) / lung.rx, v = (y - lung.cy) / lung.ry
                    let surface = 1 - 2 * effusion.level - 0.35 * u * u
                    d += effusion.a * smoothstep(surface - 0.08, surface + 0.08, v) * lung.inside(x, y)
                }
                for wave in waves {
                    let r2 = ((x - wave.x) * (x - wave.x) + (y - wave.y) * (y - wave.y)) / (wave.r * wave.r)
                    d += wave.a * exp(-r2)
                }
                d = d * gain + offset + noise * rng.normal()
                density[row * size + column] = Float(min(max(d, 0), 1))
            }
        }
        self.density = density
        // The mask: where a region adds at least a third of its peak density; one box per region.
        var mask = [Bool](repeating: false, count: size * size)
        var boxes: [(x: Int, y: Int, width: Int, height: Int)] = []
        for region in regions {
            var (x0, y0, x1, y1) = (size, size, -1, -1)
            for row in 0..<size {
                let y = -1 + (Double(row) + 0.5) * step
                for column in 0..<size {
                    let x = -1 + (Double(column) + 0.5) * step
                    let inLungs = max(lungs[0].inside(x, y), lungs[1].inside(x, y))
                    guard region.density(x, y) * inLungs >= region.amplitude / 3 else { continue }
                    mask[row * size + column] = true
                    (x0, y0, x1, y1) = (min(x0, column), min(y0, row), max(x1, column), max(y1, row))
                }
            }
            if x1 >= x0 { boxes.append((x0, y0, x1 - x0 + 1, y1 - y0 + 1)) }
        }
        lesionMask = mask
        self.boxes = boxes
    }
}

/// One region of consolidation: an elliptic area of a lung (its share of the lung's area uniform in 3%…33%)
/// filled patchily by a few overlapping Gaussian puffs, with a soft border and a fine texture.
private struct Consolidation {
    let area: Ellipse
    let amplitude: Double
    let puffs: [(x: Double, y: Double, s: Double, w: Double)]
    let texture: (Double, Double)

    init(in lung: Ellipse, rng: inout SeededGenerator) {
        let share = rng.uniform(0.03, 0.33)
        let aspect = rng.uniform(0.75, 1.3)
        let rx = lung.rx * share.squareRoot() * aspect, ry = lung.ry * share.squareRoot() / aspect
        let angle = rng.uniform(0, 2 * Double.pi), reach = rng.uniform(0, 0.5).squareRoot()
        let area = Ellipse(
            cx: lung.cx + (lung.rx - rx).magnitude * reach * cos(angle), cy: lung.cy + (lung.ry - ry).magnitude * reach * sin(angle),
            rx: rx, ry: ry)
        self.area = area
        amplitude = rng.uniform(0.2, 0.4)
        puffs = (0..<8).map { _ in
            let a = rng.uniform(0, 2 * Double.pi), r = rng.uniform(0, 0.8).squareRoot()
            return (
                x: area.cx + rx * r * cos(a), y: area.cy + ry * r * sin(a), s: rng.uniform(0.45, 0.9) * min(rx, ry),
                w: rng.uniform(0.6, 1)
            )
        }
        texture = (rng.uniform(0, 2 * Double.pi), rng.uniform(0, 2 * Double.pi))
    }

    /// The density it adds at (x, y): amplitude × patchiness (the puffs, softly clipped) × a soft-edged area ×
    /// texture.
    func density(_ x: Double, _ y: Double) -> Double {
        let r = (((x - area.cx) / area.rx) * ((x - area.cx) / area.rx) + ((y - area.cy) / area.ry) * ((y - area.cy) / area.ry))
            .squareRoot()
        guard r < 1.3 else { return 0 }
        var field = 0.0
        for puff in puffs {
            let d2 = ((x - puff.x) * (x - puff.x) + (y - puff.y) * (y - puff.y)) / (puff.s * puff.s)
            field += puff.w * exp(-d2 / 2)
        }
        let patchy = smoothstep(0.1, 0.9, field)
        let border = 1 - smoothstep(0.7, 1.3, r)
        let grain = 0.85 + 0.15 * cos(37 * x + texture.0) * cos(29 * y + texture.1)
        return amplitude * patchy * border * grain
    }
}

private struct Ellipse {
    let cx, cy, rx, ry: Double
    /// 1 inside, 0 outside, with a soft edge a few pixels wide.
    func inside(_ x: Double, _ y: Double) -> Double {
        let r = (((x - cx) / rx) * ((x - cx) / rx) + ((y - cy) / ry) * ((y - cy) / ry)).squareRoot()
        return 1 - smoothstep(0.94, 1.04, r)
    }
}

private func smoothstep(_ edge0: Double, _ edge1: Double, _ x: Double) -> Double {
    let t = min(max((x - edge0) / (edge1 - edge0), 0), 1)
    return t * t * (3 - 2 * t)
}

private func smoothBand(_ x: Double, center: Double, halfWidth: Double) -> Double {
    1 - smoothstep(halfWidth * 0.5, halfWidth, abs(x - center))
}
