import Foundation
import XCTest

// A seconds-long pipeline from synthesize to aggregate (40 phantoms of 32², a 16-pixel model) for CLI tests that
// need trained models: the stages fixed here, the train and score parameters the test's own.
enum TinyPipeline {
    static func yaml(train: String, score: String) -> String {
        """
        name: t
        run_dir: run
        stages:
          synthesize: {kind: synthesize, params: {seed: 3, size: 32, normal: 30, lung_opacity: 10, not_normal: 0}}
          ingest: {kind: ingest, after: [synthesize], params: {secret_file: secret.txt}}
          normalize: {kind: normalize, after: [ingest], params: {size: 32}}
          split:
            kind: split
            after: [synthesize, ingest, normalize]
            params: {train_normal: 16, unlabeled_normal: 0, unlabeled_abnormal: 0, test_normal: 8, test_abnormal: 8}
          train:
            kind: train
            after: [split, normalize]
            params: {\(train), batch_size: 8, input_size: 16, base_width: 2, latent_size: 4, hidden_size: 16}
          score: {kind: score, after: [train, split, normalize], params: {\(score)}}
          aggregate: {kind: aggregate, after: [score], params: {resamples: 20}}
        """
    }

    /// A temporary folder for one test, removed when it ends, holding the patient-key secret the manifest names;
    /// with the path its manifest is to be written to.
    static func workspace(_ test: XCTestCase, _ name: String) throws -> (folder: URL, path: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        try "\(name)-secret\n".write(to: folder.appendingPathComponent("secret.txt"), atomically: true, encoding: .utf8)
        return (folder, folder.appendingPathComponent("t.yaml").path)
    }
}
