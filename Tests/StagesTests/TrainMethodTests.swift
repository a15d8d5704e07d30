// The train stage's method names: each method's own, and `independent` still meaning deep_ensemble.
import Foundation
import MedAD
import MedNN
import Pipeline
import XCTest

@testable import Stages

final class TrainMethodTests: XCTestCase, MedadCLI {
    func method(_ name: String) throws -> String {
        let yaml = "name: t\nrun_dir: /nonexistent-medad-test\nstages:\n  train: {kind: train, params: {method: \(name)}}\n"
        let manifest = try Manifest.parse(yaml, file: URL(fileURLWithPath: "/tmp/t.yaml"), registry: stageRegistry)
        return try TrainStage(parameters: manifest.stage("train")!.parameters).settings.method
    }

    func testMethodSpecificParametersAreCheckedByName() throws {
        let yaml = { (params: String) in "name: t\nrun_dir: /nonexistent-medad-test\nstages:\n  train: {kind: train, params: {\(params)}}\n"
        }
        for (params, key) in [
            ("method: mc_dropout, learners: 3", "learners"), ("method: d2ue, samples: 5", "samples"),
            ("method: deep_ensemble, dropout: 0.2", "dropout"), ("method: mc_dropout, lambda: 2", "lambda"),
            ("method: layer_ensemble, learners: 2", "learners"), ("method: layer_ensemble, skip_heads: 3", "skip_heads"),
            ("method: d2ue, skip_heads: 1", "skip_heads"), ("method: d2ue, bits: 4", "bits"),
            ("method: qdd, learners: 1", "learners"), ("method: qdd, learners: 3, bits: [5, 4]", "bits"),
            ("method: qdd, quant_partitions: [0.5, 0.3]", "quant_partitions"), ("method: qdd, bits: [5, 4.5, 3]", "bits"),
            ("method: qdd, bits: 0", "bits"),
        ] {
            XCTAssertThrowsError(try Manifest.parse(yaml(params), file: URL(fileURLWithPath: "/tmp/t.yaml"), registry: stageRegistry)) {
                XCTAssertTrue("\($0)".contains("t.yaml:4: stages.train.params.\(key)"), "\($0)")
            }
        }
    }

    /// mc_dropout through the binary: `samples` members per image in score.csv, the same scores on a rerun and
    /// at another scoring batch size (each image's masks are its own).
    func testMCDropoutScoresThroughThePipeline() throws {
        let (folder, path) = try TinyPipeline.workspace(self, "mcdrop")
        let manifest = { (batch: Int) in
            TinyPipeline.yaml(train: "method: mc_dropout, samples: 4, dropout: 0.3, epochs: 2", score: "batch_size: \(batch), maps: 1")
        }
        try manifest(16).write(toFile: path, atomically: true, encoding: .utf8)
        let run = try medad("run", path)
        XCTAssertEqual(run.code, 0, run.output)
        let scoreFile = folder.appendingPathComponent("run/score/score.csv")
        let score = try CSV.read(scoreFile)
        XCTAssertEqual(score.header, ["image_id", "label", "rec_0", "rec_1", "rec_2", "rec_3", "rec", "ens_rec", "ens_std", "dsu"])
        XCTAssertTrue(score.rows.allSatisfy { Double($0["ens_std"]!)! > 0 }, "passes differ")
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("run/train/models").path),
            ["learner_0.safetensors"])
        XCTAssertEqual(try medad("run", path, "--stage", "score").code, 0)
        XCTAssertEqual(try CSV.read(scoreFile).rows, score.rows, "a rerun gives the same scores")
        // Another batch size: the same masks per image, so the same scores but for the products' rounding.
        try manifest(5).write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(try medad("run", path).code, 0)
        for (a, b) in zip(try CSV.read(scoreFile).rows, score.rows) {
            XCTAssertEqual(a["image_id"], b["image_id"])
            for column in ["rec_0", "rec_3", "ens_std", "dsu"] {
                let (x, y) = (Double(a[column]!)!, Double(b[column]!)!)
                XCTAssertEqual(x, y, accuracy: 1e-5 * abs(y), "\(a["image_id"]!) \(column)")
            }
        }
    }

    /// The published learning rate per backbone (D2UE's cfgs: 1e-3 for AE-U, 5e-4 for AE and MemAE) unless given.
    func testLearningRateFollowsThePublishedConfigurationPerBackbone() throws {
        func rate(_ params: String) throws -> Float {
            let yaml = "name: t\nrun_dir: /nonexistent-medad-test\nstages:\n  train: {kind: train, params: {\(params)}}\n"
            let manifest = try Manifest.parse(yaml, file: URL(fileURLWithPath: "/tmp/t.yaml"), registry: stageRegistry)
            return try TrainStage(parameters: manifest.stage("train")!.parameters).settings.learningRate
        }
        XCTAssertEqual(try rate("backbone: ae"), 5e-4)
        XCTAssertEqual(try rate("backbone: memae"), 5e-4)
        XCTAssertEqual(try rate("backbone: aeu"), 1e-3)
        XCTAssertEqual(try rate("backbone: aeu, learning_rate: 2e-4"), 2e-4)
    }

    func testMethodNamesAndTheOldAlias() throws {
        XCTAssertEqual(try method("d2ue"), "d2ue")
        XCTAssertEqual(try method("deep_ensemble"), "deep_ensemble")
        XCTAssertEqual(try method("independent"), "deep_ensemble")
        XCTAssertEqual(try method("mc_dropout"), "mc_dropout")
        XCTAssertEqual(try method("layer_ensemble"), "layer_ensemble")
        XCTAssertEqual(try method("qdd"), "qdd")
        XCTAssertThrowsError(try method("bagging")) { XCTAssertTrue("\($0)".contains("t.yaml:4: stages.train.params.method"), "\($0)") }
    }

    /// Two methods (a deep ensemble and a layer ensemble with AE-U heads) trained and scored in one run, one
    /// aggregate over both: every method × score in aggregate.csv, a cost row per method, both in report.html;
    /// the train and score stages (they use every core) never overlap in time and record their peak memory.
    func testSeveralMethodsInOneAggregateWithCosts() throws {
        let (folder, path) = try TinyPipeline.workspace(self, "methods")
        let model = "epochs: 2, batch_size: 8, input_size: 16, base_width: 2, latent_size: 4, hidden_size: 16"
        var yaml = TinyPipeline.yaml(train: "method: deep_ensemble, learners: 2", score: "maps: 1")
        yaml = yaml.replacingOccurrences(
            of: "aggregate: {kind: aggregate, after: [score]", with: "aggregate: {kind: aggregate, after: [score, score_layers]")
        yaml += """

              train_layers:
                kind: train
                after: [split, normalize]
                params: {method: layer_ensemble, backbone: aeu, skip_heads: 1, \(model)}
              score_layers: {kind: score, after: [train_layers, split, normalize]}

            """
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let run = try medad("run", path)
        XCTAssertEqual(run.code, 0, run.output)
        let runDir = folder.appendingPathComponent("run")
        let layers = try CSV.read(runDir.appendingPathComponent("score_layers/score.csv"))
        XCTAssertEqual(
            layers.header,
            [
                "image_id", "label", "rec_0", "rec_1", "rec_2", "rec", "ens_rec", "ens_std", "dsu", "ens_rec_u", "ens_std_u", "dsu_u",
                "layer_agreement",
            ])
        let aggregate = try CSV.read(runDir.appendingPathComponent("aggregate/aggregate.csv"))
        XCTAssertEqual(aggregate.header.prefix(5), ["stage", "method", "backbone", "seed", "score"])
        XCTAssertEqual(aggregate.rows.filter { $0["stage"] == "score" }.map { $0["method"]! }, Array(repeating: "deep_ensemble", count: 6))
        XCTAssertEqual(aggregate.rows.filter { $0["stage"] == "score_layers" }.map { $0["score"]! }, Array(layers.header.dropFirst(2)))
        // DeLong: every method-level score but rec against its own rec, and every one against the other method's
        // best; the AUROCs are aggregate.csv's, the difference theirs.
        let delong = try CSV.read(runDir.appendingPathComponent("aggregate/delong.csv"))
        XCTAssertEqual(delong.header, DeLongRow.columns)
        let ensembleScores = ["rec", "ens_rec", "ens_std", "dsu"]
        let layerScores = ["rec", "ens_rec", "ens_std", "dsu", "ens_rec_u", "ens_std_u", "dsu_u", "layer_agreement"]
        XCTAssertEqual(delong.rows.count, (ensembleScores.count - 1) + ensembleScores.count + (layerScores.count - 1) + layerScores.count)
        let auroc = Dictionary(uniqueKeysWithValues: aggregate.rows.map { ("\($0["stage"]!) \($0["score"]!)", Double($0["auroc"]!)!) })
        for row in delong.rows {
            XCTAssertEqual(Double(row["auroc"]!)!, auroc["\(row["stage"]!) \(row["score"]!)"]!, accuracy: 1e-4)
            XCTAssertEqual(Double(row["versus_auroc"]!)!, auroc["\(row["versus_stage"]!) \(row["versus_score"]!)"]!, accuracy: 1e-4)
            XCTAssertEqual(Double(row["difference"]!)!, Double(row["auroc"]!)! - Double(row["versus_auroc"]!)!, accuracy: 2e-4)
            let p = Double(row["p"]!)!
            XCTAssertTrue(p >= 0 && p <= 1)
            XCTAssertLessThanOrEqual(Double(row["low"]!)!, Double(row["high"]!)!)
        }
        XCTAssertTrue(
            try String(contentsOf: runDir.appendingPathComponent("aggregate/report.html"), encoding: .utf8).contains(
                "Paired tests (DeLong)"))
        let costs = try CSV.read(runDir.appendingPathComponent("aggregate/costs.csv"))
        XCTAssertEqual(costs.rows.map { $0["method"]! }, ["deep_ensemble", "layer_ensemble"])
        XCTAssertEqual(costs.rows.map { $0["networks"]! }, ["2", "1"])
        XCTAssertEqual(costs.rows.map { $0["members"]! }, ["2", "3"])
        for row in costs.rows {
            for column in ["train_seconds", "score_ms_per_image", "train_peak_mb", "score_peak_mb", "parameters"] {
                XCTAssertGreaterThan(Double(row[column] ?? "") ?? 0, 0, "\(row["method"]!) \(column)")
            }
        }
        // A layer ensemble's parameters: its backbone's plus three heads (3×3 convolutions to 2 channels, with bias).
        let heads = (8 + 4 + 2) * 2 * 9 + 3 * 2
        let ensemble = Int(costs.rows[0]["parameters"]!)!, layered = Int(costs.rows[1]["parameters"]!)!
        XCTAssertGreaterThan(layered, heads)
        XCTAssertNotEqual(ensemble / 2, layered - heads, "AE-U's last layer has two output channels")
        let report = try String(contentsOf: runDir.appendingPathComponent("aggregate/report.html"), encoding: .utf8)
        for text in ["deep_ensemble (ae), stage score", "layer_ensemble (aeu), stage score_layers", "Costs", "layer_agreement"] {
            XCTAssertTrue(report.contains(text), text)
        }
        let records = try ["train", "score", "train_layers", "score_layers"].map { name in
            try XCTUnwrap(StageRecord.read(runDir.appendingPathComponent(name).appendingPathComponent("stage.json")), name)
        }
        for record in records { XCTAssertNotNil(record.peakMemoryMB, record.stage) }
        // costs.csv carries the train stages' wall time as stage.json records it, to the millisecond.
        XCTAssertEqual(costs.rows.map { Double($0["train_seconds"]!)! }, [records[0].seconds, records[2].seconds])
        for (a, b) in [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)] {
            XCTAssertTrue(
                records[a].finished <= records[b].started || records[b].finished <= records[a].started,
                "\(records[a].stage) and \(records[b].stage) overlap")
        }
    }

    /// adversarial through the binary: one learner by default, dual batch norm in the saved state_dict (PyTorch's
    /// bns.0/bns.1 names), the adversarial loss in train.csv, and scores from the clean set.
    func testAdversarialThroughThePipeline() throws {
        let (folder, path) = try TinyPipeline.workspace(self, "adversarial")
        try TinyPipeline.yaml(train: "method: adversarial, pgd_iterations: 2, epochs: 2", score: "maps: 0")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let run = try medad("run", path)
        XCTAssertEqual(run.code, 0, run.output)
        let train = try CSV.read(folder.appendingPathComponent("run/train/train.csv"))
        XCTAssertTrue(train.rows.allSatisfy { Double($0["adversarial"]!)! > 0 })
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("run/train/models").path),
            ["learner_0.safetensors"])
        let weights = try SafeTensors.read(folder.appendingPathComponent("run/train/models/learner_0.safetensors")).tensors
        XCTAssertNotNil(weights["bottle_neck.linear_enc.1.bns.1.running_mean"])
        XCTAssertNil(weights["bottle_neck.linear_enc.1.running_mean"])
        XCTAssertEqual(
            try CSV.read(folder.appendingPathComponent("run/score/score.csv")).header.dropFirst(2), ["rec_0", "rec", "ens_rec"],
            "no spread scores for one network")
    }

    /// qdd through the binary: three learners and the meta-learner saved with their bit widths, a row per network
    /// and epoch in train.csv (the quantized share rising to 1), meta_rec among the scores and its map strips.
    func testQDDThroughThePipeline() throws {
        let (folder, path) = try TinyPipeline.workspace(self, "qdd")
        try TinyPipeline.yaml(train: "method: qdd, epochs: 1, quant_epochs: 1, bits: [5, 4, 3]", score: "maps: 1")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let run = try medad("run", path)
        XCTAssertEqual(run.code, 0, run.output)
        let train = try CSV.read(folder.appendingPathComponent("run/train/train.csv"))
        XCTAssertEqual(train.rows.count, 4 * 5)
        XCTAssertEqual(train.rows.filter { $0["epoch"] == "5" }.map { $0["quantized"]! }, ["1", "1", "1", "1"])
        let models = folder.appendingPathComponent("run/train/models")
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: models.path).sorted(),
            ["learner_0.safetensors", "learner_1.safetensors", "learner_2.safetensors", "meta.safetensors"])
        XCTAssertEqual(try SafeTensors.read(models.appendingPathComponent("learner_1.safetensors")).metadata["bits"], "4")
        XCTAssertEqual(try SafeTensors.read(models.appendingPathComponent("meta.safetensors")).metadata["bits"], "5")
        let score = try CSV.read(folder.appendingPathComponent("run/score/score.csv"))
        XCTAssertEqual(score.header.last, "meta_rec")
        XCTAssertTrue(score.rows.allSatisfy { Double($0["meta_rec"]!)! > 0 })
        let maps = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("run/score/maps").path)
        XCTAssertEqual(maps.filter { $0.hasPrefix("meta_rec_top_1_") }.count, 1, "\(maps)")
        // The stage's checkpoint (one file for the four networks) resumes: a forced rerun finds every epoch.
        let again = try medad("run", path, "--stage", "train")
        XCTAssertEqual(again.code, 0, again.output)
        XCTAssertTrue(again.output.contains("resuming from checkpoints: learner 0 at epoch 5"), again.output)
        XCTAssertEqual(try CSV.read(folder.appendingPathComponent("run/train/train.csv")).rows, train.rows)
    }

    /// Night over night: a rerun with another training seed compares its aggregate with the previous outputs
    /// (changes.csv: before, now, delta, and `moved` exactly when the new AUROC left the earlier interval), and
    /// `medad diff` says the same about two run directories.
    func testAggregateComparesWithThePreviousRunAndDiff() throws {
        let (folder, path) = try TinyPipeline.workspace(self, "nightly")
        let manifest = { (seed: Int) in
            TinyPipeline.yaml(train: "method: deep_ensemble, learners: 2, epochs: 2, seed: \(seed)", score: "maps: 0")
        }
        try manifest(3).write(toFile: path, atomically: true, encoding: .utf8)
        let first = try medad("run", path)
        XCTAssertEqual(first.code, 0, first.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("run/aggregate/changes.csv").path))
        try FileManager.default.copyItem(at: folder.appendingPathComponent("run"), to: folder.appendingPathComponent("before"))

        try manifest(4).write(toFile: path, atomically: true, encoding: .utf8)
        let second = try medad("run", path)
        XCTAssertEqual(second.code, 0, second.output)
        XCTAssertTrue(second.output.contains("since the previous run: "), second.output)
        let before = try CSV.read(folder.appendingPathComponent("before/aggregate/aggregate.csv")).rows
        let changes = try CSV.read(folder.appendingPathComponent("run/aggregate/changes.csv"))
        XCTAssertEqual(changes.header, ChangeRow.columns)
        XCTAssertEqual(changes.rows.count, before.count)
        for row in changes.rows {
            let old = try XCTUnwrap(before.first { $0["score"] == row["score"] })
            XCTAssertEqual(row["previous_auroc"], old["auroc"])
            let (now, low, high) = (Double(row["auroc"]!)!, Double(old["auroc_low"]!)!, Double(old["auroc_high"]!)!)
            XCTAssertEqual(row["moved"], now < low || now > high ? "yes" : "no", row["score"]!)
            XCTAssertEqual(Double(row["delta"]!)!, now - Double(old["auroc"]!)!, accuracy: 2e-4)
        }
        XCTAssertNotEqual(changes.rows.map { $0["delta"]! }, Array(repeating: "0.0000", count: changes.rows.count), "another seed")

        let diff = try medad(
            "diff", folder.appendingPathComponent("before").path, folder.appendingPathComponent("run").path,
            "--output", folder.appendingPathComponent("diff.csv").path)
        XCTAssertEqual(diff.code, 0, diff.output)
        XCTAssertEqual(try CSV.read(folder.appendingPathComponent("diff.csv")).rows, changes.rows)
        XCTAssertTrue(diff.output.contains("ens_rec"), diff.output)
        XCTAssertNotEqual(try medad("diff", folder.path, folder.appendingPathComponent("run").path).code, 0, "no aggregate in the first")
    }

    /// The shift experiment on a trained deep ensemble: magnitude 0 is the unshifted set (AUROC exactly 0.5, the
    /// score.csv's mean), shifted versions score differently, and a forced rerun gives the same file.
    func testShiftExperimentScoresRotatedAndDeformedImages() throws {
        let (folder, path) = try TinyPipeline.workspace(self, "shift")
        let yaml =
            TinyPipeline.yaml(train: "method: deep_ensemble, learners: 2, epochs: 3", score: "maps: 0")
            + "\n  shift: {kind: shift, after: [train, split, normalize], params: {angles: [0, 20, 90], strengths: [0, 2, 6], resamples: 50}}\n"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let run = try medad("run", path)
        XCTAssertEqual(run.code, 0, run.output)
        let shift = try CSV.read(folder.appendingPathComponent("run/shift/shift.csv"))
        XCTAssertEqual(shift.header, ShiftStage.columns)
        let scoreTable = try CSV.read(folder.appendingPathComponent("run/score/score.csv"))
        let names = Array(scoreTable.header.dropFirst(2))
        XCTAssertEqual(shift.rows.count, names.count * 6)
        let normal = scoreTable.rows.filter { $0["label"] == "0" }
        for row in shift.rows where row["magnitude"] == "0.0" {
            XCTAssertEqual(row["auroc"], "0.5000", "unshifted against itself")
            let mean = normal.map { Double($0[row["score"]!]!)! }.reduce(0, +) / Double(normal.count)
            XCTAssertEqual(Double(row["mean_score"]!)!, mean, accuracy: 1e-5 * abs(mean))
        }
        let trend = try CSV.read(folder.appendingPathComponent("run/shift/shift_trend.csv"))
        XCTAssertEqual(trend.rows.count, names.count * 2)
        // Whether the scores rise with the shift is the experiment's question (a 16-pixel model after 3 epochs need
        // not say yes); that the shifted images are scored differently is the stage's.
        XCTAssertTrue(shift.rows.contains { $0["magnitude"] == "90.0" && $0["auroc"] != "0.5000" })
        for row in trend.rows { XCTAssertLessThanOrEqual(Double(row["low"]!)!, Double(row["high"]!)!, row["score"]!) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("run/shift/plots/shift_train_elastic.png").path))
        let first = try Data(contentsOf: folder.appendingPathComponent("run/shift/shift.csv"))
        XCTAssertEqual(try medad("run", path, "--stage", "shift", "--force").code, 0)
        XCTAssertEqual(try Data(contentsOf: folder.appendingPathComponent("run/shift/shift.csv")), first, "seeded, deterministic")
    }

    /// Localisation on the synthetic lesions: with ingest and synthesize in its 'after', the score stage maps every
    /// mapped score against the masks (pixel AUROC, best Dice) and the aggregate gathers them.
    func testLocalisationAgainstSyntheticMasks() throws {
        let (folder, path) = try TinyPipeline.workspace(self, "localise")
        let yaml = TinyPipeline.yaml(train: "method: deep_ensemble, learners: 2, epochs: 2", score: "maps: 0")
            .replacingOccurrences(
                of: "score: {kind: score, after: [train, split, normalize]",
                with: "score: {kind: score, after: [train, split, normalize, ingest, synthesize]")
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let run = try medad("run", path)
        XCTAssertEqual(run.code, 0, run.output)
        let local = try CSV.read(folder.appendingPathComponent("run/score/localisation.csv"))
        XCTAssertEqual(local.header, ScoreStage.localisationColumns)
        XCTAssertEqual(local.rows.map { $0["score"]! }, ["rec", "ens_rec", "ens_std", "dsu"])
        for row in local.rows {
            XCTAssertTrue((0...1).contains(Double(row["pixel_auroc"]!)!) && (0...1).contains(Double(row["best_dice"]!)!))
            XCTAssertEqual(row["images"], "16")
            XCTAssertTrue((1...8).contains(Int(row["images_with_lesions"]!)!), row["images_with_lesions"]!)
        }
        let gathered = try CSV.read(folder.appendingPathComponent("run/aggregate/localisation.csv"))
        XCTAssertEqual(gathered.rows.map { $0["method"]! }, Array(repeating: "deep_ensemble", count: 4))
        XCTAssertTrue(
            try String(contentsOf: folder.appendingPathComponent("run/aggregate/report.html"), encoding: .utf8).contains("Localisation"))

        // The same lesions as RSNA-format boxes (synthesize's own stage_2_train_labels.csv) instead of masks: boxes
        // are rectangles around the masks, so at least as many test images have a lesion pixel.
        try FileManager.default.copyItem(
            at: folder.appendingPathComponent("run/synthesize/labels/stage_2_train_labels.csv"),
            to: folder.appendingPathComponent("boxes.csv"))
        try yaml.replacingOccurrences(
            of: "score: {kind: score, after: [train, split, normalize, ingest, synthesize], params: {maps: 0",
            with: "score: {kind: score, after: [train, split, normalize, ingest], params: {maps: 0, boxes: boxes.csv"
        ).write(toFile: path, atomically: true, encoding: .utf8)
        let boxed = try medad("run", path)
        XCTAssertEqual(boxed.code, 0, boxed.output)
        let fromBoxes = try CSV.read(folder.appendingPathComponent("run/score/localisation.csv"))
        XCTAssertEqual(fromBoxes.rows.map { $0["score"]! }, ["rec", "ens_rec", "ens_std", "dsu"])
        XCTAssertGreaterThanOrEqual(Int(fromBoxes.rows[0]["images_with_lesions"]!)!, Int(local.rows[0]["images_with_lesions"]!)!)
        XCTAssertLessThanOrEqual(Int(fromBoxes.rows[0]["images_with_lesions"]!)!, 8)

        // The same boxes in VinDr-CXR's train.csv layout (corners; "No finding" rows without coordinates; each box
        // read by two radiologists, the second one's box inside the first's): the same localisation.csv.
        var vindr = "image_id,class_name,class_id,rad_id,x_min,y_min,x_max,y_max\n"
        for row in try CSV.read(folder.appendingPathComponent("boxes.csv")).rows {
            guard row["Target"] == "1" else {
                vindr += "\(row["patientId"]!),No finding,14,R1,,,,\n"
                continue
            }
            let (x, y, w, h) = (Double(row["x"]!)!, Double(row["y"]!)!, Double(row["width"]!)!, Double(row["height"]!)!)
            vindr += "\(row["patientId"]!),Lung Opacity,7,R1,\(x),\(y),\(x + w),\(y + h)\n"
            vindr += "\(row["patientId"]!),Consolidation,4,R2,\(x + w / 4),\(y + h / 4),\(x + w / 2),\(y + h / 2)\n"
        }
        try vindr.write(to: folder.appendingPathComponent("train.csv"), atomically: true, encoding: .utf8)
        try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "boxes: boxes.csv", with: "boxes: train.csv")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let fromVinDr = try medad("run", path)
        XCTAssertEqual(fromVinDr.code, 0, fromVinDr.output)
        XCTAssertEqual(try CSV.read(folder.appendingPathComponent("run/score/localisation.csv")).rows, fromBoxes.rows)

        try "image_id,x,y\n".write(to: folder.appendingPathComponent("train.csv"), atomically: true, encoding: .utf8)
        let refused = try medad("run", path)
        XCTAssertNotEqual(refused.code, 0)
        XCTAssertTrue(refused.output.contains("train.csv: not a lesion-box table"), refused.output)
    }
}
