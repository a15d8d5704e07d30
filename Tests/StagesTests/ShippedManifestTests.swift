// Every manifest shipped in pipelines/ validates: keys, kinds, parameters (each stage kind's own checks, method
// parameters included), upstreams and cycles, as `medad validate` checks them.
import Foundation
import Pipeline
import XCTest

@testable import Stages

final class ShippedManifestTests: XCTestCase {
    func testEveryShippedManifestValidates() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("pipelines")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertTrue(
            Set(["demo.yaml", "methods.yaml", "rsna.yaml", "vindr.yaml", "brain.yaml", "lag.yaml"]).isSubset(of: files), "\(files)")
        setenv("MEDAD_DATA", "/data/medad", 1)  // the dataset manifests' data root
        for file in files {
            let manifest = try Manifest.load(folder.appendingPathComponent(file), registry: stageRegistry)
            XCTAssertFalse(manifest.stages.isEmpty, file)
        }
    }
}
