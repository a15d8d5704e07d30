// Linear CKA against PyTorch autograd (Fixtures/cka.safetensors) and finite differences.
import Foundation
import MedNN
import XCTest

final class CKATests: XCTestCase {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    func relativeError(_ a: [Float], _ b: [Float]) -> Float {
        let diff = zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        return diff / max(b.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-12)
    }

    func testCKAMatchesPyTorchAndFiniteDifferences() throws {
        let t = try SafeTensors.read(fixtures.appendingPathComponent("cka.safetensors")).tensors
        let x = try SafeTensors.float(t, "x"), y = try SafeTensors.float(t, "y")
        let result = LinearCKA.compute(x, y)
        XCTAssertEqual(result.value, Double(try SafeTensors.float(t, "cka").data[0]), accuracy: 1e-5)
        XCTAssertGreaterThan(result.value, 0.3, "y is built from x: the features are similar")
        XCTAssertLessThan(relativeError(result.dX.data, try SafeTensors.float(t, "grad.x").data), 1e-4)
        XCTAssertLessThan(relativeError(result.dY.data, try SafeTensors.float(t, "grad.y").data), 1e-4)

        var numeric = [Float](repeating: 0, count: x.count)
        var probe = x
        for i in 0..<x.count {
            let saved = probe.data[i]
            probe.data[i] = saved + 1e-2; let plus = LinearCKA.compute(probe, y).value
            probe.data[i] = saved - 1e-2; let minus = LinearCKA.compute(probe, y).value
            probe.data[i] = saved
            numeric[i] = Float((plus - minus) / 2e-2)
        }
        XCTAssertLessThan(relativeError(result.dX.data, numeric), 1e-2)
        XCTAssertEqual(LinearCKA.compute(x, x).value, 1, accuracy: 1e-6, "a representation is identical to itself")
    }
}
