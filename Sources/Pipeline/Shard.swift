// One part of a per-item stage's work (`--shard i/N`): the items whose id hashes (XXH3, seed 0) to i modulo N. The
// partition depends on the item's id alone, so a part holds the same items on every machine and every rerun.
// A shard run commits its part to <run>/.shards/<stage>/<fingerprint>/<i>-of-<N>/; a run with `--join N` checks
// that all N parts are there and assembles the stage from them through the stage's own reuse of earlier outputs,
// so the stage's CSVs are those of a one-machine run, byte for byte.
import Foundation

public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) {
        precondition(count >= 1 && (0..<count).contains(index))
        (self.index, self.count) = (index, count)
    }

    /// "i/N" with 0 ≤ i < N; nil otherwise.
    public init?(parsing text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, (0..<n).contains(i) else { return nil }
        self.init(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }
    /// The part's folder name.
    public var folderName: String { "\(index)-of-\(count)" }

    public func owns(_ id: String) -> Bool {
        var bytes = Array(id.utf8)
        let hash = bytes.withUnsafeMutableBytes { XXH3.hash(UnsafeRawBufferPointer($0)) }
        return Int(hash % UInt64(count)) == index
    }
}
