// A small, fast, seedable generator (SplitMix64): the same seed gives the same stream on every machine.

public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator for item `index` of a stream seeded with `seed`, independent of the order items are made in.
    public init(seed: UInt64, index: UInt64) {
        var mixer = SeededGenerator(seed: seed ^ 0x6A09_E667_F3BC_C909)
        state = mixer.next() ^ (index &* 0x9E37_79B9_7F4A_7C15)
        _ = next()
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Fisher–Yates with this generator, the one shuffle medad uses (split, synthetic set, training order): the
    /// same seed gives the same order on every platform and Swift version, which the standard library's
    /// shuffle(using:) does not promise.
    public mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) { items.swapAt(i, Int(next() % UInt64(i + 1))) }
    }

    /// Uniform in [lower, upper).
    public mutating func uniform(_ lower: Double = 0, _ upper: Double = 1) -> Double {
        lower + (upper - lower) * Double(next() >> 11) / Double(1 << 53)
    }

    /// Standard normal (Box–Muller).
    public mutating func normal() -> Double {
        let u1 = max(uniform(), 1e-300)
        let u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}

#if canImport(Glibc)
    import Glibc
#endif
