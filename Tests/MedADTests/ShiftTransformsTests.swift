// The shift experiment's transforms and Spearman's ρ, by hand: rotation by 0° and 360° is the identity, by 90°
// the exact grid rotation (clockwise as displayed), by 45° black corners; the elastic field has RMS length 1 and
// strength 0 leaves the image; ρ of ranks with ties as SciPy's spearmanr.
import MedAD
import MedNN
import XCTest

final class ShiftTransformsTests: XCTestCase {
    let size = 6
    lazy var image: [Float] = (0..<36).map { Float($0) / 35 * 2 - 1 }

    func testRotation() {
        let slice = image[...]
        XCTAssertEqual(ShiftTransforms.rotate(slice, size: size, degrees: 0), image)
        for (a, b) in zip(ShiftTransforms.rotate(slice, size: size, degrees: 360), image) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        // Clockwise as displayed (rows run down) by 90°: output (x, y) comes from source column y, row size − 1 − x.
        let quarter = ShiftTransforms.rotate(slice, size: size, degrees: 90)
        for y in 0..<size {
            for x in 0..<size { XCTAssertEqual(quarter[y * size + x], image[(size - 1 - x) * size + y], accuracy: 1e-5, "(\(x), \(y))") }
        }
        XCTAssertEqual(ShiftTransforms.rotate(slice, size: size, degrees: 45)[0], -1, "a corner rotated out is black")
    }

    func testElasticField() {
        let field = ShiftTransforms.field(size: 16, sigma: 2, seed: 8, index: 3)
        let rms = (zip(field.dx, field.dy).reduce(0) { $0 + $1.0 * $1.0 + $1.1 * $1.1 } / 256).squareRoot()
        XCTAssertEqual(rms, 1, accuracy: 1e-12)
        XCTAssertEqual(ShiftTransforms.field(size: 16, sigma: 2, seed: 8, index: 3).dx, field.dx, "seeded")
        XCTAssertNotEqual(ShiftTransforms.field(size: 16, sigma: 2, seed: 8, index: 4).dx, field.dx, "one field per image")
        let picture = (0..<256).map { Float($0 % 16) / 8 - 1 }
        XCTAssertEqual(ShiftTransforms.deform(picture[...], size: 16, field: field, strength: 0), picture)
        XCTAssertNotEqual(ShiftTransforms.deform(picture[...], size: 16, field: field, strength: 2), picture)
    }

    /// x = (1, 2, 3, 4, 5), y = (5, 6, 7, 8, 7): ranks of y (1, 2, 3.5, 5, 3.5); Pearson of the ranks = 0.820783
    /// (SciPy's spearmanr gives 0.8207826816681233).
    func testSpearmanWithTies() throws {
        XCTAssertEqual(try XCTUnwrap(Metrics.spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])), 0.8207826816681233, accuracy: 1e-12)
        XCTAssertEqual(Metrics.spearman([1, 2, 3], [3, 2, 1]), -1)
        XCTAssertNil(Metrics.spearman([1, 2, 3], [4, 4, 4]))
    }
}
