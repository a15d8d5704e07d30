// Sweeps: a manifest's `matrix` expands into one train and one score stage per cell, sharing the stages before
// them and gathered by one aggregate; `medad report` over the run gives mean ± sd over the seeds per method.
import Foundation
import Pipeline
import XCTest

@testable import Stages

final class MatrixTests: XCTestCase, MedadCLI {
    static let sweep = "matrix:\n  method: [deep_ensemble, d2ue]\n  seed: [1, 2]\n"

    func manifest(_ yaml: String) throws -> Manifest {
        try Manifest.parse(yaml, file: URL(fileURLWithPath: "/tmp/matrix-test/m.yaml"), registry: stageRegistry)
    }

    func testCellsShareTheStagesBeforeTheSweptOneAndAreGathered() throws {
        let base = TinyPipeline.yaml(train: "learners: 2, epochs: 2", score: "maps: 0")
        let yaml = base.replacingOccurrences(of: "stages:\n", with: Self.sweep + "stages:\n")
        let parsed = try manifest(yaml)
        let cells = ["method=deep_ensemble,seed=1", "method=deep_ensemble,seed=2", "method=d2ue,seed=1", "method=d2ue,seed=2"]
        XCTAssertEqual(parsed.cells.map(\.label), cells)
        XCTAssertEqual(
            parsed.stages.map(\.name),
            ["synthesize", "ingest", "normalize", "split"] + cells.map { "train@\($0)" } + cells.map { "score@\($0)" } + ["aggregate"])
        let train = try XCTUnwrap(parsed.stage("train@method=d2ue,seed=2"))
        XCTAssertEqual(train.parameters.values["method"], .string("d2ue"))
        XCTAssertEqual(train.parameters.values["seed"], .int(2))
        XCTAssertEqual(train.after, ["split", "normalize"])
        XCTAssertEqual(parsed.stage("score@method=d2ue,seed=2")?.after, ["train@method=d2ue,seed=2", "split", "normalize"])
        XCTAssertEqual(parsed.stage("aggregate")?.after, cells.map { "score@\($0)" })

        // Errors name the matrix's line and key.
        XCTAssertThrowsError(try manifest(base.replacingOccurrences(of: "stages:\n", with: "matrix:\n  train.seed: [1, two]\nstages:\n"))) {
            XCTAssertTrue("\($0)".contains("m.yaml:4: matrix.train.seed: expected"), "\($0)")
        }
        XCTAssertThrowsError(try manifest(base.replacingOccurrences(of: "stages:\n", with: "matrix:\n  seed: [1, 2]\nstages:\n"))) {
            XCTAssertTrue("\($0)".contains("seed are parameters of synthesize, split, train, aggregate: name the stage"), "\($0)")
        }
        let qualified = try manifest(base.replacingOccurrences(of: "stages:\n", with: "matrix:\n  train.seed: [1, 2]\nstages:\n"))
        XCTAssertEqual(qualified.stages.filter { $0.kind == "train" }.map(\.name), ["train@seed=1", "train@seed=2"])
        XCTAssertThrowsError(try manifest(base.replacingOccurrences(of: "stages:\n", with: "matrix:\n  colour: [red]\nstages:\n"))) {
            XCTAssertTrue("\($0)".contains("no stage takes all of colour"), "\($0)")
        }
        XCTAssertThrowsError(
            try manifest(
                base.replacingOccurrences(of: "stages:\n", with: Self.sweep + "stages:\n").replacingOccurrences(
                    of: "learners: 2", with: "seed: 4, learners: 2"))
        ) { XCTAssertTrue("\($0)".contains("matrix: stage 'train' also sets seed"), "\($0)") }
    }

    func testSweepRunsEveryCellAndReportsMeanOverSeeds() throws {
        let (folder, path) = try TinyPipeline.workspace(self, "matrix")
        try TinyPipeline.yaml(train: "learners: 2, epochs: 2", score: "maps: 0")
            .replacingOccurrences(of: "stages:\n", with: Self.sweep + "stages:\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let validate = try medad("validate", path)
        XCTAssertTrue(
            validate.output.contains("matrix: 4 cells: method=deep_ensemble,seed=1; method=deep_ensemble,seed=2"), validate.output)
        let run = try medad("run", path)
        XCTAssertEqual(run.code, 0, run.output)
        let rows = try CSV.records(folder.appendingPathComponent("run/aggregate/aggregate.csv"), as: AggregateRow.self)
        let ensRec = rows.filter { $0.score == "ens_rec" }
        XCTAssertEqual(
            ensRec.map(\.stage),
            ["deep_ensemble,seed=1", "deep_ensemble,seed=2", "d2ue,seed=1", "d2ue,seed=2"].map { "score@method=\($0)" })
        XCTAssertEqual(ensRec.map(\.seed), [1, 2, 1, 2])
        XCTAssertEqual(ensRec.map(\.method), ["deep_ensemble", "deep_ensemble", "d2ue", "d2ue"])
        let report = try medad("report", folder.appendingPathComponent("run").path)
        XCTAssertEqual(report.code, 0, report.output)
        for method in ["deep_ensemble", "d2ue"] {
            let line = try XCTUnwrap(
                report.output.split(separator: "\n").first { $0.hasPrefix("| \(method) ae / ens_rec |") }, report.output)
            XCTAssertTrue(line.hasSuffix("(2) |") || line.hasSuffix("(2)** |"), "two seeds per method: \(line)")
        }
        let status = try medad("status", path)
        XCTAssertTrue(status.output.contains("train@method=d2ue,seed=2"), status.output)
        // A second run: every cell fresh.
        XCTAssertTrue(try medad("run", path).output.contains("score@method=d2ue,seed=1: skipped, fresh"))
    }
}
