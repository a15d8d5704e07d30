// The safetensors format, so that a Python user loads medad's weights with the `safetensors` package and
// medad loads PyTorch's: an 8-byte little-endian header length, a JSON header mapping each tensor name to
// {dtype, shape, data_offsets}, then the little-endian data. Float32 tensors and int64 counters
// (BatchNorm's num_batches_tracked) are supported.
import Foundation

public enum SafeTensorValue: Equatable, Sendable {
    case float32(Tensor)
    case int64(shape: [Int], values: [Int64])
}

public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public enum SafeTensors {
    struct Entry: Codable {
        var dtype: String
        var shape: [Int]
        var data_offsets: [Int]
    }

    /// The file's bytes, built in one buffer (a checkpoint holds tens of megabytes; no intermediate copies).
    public static func encode(_ tensors: [String: SafeTensorValue], metadata: [String: String] = [:]) throws -> Data {
        var out = Data()
        try stream(tensors, metadata: metadata) { out.append(contentsOf: $0) }
        return out
    }

    /// The file's bytes in pieces (header, then each tensor's data in place, no copy): a checkpoint of tens of
    /// megabytes goes to disk without a second copy in memory.
    public static func stream(
        _ tensors: [String: SafeTensorValue], metadata: [String: String] = [:], into write: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        var header: [String: Any] = [:]
        let names = tensors.keys.sorted()
        var size = 0
        for name in names {
            let (dtype, shape, bytes): (String, [Int], Int)
            switch tensors[name]! {
            case .float32(let t): (dtype, shape, bytes) = ("F32", t.shape, t.count * 4)
            case .int64(let s, let values): (dtype, shape, bytes) = ("I64", s, values.count * 8)
            }
            header[name] = ["dtype": dtype, "shape": shape, "data_offsets": [size, size + bytes]]
            size += bytes
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }  // pad with spaces so the data is 8-byte aligned
        try withUnsafeBytes(of: UInt64(json.count).littleEndian) { try write($0) }
        try json.withUnsafeBytes { try write($0) }
        for name in names {
            // Little-endian hosts only (x86-64, arm64), as the format is.
            switch tensors[name]! {
            case .float32(let t): try t.data.withUnsafeBytes { try write($0) }
            case .int64(_, let values): try values.withUnsafeBytes { try write($0) }
            }
        }
    }

    /// Parses a file's bytes; every inconsistency is an error naming the tensor it concerns.
    public static func decode(_ data: Data) throws -> (tensors: [String: SafeTensorValue], metadata: [String: String]) {
        guard data.count >= 8 else {
            throw SafeTensorsError("not a safetensors file: \(data.count) bytes, less than the 8-byte header length")
        }
        let length = data.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard length <= UInt64(data.count - 8) else {
            throw SafeTensorsError(
                "header length \(length) runs past the end of the file (\(data.count) bytes): truncated or not safetensors")
        }
        let headerBytes = data.subdata(in: data.startIndex + 8..<data.startIndex + 8 + Int(length))
        guard let object = try? JSONSerialization.jsonObject(with: headerBytes), let header = object as? [String: Any] else {
            throw SafeTensorsError("the header is not a JSON object")
        }
        let bodyStart = 8 + Int(length), bodyCount = data.count - bodyStart
        var tensors: [String: SafeTensorValue] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                metadata = (value as? [String: String]) ?? [:]
                continue
            }
            guard let fields = value as? [String: Any], let dtype = fields["dtype"] as? String,
                let shape = fields["shape"] as? [Int], let offsets = fields["data_offsets"] as? [Int], offsets.count == 2
            else {
                throw SafeTensorsError("tensor '\(name)': malformed header entry")
            }
            let (start, end) = (offsets[0], offsets[1])
            guard start >= 0, start <= end, end <= bodyCount else {
                throw SafeTensorsError("tensor '\(name)': data offsets \(start)…\(end) outside the \(bodyCount) data bytes")
            }
            // A hostile header could name negative or overflowing dimensions.
            let count = shape.reduce(Optional(1)) { product, dimension in
                guard let product, dimension >= 0 else { return nil }
                let (value, overflow) = product.multipliedReportingOverflow(by: dimension)
                return overflow || value > Int.max / 8 ? nil : value
            }
            guard let count else { throw SafeTensorsError("tensor '\(name)': impossible shape \(shape)") }
            let bytes = end - start
            // Copied straight out of the file's bytes (memcpy: the offsets need not be aligned).
            func copy<T>(_ type: T.Type) -> [T] {
                [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                    data.withUnsafeBytes { raw in
                        if bytes > 0 { memcpy(buffer.baseAddress!, raw.baseAddress! + bodyStart + start, bytes) }
                    }
                    initialized = count
                }
            }
            switch dtype {
            case "F32":
                guard bytes == count * 4 else {
                    throw SafeTensorsError("tensor '\(name)': shape \(shape) needs \(count * 4) bytes, has \(bytes)")
                }
                tensors[name] = .float32(Tensor(shape: shape, data: copy(Float.self)))
            case "I64":
                guard bytes == count * 8 else {
                    throw SafeTensorsError("tensor '\(name)': shape \(shape) needs \(count * 8) bytes, has \(bytes)")
                }
                tensors[name] = .int64(shape: shape, values: copy(Int64.self))
            default:
                throw SafeTensorsError("tensor '\(name)': dtype \(dtype) is not supported (F32 and I64 are)")
            }
        }
        return (tensors, metadata)
    }

    public static func read(_ url: URL) throws -> (tensors: [String: SafeTensorValue], metadata: [String: String]) {
        try decode(try Data(contentsOf: url))
    }

    /// A float tensor by name, or an error naming it.
    public static func float(_ tensors: [String: SafeTensorValue], _ name: String) throws -> Tensor {
        guard case .float32(let t)? = tensors[name] else { throw SafeTensorsError("tensor '\(name)' is missing or not F32") }
        return t
    }
}

extension [String: SafeTensorValue] {
    /// The tensors whose names start with `prefix`, under their names without it (a checkpoint's `optimizer.` part,
    /// one network's part of a joint checkpoint).
    public func strippingPrefix(_ prefix: String) -> [String: SafeTensorValue] {
        Dictionary(uniqueKeysWithValues: filter { $0.key.hasPrefix(prefix) }.map { (String($0.key.dropFirst(prefix.count)), $0.value) })
    }
}
