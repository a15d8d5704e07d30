// The train stage's method names: each method's own, and `independent` still meaning deep_ensemble.
import Foundation
import MedAD
import Pipeline
import XCTest

@testable import Stages

final class TrainMethodTests: XCTestCase {
    func method(_ name: String) throws -> EnsembleMethod {
        let yaml = "name: t\nrun_dir: /nonexistent-medad-test\nstages:\n  train: {kind: train, params: {method: \(name)}}\n"
        let manifest = try Manifest.parse(yaml, file: URL(fileURLWithPath: "/tmp/t.yaml"), registry: stageRegistry)
        return try TrainStage(parameters: manifest.stage("train")!.parameters).settings.method
    }

    func testMethodNamesAndTheOldAlias() throws {
        XCTAssertEqual(try method("d2ue"), .d2ue)
        XCTAssertEqual(try method("deep_ensemble"), .deepEnsemble)
        XCTAssertEqual(try method("independent"), .deepEnsemble)
        XCTAssertThrowsError(try method("bagging")) { XCTAssertTrue("\($0)".contains("t.yaml:4: stages.train.params.method"), "\($0)") }
    }
}
