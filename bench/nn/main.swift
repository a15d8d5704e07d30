// MedNN's side of bench/nn_vs_pytorch.py: the AE (DESIGN.md: 64×64, base width 16, latent 16, hidden 2048)
// at batch 64 on random inputs. Prints, as `key value` lines, training images per second (forward, MSE,
// backward, Adam), scoring images per second (3 learners in eval mode: forward + input gradient of the
// L1 reconstruction error, as the dual-space uncertainty needs) and adversarial training's images per second
// (dual batch norm; 10 PGD iterations, then the crafted and the clean pass, Adam) and QDD-Ens's joint step (three
// learners and the meta-learner, the diversity term over seven levels, four Adams), medians over the timed
// repetitions.
import Foundation
import MedAD
import MedNN

let arguments = CommandLine.arguments
func option(_ name: String, _ fallback: Int) -> Int {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count, let v = Int(arguments[i + 1]) else { return fallback }
    return v
}
let only = arguments.firstIndex(of: "--only").map { arguments[$0 + 1] }  // train, score, adversarial or qdd, to profile one
let batch = option("--batch", 64), size = option("--size", 64), steps = option("--steps", 10), warmup = option("--warmup", 2)

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

var random = UniformInit(seed: 1)
let x = Tensor(shape: [batch, 1, size, size], data: random.uniform(batch * size * size, bound: 1))
let config = AutoEncoderConfig(inputSize: size)
let model = AutoEncoder(config, seed: 8)
let adam = Adam(model.parameters, learningRate: 5e-4, beta1: 0.5, beta2: 0.999)
var trainTimes: [Double] = []
for step in 0..<(only == nil || only == "train" ? warmup + steps : 0) {
    let t = try seconds {
        adam.zeroGrad()
        let out = try model.forward(x, training: true)
        model.backward(Loss.mse(out, x).dOutput, inputGradient: false)
        adam.update()
    }
    if step >= warmup { trainTimes.append(t) }
}
if !trainTimes.isEmpty { print("train_images_per_second \(Double(batch) / median(trainTimes))") }

let learners = (0..<3).map { AutoEncoder(config, seed: UInt64(10 + $0)) }
learners.forEach { $0.setFrozen(true) }  // scoring needs input gradients only
var scoreTimes: [Double] = []
for step in 0..<(only == nil || only == "score" ? warmup + steps : 0) {
    let t = try seconds {
        for learner in learners { _ = try learner.inputGradient(x, training: false, loss: Loss.l1) }
    }
    if step >= warmup { scoreTimes.append(t) }
}
if !scoreTimes.isEmpty { print("score_images_per_second \(Double(batch) / median(scoreTimes))") }

var dual = config
dual.dualNorm = true
let robust = AutoEncoder(dual, seed: 8)
let robustAdam = Adam(robust.parameters, learningRate: 5e-4, beta1: 0.5, beta2: 0.999)
let attack = AdversarialTraining(terms: [SquaredErrorReconstruction()], epsilon: 0.01, stepSize: 0.005, iterations: 10)
var adversarialTimes: [Double] = []
for step in 0..<(only == nil || only == "adversarial" ? warmup + steps : 0) {
    let t = try seconds {
        robustAdam.zeroGrad()
        _ = try attack.ownPass(model: robust, input: x, step: TrainingStep(seed: 8, stream: UInt64(step)))
        let out = try robust.forward(x, training: true)
        robust.backward(Loss.mse(out, x).dOutput, inputGradient: false)
        robustAdam.update()
    }
    if step >= warmup { adversarialTimes.append(t) }
}
if !adversarialTimes.isEmpty { print("adversarial_images_per_second \(Double(batch) / median(adversarialTimes))") }

/// Keeps nothing and is asked once, at the end: the benchmark times steps, not checkpoints.
struct NoCheckpoints: CheckpointStore {
    var interval: Double { .infinity }
    func load(learner: Int) throws -> (tensors: [String: SafeTensorValue], epoch: Int, records: [EpochRecord])? { nil }
    func save(learner: Int, tensors: [String: SafeTensorValue], epoch: Int, records: [EpochRecord]) throws {}
}
// QDD-Ens through its trainer: one batch per epoch, so each epoch's time is one joint step (quantization comes
// after the last epoch with quant_epochs 0, outside the timed epochs).
if only == nil || only == "qdd" {
    var s = TrainingSettings()
    (s.method, s.learners, s.inputSize, s.batchSize, s.epochs, s.quantEpochs, s.validateEvery) = (
        "qdd", 3, size, batch, warmup + steps, 0, 0
    )
    let images = ImageSet(size: size, pixels: x.data, labels: Array(repeating: 0, count: batch), ids: (0..<batch).map { "i\($0)" })
    let records = try EnsembleTrainer(settings: s, train: images, validation: nil).run(store: NoCheckpoints()).records
    let times = records.filter { $0.learner == 0 && $0.epoch > warmup }.map(\.seconds)
    print("qdd_images_per_second \(Double(batch) / median(times))")
}
