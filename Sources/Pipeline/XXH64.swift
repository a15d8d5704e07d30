// XXH64 (xxHash, 64-bit, seed 0): the content hash of ingested files. SHA-256 costs about 3 ms per 7 MB
// radiograph even with SHA-NI, more than the rest of ingest; XXH64 runs near memory speed, and change
// detection and duplicate finding need no cryptographic strength. `xxhsum -H64 FILE` prints the same value.
import Foundation

public enum XXH64 {
    static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
    static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    static let p3: UInt64 = 0x1656_67B1_9E37_79F9
    static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63
    static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

    @inline(__always) static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }
    @inline(__always) static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 { rotl(acc &+ input &* p2, 31) &* p1 }
    @inline(__always) static func merge(_ acc: UInt64, _ value: UInt64) -> UInt64 { (acc ^ round(0, value)) &* p1 &+ p4 }

    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        var state = Stream(seed: seed)
        state.update(bytes)
        return state.digest()
    }

    /// The hash of bytes given in pieces: the same value as `hash` of their concatenation, without building it
    /// (normalize hashes a 7 MB radiograph behind a short geometry prefix; copying them took 5% of its time).
    public struct Stream {
        var v1, v2, v3, v4: UInt64
        let seed: UInt64
        var total = 0
        /// Bytes of an unfinished 32-byte stripe.
        var pending = [UInt8]()

        public init(seed: UInt64 = 0) {
            self.seed = seed
            (v1, v2, v3, v4) = (seed &+ p1 &+ p2, seed &+ p2, seed, seed &- p1)
            pending.reserveCapacity(32)
        }

        public mutating func update(_ bytes: UnsafeRawBufferPointer) {
            total += bytes.count
            var offset = 0
            if !pending.isEmpty {
                let taken = min(32 - pending.count, bytes.count)
                pending += bytes[0..<taken]
                offset = taken
                guard pending.count == 32 else { return }
                pending.withUnsafeBytes { stripes($0, upTo: 32) }
                pending.removeAll(keepingCapacity: true)
            }
            let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            let whole = rest.count / 32 * 32
            stripes(rest, upTo: whole)
            pending += rest[whole...]
        }

        /// The four lanes over 32-byte stripes of `bytes[0..<end]`.
        mutating func stripes(_ bytes: UnsafeRawBufferPointer, upTo end: Int) {
            var (a, b, c, d) = (v1, v2, v3, v4)
            var offset = 0
            while offset < end {
                a = round(a, load64(bytes, offset))
                b = round(b, load64(bytes, offset + 8))
                c = round(c, load64(bytes, offset + 16))
                d = round(d, load64(bytes, offset + 24))
                offset += 32
            }
            (v1, v2, v3, v4) = (a, b, c, d)
        }

        public func digest() -> UInt64 {
            var h: UInt64
            if total >= 32 {
                h = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
                h = merge(merge(merge(merge(h, v1), v2), v3), v4)
            } else {
                h = seed &+ p5
            }
            h = h &+ UInt64(total)
            return pending.withUnsafeBytes { tail in
                var offset = 0
                while offset + 8 <= tail.count {
                    h = rotl(h ^ round(0, load64(tail, offset)), 27) &* p1 &+ p4
                    offset += 8
                }
                if offset + 4 <= tail.count {
                    let word = UInt64(UInt32(littleEndian: tail.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                    h = rotl(h ^ (word &* p1), 23) &* p2 &+ p3
                    offset += 4
                }
                while offset < tail.count {
                    h = rotl(h ^ (UInt64(tail[offset]) &* p5), 11) &* p1
                    offset += 1
                }
                h ^= h >> 33
                h = h &* p2
                h ^= h >> 29
                h = h &* p3
                return h ^ (h >> 32)
            }
        }
    }

    @inline(__always) static func load64(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> UInt64 {
        UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self))
    }

    /// The hash as 16 lowercase hex digits, as xxhsum prints it.
    public static func hex(_ data: Data) -> String {
        String(format: "%016llx", data.withUnsafeBytes { hash($0) })
    }

    /// Hashes a file through a read-only mapping.
    public static func hex(ofFile url: URL) throws -> String {
        hex(try Data(contentsOf: url, options: .alwaysMapped))
    }
}
