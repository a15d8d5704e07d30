// MedNN's side of bench/nn_vs_pytorch.py: the AE of DESIGN.md (base width 16, latent 16, hidden 2048) at
// --batch (64) and --size (64) on random inputs, --threads threads (default: OPENBLAS_NUM_THREADS, else the
// cores). Prints `key value` lines, medians over the timed repetitions, for the cases named by --only
// (comma-separated; default train,score,mcdropout,adversarial,qdd):
//   train        images per second of a training step (forward, MSE, backward, Adam)
//   score        3 learners in eval mode: forward + input gradient of the L1 reconstruction error (dsu's need)
//   mcdropout    MC-dropout scoring: 15 passes of one network (Dropout2d p 0.4 sampling, BatchNorm in eval
//                mode), each forward + input gradient
//   adversarial  a step of adversarial training with dual batch norm (10 PGD iterations, crafted and clean
//                passes, Adam)
//   qdd          QDD-Ens's joint step (three learners and the meta-learner, diversity over seven levels)
//   memory       D2UE training, K 3, one epoch over --images (3,851: RSNA's training set) random images with
//                a 2,000-image validation pass, through the trainer the train stage uses; prints its images
//                per second and the process's peak resident memory (run it in a process of its own)
import Foundation
import MedAD
import MedNN
import Pipeline

let arguments = CommandLine.arguments
func option(_ name: String, _ fallback: Int) -> Int {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count, let v = Int(arguments[i + 1]) else { return fallback }
    return v
}
let cases = Set(
    (arguments.firstIndex(of: "--only").map { arguments[$0 + 1] } ?? "train,score,mcdropout,adversarial,qdd").split(separator: ","))
let batch = option("--batch", 64), size = option("--size", 64), steps = option("--steps", 10), warmup = option("--warmup", 2)
Parallel.threads = option("--threads", Parallel.threads)
PeakMemory.configureMalloc()  // as the medad command does

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}
/// Runs `body` warmup + steps times when `name` is asked for and prints its images per second.
func timed(_ name: String, _ body: (Int) throws -> Void) rethrows {
    guard cases.contains(Substring(name)) else { return }
    var times: [Double] = []
    for step in 0..<(warmup + steps) {
        let t = try seconds { try body(step) }
        if step >= warmup { times.append(t) }
    }
    print("\(name)_images_per_second \(Double(batch) / median(times))")
}

var random = UniformInit(seed: 1)
let x = Tensor(shape: [batch, 1, size, size], data: random.uniform(batch * size * size, bound: 1))
let config = AutoEncoderConfig(inputSize: size)

if cases.contains("train") {
    let model = AutoEncoder(config, seed: 8)
    let adam = Adam(model.parameters, learningRate: 5e-4, beta1: 0.5, beta2: 0.999)
    try timed("train") { _ in
        adam.zeroGrad()
        let out = try model.forward(x, training: true)
        model.backward(Loss.mse(out, x).dOutput, inputGradient: false)
        adam.update()
    }
}

if cases.contains("score") {
    let learners = (0..<3).map { AutoEncoder(config, seed: UInt64(10 + $0)) }
    learners.forEach { $0.setFrozen(true) }  // scoring needs input gradients only
    try timed("score") { _ in
        for learner in learners { _ = try learner.inputGradient(x, training: false, loss: Loss.l1) }
    }
}

if cases.contains("mcdropout") {
    var dropped = config
    dropped.dropout = 0.4
    let model = AutoEncoder(dropped, seed: 8)
    model.setFrozen(true)
    let indices = (0..<UInt64(batch)).map { $0 }
    try timed("mcdropout") { _ in
        for pass in 0..<15 {
            model.seedDropout(seed: 8, stream: UInt64(pass), sampling: true, sampleStreams: indices)
            _ = try model.inputGradient(x, training: false, loss: Loss.l1)
        }
    }
}

if cases.contains("adversarial") {
    var dual = config
    dual.dualNorm = true
    let robust = AutoEncoder(dual, seed: 8)
    let robustAdam = Adam(robust.parameters, learningRate: 5e-4, beta1: 0.5, beta2: 0.999)
    let attack = AdversarialTraining(terms: [SquaredErrorReconstruction()], epsilon: 0.01, stepSize: 0.005, iterations: 10)
    try timed("adversarial") { step in
        robustAdam.zeroGrad()
        _ = try attack.ownPass(model: robust, input: x, step: TrainingStep(seed: 8, stream: UInt64(step)))
        let out = try robust.forward(x, training: true)
        robust.backward(Loss.mse(out, x).dOutput, inputGradient: false)
        robustAdam.update()
    }
}

/// Keeps nothing: the benchmark times steps, not checkpoints.
struct NoCheckpoints: CheckpointStore {
    var interval: Double { .infinity }
    func load(learner: Int) throws -> (tensors: [String: SafeTensorValue], epoch: Int, records: [EpochRecord])? { nil }
    func save(learner: Int, tensors: [String: SafeTensorValue], epoch: Int, records: [EpochRecord]) throws {}
}

// QDD-Ens through its trainer: one batch per epoch, so each epoch's time is one joint step (quantization comes
// after the last epoch with quant_epochs 0, outside the timed epochs).
if cases.contains("qdd") {
    var s = TrainingSettings()
    (s.method, s.learners, s.inputSize, s.batchSize, s.epochs, s.quantEpochs, s.validateEvery) = (
        "qdd", 3, size, batch, warmup + steps, 0, 0
    )
    let images = ImageSet(size: size, pixels: x.data, labels: Array(repeating: 0, count: batch), ids: (0..<batch).map { "i\($0)" })
    let records = try EnsembleTrainer(settings: s, train: images, validation: nil).run(store: NoCheckpoints()).records
    let times = records.filter { $0.learner == 0 && $0.epoch > warmup }.map(\.seconds)
    print("qdd_images_per_second \(Double(batch) / median(times))")
}

if cases.contains("memory") {
    let count = option("--images", 3_851), validationCount = 2_000
    func images(_ n: Int, label: (Int) -> Int) -> ImageSet {
        ImageSet(
            size: size, pixels: random.uniform(n * size * size, bound: 1), labels: (0..<n).map(label),
            ids: (0..<n).map { "i\($0)" })
    }
    var s = TrainingSettings()
    (s.method, s.learners, s.inputSize, s.batchSize, s.epochs, s.validateEvery) = ("d2ue", 3, size, batch, 1, 1)
    let trainer = try EnsembleTrainer(
        settings: s, train: images(count) { _ in 0 }, validation: images(validationCount) { $0 % 2 })
    let wall = try seconds { _ = try trainer.run(store: NoCheckpoints()) }
    print("memory_train_images_per_second \(Double(3 * (count / batch * batch)) / wall)")
    print("memory_peak_resident_mb \(PeakMemory.megabytes() ?? .nan)")
}

// Where a training step's time goes, layer by layer (profiling aid, not compared with PyTorch): milliseconds of
// forward and of backward (weight and input gradients) for each of the AE's products at --size and --batch.
if cases.contains("layers") {
    var initializer = UniformInit(seed: 3)
    let w = config.baseWidth, s = size, n = batch, flat = 4 * w * (s / 16) * (s / 16)
    let layers: [(String, Layer, [Int])] = [
        (
            "en1 conv 1→16", Conv2d("en1", inChannels: 1, outChannels: w, kernel: 4, stride: 2, padding: 1, initializer: &initializer),
            [1, s, s, n]
        ),
        (
            "en2 conv", Conv2d("en2", inChannels: w, outChannels: 2 * w, kernel: 4, stride: 2, padding: 1, initializer: &initializer),
            [w, s / 2, s / 2, n]
        ),
        (
            "en3 conv", Conv2d("en3", inChannels: 2 * w, outChannels: 4 * w, kernel: 4, stride: 2, padding: 1, initializer: &initializer),
            [2 * w, s / 4, s / 4, n]
        ),
        (
            "en4 conv", Conv2d("en4", inChannels: 4 * w, outChannels: 4 * w, kernel: 4, stride: 2, padding: 1, initializer: &initializer),
            [4 * w, s / 8, s / 8, n]
        ),
        ("linear enc0", Linear("l0", inFeatures: flat, outFeatures: 2048, initializer: &initializer), [flat, n]),
        ("linear dec3", Linear("l3", inFeatures: 2048, outFeatures: flat, initializer: &initializer), [2048, n]),
        (
            "de1 deconv",
            ConvTranspose2d("de1", inChannels: 4 * w, outChannels: 4 * w, kernel: 4, stride: 2, padding: 1, initializer: &initializer),
            [4 * w, s / 16, s / 16, n]
        ),
        (
            "de2 deconv",
            ConvTranspose2d("de2", inChannels: 4 * w, outChannels: 2 * w, kernel: 4, stride: 2, padding: 1, initializer: &initializer),
            [4 * w, s / 8, s / 8, n]
        ),
        (
            "de3 deconv",
            ConvTranspose2d("de3", inChannels: 2 * w, outChannels: w, kernel: 4, stride: 2, padding: 1, initializer: &initializer),
            [2 * w, s / 4, s / 4, n]
        ),
        (
            "de4 deconv 16→1",
            ConvTranspose2d("de4", inChannels: w, outChannels: 1, kernel: 4, stride: 2, padding: 1, initializer: &initializer),
            [w, s / 2, s / 2, n]
        ),
        ("bn+relu 16×32²", BatchNorm("bn", channels: w, relu: true), [w, s / 2, s / 2, n]),
        ("relu 16×32²", ReLU(), [w, s / 2, s / 2, n]),
    ]
    for (name, layer, shape) in layers {
        let input = Tensor(shape: shape, data: random.uniform(shape.reduce(1, *), bound: 1))
        var forward: [Double] = [], backward: [Double] = [], dataOnly: [Double] = []
        for step in 0..<(warmup + steps) {
            var y = Tensor(zeros: [0])
            let f = try seconds { y = try layer.forward(input, training: true) }
            let b = seconds { _ = layer.backward(y) }
            // The data gradient alone: the parameters frozen for one more backward.
            for p in layer.parameters { p.paused = true }
            let d = seconds { _ = layer.backward(y) }
            for p in layer.parameters { p.paused = false }
            if step >= warmup { (forward, backward, dataOnly) = (forward + [f], backward + [b], dataOnly + [d]) }
        }
        func ms(_ values: [Double]) -> String { String(format: "%.2f", median(values) * 1000) }
        print("layer \(name): forward \(ms(forward)) ms, backward \(ms(backward)) ms (data gradient alone \(ms(dataOnly)))")
    }
}
