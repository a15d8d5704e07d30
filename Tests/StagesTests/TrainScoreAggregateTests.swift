// Synthesize to report through the medad binary on a tiny set (seconds): train.csv, models, score.csv, maps,
// aggregate.csv and report.html; a rerun skips everything; the score and aggregate CSVs are reproducible.
import Foundation
import MedImage
import Pipeline
import XCTest

final class TrainScoreAggregateTests: XCTestCase, MedadCLI {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("train-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "train-test-secret\n".write(to: url("secret.txt"), atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func url(_ relative: String) -> URL { folder.appendingPathComponent(relative) }

    func manifest(runDir: String, backbone: String = "ae", epochs: Int = 3) throws -> String {
        let yaml = """
            name: t
            run_dir: \(runDir)
            stages:
              synthesize:
                kind: synthesize
                params: {seed: 3, size: 32, normal: 40, lung_opacity: 24, not_normal: 0}
              ingest:
                kind: ingest
                after: [synthesize]
                params: {secret_file: secret.txt}
              normalize:
                kind: normalize
                after: [ingest]
                params: {size: 32}
              split:
                kind: split
                after: [synthesize, ingest, normalize]
                params: {train_normal: 24, unlabeled_normal: 0, unlabeled_abnormal: 0, test_normal: 12, test_abnormal: 12}
              train:
                kind: train
                after: [split, normalize]
                params: {backbone: \(backbone), learners: 2, epochs: \(epochs), batch_size: 8, input_size: 16, base_width: 2, latent_size: 4, hidden_size: 16, memory_items: 6, validate_every: 5, checkpoint_every: 0}
              score:
                kind: score
                after: [train, split, normalize]
                params: {batch_size: 10, maps: 1}
              aggregate:
                kind: aggregate
                after: [score]
                params: {resamples: 50}
            """
        let path = url("\(runDir).yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testSynthesizeToReportAndRerunSkips() throws {
        let run = try medad("run", try manifest(runDir: "runA"))
        XCTAssertEqual(run.code, 0, run.output)
        XCTAssertTrue(run.output.contains("report: "), run.output)
        let train = try CSV.read(url("runA/train/train.csv"))
        XCTAssertEqual(
            train.header,
            [
                "learner", "epoch", "loss", "reconstruction", "repulsion", "extra", "adversarial", "quantized", "seconds", "val_auroc",
                "val_ap",
            ])
        XCTAssertEqual(train.rows.map { "\($0["learner"]!)/\($0["epoch"]!)" }, ["0/1", "0/2", "0/3", "1/1", "1/2", "1/3"])
        XCTAssertEqual(train.rows.map { $0["val_auroc"]!.isEmpty }, [false, true, false, false, true, false], "epoch 1 and the last")
        for k in 0..<2 { XCTAssertTrue(FileManager.default.fileExists(atPath: url("runA/train/models/learner_\(k).safetensors").path)) }

        let score = try CSV.read(url("runA/score/score.csv"))
        XCTAssertEqual(score.header, ["image_id", "label", "rec_0", "rec_1", "rec", "ens_rec", "ens_std", "dsu"])
        XCTAssertEqual(score.rows.count, 24)
        XCTAssertEqual(score.rows.filter { $0["label"] == "1" }.count, 12)
        XCTAssertEqual(score.rows.map { $0["rec"] }, score.rows.map { $0["rec_0"] }, "rec is learner 0 alone")
        let maps = try FileManager.default.contentsOfDirectory(atPath: url("runA/score/maps").path)
        XCTAssertEqual(maps.count, 8, "top and bottom image of rec, ens_rec, ens_std, dsu: \(maps)")
        // Strips of 16-pixel panels, 2-pixel gaps: four panels with saliency, three for dsu (no saliency).
        for name in maps {
            let strip = try PNGCodec.read(path: url("runA/score/maps/\(name)").path)
            XCTAssertEqual(strip.width, name.hasPrefix("dsu_") ? 3 * 16 + 2 * 2 : 4 * 16 + 3 * 2, name)
        }

        let aggregate = try CSV.read(url("runA/aggregate/aggregate.csv"))
        XCTAssertEqual(aggregate.rows.map { $0["score"]! }, ["rec_0", "rec_1", "rec", "ens_rec", "ens_std", "dsu"])
        for row in aggregate.rows {
            let (auroc, low, high) = (Double(row["auroc"]!)!, Double(row["auroc_low"]!)!, Double(row["auroc_high"]!)!)
            XCTAssertTrue(low <= auroc && auroc <= high && (0...1).contains(auroc), "\(row)")
            XCTAssertEqual(row["images"], "24")
        }
        let report = try String(contentsOf: url("runA/aggregate/report.html"), encoding: .utf8)
        XCTAssertTrue(report.contains("<table>") && report.contains("data:image/png;base64,"), "a self-contained report")
        for plot in ["roc", "hist_dsu"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: url("runA/aggregate/plots/\(plot).png").path))
        }

        let again = try medad("run", try manifest(runDir: "runA"))
        XCTAssertEqual(again.code, 0, again.output)
        XCTAssertTrue(again.output.contains("train: skipped"), again.output)

        // A damaged checkpoint is reported and its learner retrained, to the same weights.
        let model0 = try Data(contentsOf: url("runA/train/models/learner_0.safetensors"))
        let checkpoints = url("runA/.cache/train/checkpoints")
        let key = try FileManager.default.contentsOfDirectory(atPath: checkpoints.path)[0]
        try Data("not a checkpoint".utf8).write(to: checkpoints.appendingPathComponent("\(key)/learner_0.safetensors"))
        let retrain = try medad("run", try manifest(runDir: "runA"), "--stage", "train")
        XCTAssertEqual(retrain.code, 0, retrain.output)
        XCTAssertTrue(retrain.output.contains("ignoring the unreadable checkpoint"), retrain.output)
        XCTAssertTrue(retrain.output.contains("resuming from checkpoints: learner 1 at epoch 3"), retrain.output)
        XCTAssertEqual(try Data(contentsOf: url("runA/train/models/learner_0.safetensors")), model0)

        // Another run directory, same inputs and seeds: the same scores and metrics, byte for byte.
        XCTAssertEqual(try medad("run", try manifest(runDir: "runB")).code, 0)
        for file in ["score/score.csv", "aggregate/aggregate.csv", "train/models/learner_1.safetensors"] {
            XCTAssertEqual(try Data(contentsOf: url("runA/\(file)")), try Data(contentsOf: url("runB/\(file)")), file)
        }

        // Both runs in one comparison table: identical runs, so a standard deviation of 0 over 2 runs.
        let comparison = try medad("report", url("runA").path, url("runB").path, "--output", url("compare").path)
        XCTAssertEqual(comparison.code, 0, comparison.output)
        let dsu = aggregate.rows.first { $0["score"] == "dsu" }!["auroc"]!
        XCTAssertTrue(
            comparison.output.contains("| d2ue ae / dsu | \(dsu) ± 0.0000 [\(dsu), \(dsu)] (2) |")
                || comparison.output.contains("| d2ue ae / dsu | **\(dsu) ± 0.0000 [\(dsu), \(dsu)] (2)** |"), comparison.output)
        XCTAssertEqual(comparison.output.components(separatedBy: "**").count, 5, "one best cell per table: \(comparison.output)")
        let long = try CSV.read(url("compare.csv"))
        XCTAssertEqual(long.header, ["method", "score", "dataset", "seed", "auroc", "ap"])
        XCTAssertEqual(long.rows.count, 12)
        XCTAssertEqual(Set(long.rows.map { $0["dataset"]! }), ["synthetic"])
        XCTAssertEqual(try medad("report", url("nowhere").path).code, 1)
    }

    /// SIGKILL while learner 0 or 1 is training; the rerun resumes from the last checkpoint and ends with the
    /// weights of an uninterrupted run.
    func testKilledTrainingResumesToTheSameWeights() throws {
        XCTAssertEqual(try medad("run", try manifest(runDir: "whole", epochs: 40)).code, 0)
        let path = try manifest(runDir: "killed", epochs: 40)
        XCTAssertEqual(
            try medad("run", path, "--stage", "synthesize", "--stage", "ingest", "--stage", "normalize", "--stage", "split").code, 0)
        let (process, _) = try start(["run", path])
        let checkpoint = url("killed/.cache/train/checkpoints")
        let deadline = Date().addingTimeInterval(60)
        // Kill once learner 0 has a checkpoint past its first epochs (or give up waiting after a minute).
        while Date() < deadline {
            let keys = (try? FileManager.default.contentsOfDirectory(atPath: checkpoint.path)) ?? []
            if let key = keys.first,
                let log = try? CSV.read(checkpoint.appendingPathComponent(key).appendingPathComponent("learner_0.csv")), log.rows.count >= 5
            {
                break
            }
            usleep(2_000)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertFalse(FileManager.default.fileExists(atPath: url("killed/train/train.csv").path), "killed before train finished")
        let rerun = try medad("run", path)
        XCTAssertEqual(rerun.code, 0, rerun.output)
        XCTAssertTrue(rerun.output.contains("resuming from checkpoints: learner 0 at epoch"), rerun.output)
        for k in 0..<2 {
            XCTAssertEqual(
                try Data(contentsOf: url("whole/train/models/learner_\(k).safetensors")),
                try Data(contentsOf: url("killed/train/models/learner_\(k).safetensors")), "learner \(k)")
        }
        let whole = try CSV.read(url("whole/train/train.csv")).rows, resumed = try CSV.read(url("killed/train/train.csv")).rows
        XCTAssertEqual(whole.map { $0["loss"] }, resumed.map { $0["loss"] })
    }

    func testAEUAndMemAEBackbones() throws {
        let aeu = try medad("run", try manifest(runDir: "runU", backbone: "aeu"))
        XCTAssertEqual(aeu.code, 0, aeu.output)
        XCTAssertEqual(try CSV.read(url("runU/score/score.csv")).header.suffix(3), ["ens_rec_u", "ens_std_u", "dsu_u"])
        let memae = try medad("run", try manifest(runDir: "runM", backbone: "memae"))
        XCTAssertEqual(memae.code, 0, memae.output)
        XCTAssertTrue(try CSV.read(url("runM/train/train.csv")).rows.allSatisfy { Double($0["extra"]!)! > 0 }, "the entropy term is logged")
    }
}
