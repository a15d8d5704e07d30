// The shift-detection experiment's transforms (the deep-learning-uncertainty thesis's experiments 1 and 2) on
// model inputs (S×S, values in [−1, 1], −1 black): rotation about the centre by an angle, and an elastic
// deformation by a smooth random displacement field whose RMS length is the strength in pixels. Both sample
// bilinearly (our own, as the thesis's rotations have no exact reference to match), outside the image is black.
// The elastic field is drawn once per image from (seed, image) and only scaled with the strength, so a larger
// strength deforms the same way, further.
import Foundation
import MedNN

public enum ShiftTransforms {
    /// Rotates one S×S image by `degrees` about its centre, clockwise as displayed (rows running down).
    public static func rotate(_ image: ArraySlice<Float>, size: Int, degrees: Double) -> [Float] {
        let (c, s) = (cos(degrees * .pi / 180), sin(degrees * .pi / 180))
        let centre = Double(size - 1) / 2
        return (0..<size * size).map { p in
            let (x, y) = (Double(p % size) - centre, Double(p / size) - centre)
            // The source of output pixel (x, y): the inverse rotation.
            return sample(image, size: size, x: c * x + s * y + centre, y: -s * x + c * y + centre)
        }
    }

    /// Deforms one S×S image by the field (dx, dy) scaled to an RMS displacement of `strength` pixels.
    public static func deform(_ image: ArraySlice<Float>, size: Int, field: (dx: [Double], dy: [Double]), strength: Double) -> [Float] {
        (0..<size * size).map { p in
            sample(image, size: size, x: Double(p % size) + strength * field.dx[p], y: Double(p / size) + strength * field.dy[p])
        }
    }

    /// A smooth random displacement field for image `index`: white noise in [−1, 1] per pixel and axis, blurred
    /// by a Gaussian of `sigma` pixels, scaled to an RMS length of 1 pixel.
    public static func field(size: Int, sigma: Double, seed: UInt64, index: Int) -> (dx: [Double], dy: [Double]) {
        var generator = SeededGenerator(seed: seed, index: UInt64(index))
        func noise() -> [Double] { (0..<size * size).map { _ in Double(generator.next() >> 11) / Double(1 << 53) * 2 - 1 } }
        let (dx, dy) = (blur(noise(), size: size, sigma: sigma), blur(noise(), size: size, sigma: sigma))
        let rms = (zip(dx, dy).reduce(0) { $0 + $1.0 * $1.0 + $1.1 * $1.1 } / Double(size * size)).squareRoot()
        return rms > 0 ? (dx.map { $0 / rms }, dy.map { $0 / rms }) : (dx, dy)
    }

    /// Separable Gaussian blur (radius 3σ), zero outside the image.
    static func blur(_ values: [Double], size: Int, sigma: Double) -> [Double] {
        let radius = max(1, Int((3 * sigma).rounded(.up)))
        let kernel = (-radius...radius).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let total = kernel.reduce(0, +)
        func pass(_ v: [Double], horizontal: Bool) -> [Double] {
            (0..<size * size).map { p in
                let (x, y) = (p % size, p / size)
                var sum = 0.0
                for (k, w) in kernel.enumerated() {
                    let (sx, sy) = horizontal ? (x + k - radius, y) : (x, y + k - radius)
                    if sx >= 0, sx < size, sy >= 0, sy < size { sum += w * v[sy * size + sx] }
                }
                return sum / total
            }
        }
        return pass(pass(values, horizontal: true), horizontal: false)
    }

    /// Bilinear sample at (x, y) in pixel coordinates; black (−1) outside.
    static func sample(_ image: ArraySlice<Float>, size: Int, x: Double, y: Double) -> Float {
        let (x0, y0) = (Int(x.rounded(.down)), Int(y.rounded(.down)))
        let (fx, fy) = (Float(x - Double(x0)), Float(y - Double(y0)))
        func at(_ px: Int, _ py: Int) -> Float {
            px >= 0 && px < size && py >= 0 && py < size ? image[image.startIndex + py * size + px] : -1
        }
        let top = at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx
        let bottom = at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx
        return top * (1 - fy) + bottom * fy
    }
}
