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
}
