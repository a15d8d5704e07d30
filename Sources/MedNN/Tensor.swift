// MedNN: a small CPU neural-network engine for medad's autoencoders. Every layer is an explicit forward and
// backward pair (llm.c style): no graph, no autograd. Tensors are contiguous Float32; models take PyTorch's
// batch-first NCHW and their layers work batch-last, [C, H, W, N] (batchLast, batchFirst). Linear layers' products
// go through OpenBLAS (BLAS.swift), convolutions through CMedNNKernels (DirectConvolution.swift). Backward
// functions accumulate into gradient buffers that the optimiser's zeroGrad clears once per step.
import CMedNNKernels
import Foundation

public struct Tensor: Equatable, Sendable {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count, "shape \(shape) does not hold \(data.count) values")
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    /// self += other, element by element (same count).
    public mutating func add(_ other: Tensor) {
        precondition(other.count == count)
        data.withUnsafeMutableBufferPointer { a in other.data.withUnsafeBufferPointer { b in for i in a.indices { a[i] += b[i] } } }
    }

    /// A tensor whose every value `fill` writes (no zeroing pass first: the products and copies that fill
    /// MedNN's buffers overwrite them whole).
    public init(shape: [Int], filling fill: (UnsafeMutablePointer<Float>) -> Void) {
        self.shape = shape
        data = [Float](uninitializedCount: shape.reduce(1, *), filling: fill)
    }

    public var count: Int { data.count }

    /// The same values under another shape with as many elements (flatten, reshape).
    public func reshaped(_ newShape: [Int]) -> Tensor { Tensor(shape: newShape, data: data) }

    /// [N, d₁, …] → [d₁, …, N]: PyTorch's batch-first layout into the batch-last one MedNN's layers use.
    public func batchLast() -> Tensor {
        let n = shape[0], rest = count / max(n, 1)
        return Tensor(shape: Array(shape.dropFirst()) + [n]) { Tensor.transpose(data, rows: n, columns: rest, into: $0) }
    }

    /// [d₁, …, N] → [N, d₁, …], the inverse of batchLast.
    public func batchFirst() -> Tensor {
        let n = shape.last!, rest = count / max(n, 1)
        return Tensor(shape: [n] + shape.dropLast()) { Tensor.transpose(data, rows: rest, columns: n, into: $0) }
    }

    /// destination [columns, rows] = source [rows, columns]ᵀ (in C: 16 × 16 blocks), bands of 16 columns spread
    /// over the threads.
    static func transpose(_ source: UnsafePointer<Float>, rows: Int, columns: Int, into destination: UnsafeMutablePointer<Float>) {
        let bands = (columns + 15) / 16
        Parallel.chunks(bands, work: rows * columns) { range in
            med_transpose(source, rows, columns, range.lowerBound * 16, min(range.upperBound * 16, columns), destination)
        }
    }
}

/// A layer given an input of the wrong shape: names the layer and both shapes.
public struct ShapeError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(layer: String, expected: String, got: [Int]) {
        description = "\(layer): expected input \(expected), got \(got)"
    }
}

/// A trainable tensor and its gradient, shared by reference between a layer and the optimiser.
public final class Parameter {
    /// PyTorch's state_dict name, e.g. `en_block1.model.0.weight`.
    public var name: String
    public var value: Tensor
    public var grad: Tensor
    /// PyTorch's requires_grad = False: backward passes skip this gradient (scoring, frozen D2UE learners),
    /// which saves the weight-gradient products; a frozen parameter holds no gradient buffer (D2UE's earlier
    /// learners would keep one each), and thawing gives it a zeroed one.
    public var frozen = false {
        didSet { if frozen != oldValue { grad = frozen ? Tensor(zeros: [0]) : Tensor(zeros: value.shape) } }
    }
    /// Gradients paused for a while (an attack's input-gradient passes): backward skips this gradient, and the
    /// buffer stays as it is.
    public var paused = false
    /// Whether backward adds into `grad`.
    public var accumulates: Bool { !frozen && !paused }

    public init(name: String, value: Tensor) {
        self.name = name
        self.value = value
        self.grad = Tensor(zeros: value.shape)
    }

    /// PyTorch's default initialisation of Linear and convolution weights and biases (kaiming_uniform with
    /// a = √5 and its bias rule both reduce to this): U(−1/√fanIn, 1/√fanIn).
    public static func pytorchDefault(_ name: String, shape: [Int], fanIn: Int, _ initializer: inout UniformInit) -> Parameter {
        Parameter(
            name: name, value: Tensor(shape: shape, data: initializer.uniform(shape.reduce(1, *), bound: 1 / Float(fanIn).squareRoot())))
    }

    public func zeroGrad() {
        grad.data.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }
}

/// PyTorch's default initialisation draws from U(-bound, bound); a seeded generator makes it reproducible.
public struct UniformInit {
    var generator: SeededGenerator
    public init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    public mutating func uniform(_ count: Int, bound: Float) -> [Float] {
        (0..<count).map { _ in (Float(generator.next() >> 40) / Float(1 << 24) * 2 - 1) * bound }
    }
}

extension Array where Element == Float {
    /// An array whose every element `fill` writes, without zeroing it first.
    init(uninitializedCount count: Int, filling fill: (UnsafeMutablePointer<Float>) -> Void) {
        self.init(unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 { fill(buffer.baseAddress!) }
            initialized = count
        }
    }
}
