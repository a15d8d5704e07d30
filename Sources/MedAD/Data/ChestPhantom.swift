// Chest-radiograph-like phantoms: a body outline, two lung fields, ribs, spine and heart shadow, with
// random normal variation; abnormal images add lung opacities (masses) or an enlarged heart.
// Values are densities in [0, 1]: high is dense, bright on a MONOCHROME2 display.
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
    /// Number of opacities drawn (0 unless lungOpacity).
    public let opacities: Int

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
        var masses: [(x: Double, y: Double, r: Double, a: Double)] = []
        if finding == .lungOpacity {
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let lung = lungs[Int(rng.next() % 2)]
                let angle = rng.uniform(0, 2 * Double.pi)
                let radius = rng.uniform(0, 0.7).squareRoot()
                masses.append(
                    (
                        x: lung.cx + lung.rx * radius * cos(angle), y: lung.cy + lung.ry * radius * sin(angle),
                        r: rng.uniform(0.05, 0.16), a: rng.uniform(0.18, 0.4)
                    ))
            }
        }
        opacities = masses.count

        var density = [Float](repeating: 0, count: size * size)
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
                for mass in masses {
                    let r2 = ((x - mass.x) * (x - mass.x) + (y - mass.y) * (y - mass.y)) / (mass.r * mass.r)
                    d += mass.a * exp(-2 * r2)
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
