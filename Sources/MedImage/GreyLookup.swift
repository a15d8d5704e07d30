// An image's grey levels as a table over its stored values: output level = table[stored − base]. GreyLevels
// builds one per image; `mapped()` applies it to every sample, and the 8-bit resize reads through it instead
// (PillowBilinear.resize(_: GreyLookup, ...)), so a resized radiograph is never mapped at full size.
import CImageCodecs

public struct GreyLookup: Sendable {
    /// The stored samples, one channel.
    public let stored: Samples
    /// The stored value of the table's first entry.
    public let base: Int
    /// The output level of each stored value from `base`: `.uint8` or `.uint16`.
    public let table: Samples

    public init(stored: Samples, base: Int, table: Samples) {
        (self.stored, self.base, self.table) = (stored, base, table)
    }

    /// 8-bit samples seen through the identity table.
    public static func identity(_ pixels: [UInt8]) -> GreyLookup {
        GreyLookup(stored: .uint8(pixels), base: 0, table: .uint8(identityTable))
    }

    static let identityTable = (0...255).map(UInt8.init)

    /// Whether the table leaves 8-bit stored samples as they are (JPEG or 8-bit PNG input that no step changed):
    /// then mapping is the stored array itself and the resize reads the samples without lookups.
    public var isIdentity: Bool {
        guard case .uint8 = stored, case .uint8(let t) = table else { return false }
        return t.indices.allSatisfy { Int(t[$0]) == base + $0 }
    }

    /// Every sample through the table.
    public func mapped() -> Samples {
        if isIdentity { return stored }
        switch table {
        case .uint8(let t): return .uint8(mapped(t))
        case .uint16(let t): return .uint16(mapped(t))
        case .int16(let t): return .int16(mapped(t))
        case .int32(let t): return .int32(mapped(t))
        }
    }

    func mapped<U>(_ table: [U]) -> [U] {
        switch stored {
        case .uint8(let s): return Self.map(s, base: base, table: table)
        case .uint16(let s): return Self.map(s, base: base, table: table)
        case .int16(let s): return Self.map(s, base: base, table: table)
        case .int32(let s): return Self.map(s, base: base, table: table)
        }
    }

    static func map<T: FixedWidthInteger, U>(_ samples: [T], base: Int, table: [U]) -> [U] {
        [U](unsafeUninitializedCapacity: samples.count) { out, initialized in
            defer { initialized = samples.count }
            if T.self == UInt16.self {  // the common case, in C (cimagekernels.h)
                let done: Bool = samples.withUnsafeBufferPointer { p in
                    p.withMemoryRebound(to: UInt16.self) { words in
                        table.withUnsafeBufferPointer { t in
                            if U.self == UInt8.self {
                                t.withMemoryRebound(to: UInt8.self) {
                                    med_map_u16_u8(
                                        words.baseAddress, words.count, UInt32(base), $0.baseAddress,
                                        UnsafeMutableRawPointer(out.baseAddress!).assumingMemoryBound(to: UInt8.self))
                                }
                                return true
                            }
                            if U.self == UInt16.self {
                                t.withMemoryRebound(to: UInt16.self) {
                                    med_map_u16_u16(
                                        words.baseAddress, words.count, UInt32(base), $0.baseAddress,
                                        UnsafeMutableRawPointer(out.baseAddress!).assumingMemoryBound(to: UInt16.self))
                                }
                                return true
                            }
                            return false
                        }
                    }
                }
                if done { return }
            }
            if T.self == UInt8.self, U.self == UInt8.self {
                samples.withUnsafeBufferPointer { p in
                    p.withMemoryRebound(to: UInt8.self) { bytes in
                        table.withUnsafeBufferPointer { t in
                            t.withMemoryRebound(to: UInt8.self) {
                                med_map_u8_u8(
                                    bytes.baseAddress, bytes.count, UInt32(base), $0.baseAddress,
                                    UnsafeMutableRawPointer(out.baseAddress!).assumingMemoryBound(to: UInt8.self))
                            }
                        }
                    }
                }
                return
            }
            samples.withUnsafeBufferPointer { p in
                table.withUnsafeBufferPointer { t in
                    for i in 0..<p.count { out[i] = t[Int(p[i]) &- base] }
                }
            }
        }
    }
}
