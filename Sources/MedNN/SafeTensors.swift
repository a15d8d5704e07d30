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

    public static func encode(_ tensors: [String: SafeTensorValue], metadata: [String: String] = [:]) throws -> Data {
        var header: [String: Any] = [:]
        var body = Data()
        for name in tensors.keys.sorted() {
            let start = body.count
            let shape: [Int], dtype: String
            switch tensors[name]! {
            case .float32(let t):
                shape = t.shape
                dtype = "F32"
                t.data.withUnsafeBufferPointer { body.append(Data(buffer: $0)) }  // little-endian hosts only (x86-64, arm64)
            case .int64(let s, let values):
                shape = s
                dtype = "I64"
                values.withUnsafeBufferPointer { body.append(Data(buffer: $0)) }
            }
            header[name] = ["dtype": dtype, "shape": shape, "data_offsets": [start, body.count]]
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }  // pad with spaces so the data is 8-byte aligned
        var length = UInt64(json.count).littleEndian
        var out = Data(bytes: &length, count: 8)
        out.append(json)
        out.append(body)
        return out
    }

    /// Parses a file's bytes; every inconsistency is an error naming the tensor it concerns.
    public static func decode(_ data: Data) throws -> (tensors: [String: SafeTensorValue], metadata: [String: String]) {
        guard data.count >= 8 else { throw SafeTensorsError("not a safetensors file: \(data.count) bytes, less than the 8-byte header length") }
        let length = data.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard length <= UInt64(data.count - 8) else {
            throw SafeTensorsError("header length \(length) runs past the end of the file (\(data.count) bytes): truncated or not safetensors")
        }
        let headerBytes = data.subdata(in: 8..<(8 + Int(length)))
        guard let object = try? JSONSerialization.jsonObject(with: headerBytes), let header = object as? [String: Any] else {
            throw SafeTensorsError("the header is not a JSON object")
        }
        let body = data.subdata(in: (8 + Int(length))..<data.count)
        var tensors: [String: SafeTensorValue] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                metadata = (value as? [String: String]) ?? [:]
                continue
            }
            guard let fields = value as? [String: Any], let dtype = fields["dtype"] as? String,
                  let shape = fields["shape"] as? [Int], let offsets = fields["data_offsets"] as? [Int], offsets.count == 2 else {
                throw SafeTensorsError("tensor '\(name)': malformed header entry")
            }
            let (start, end) = (offsets[0], offsets[1])
            guard start >= 0, start <= end, end <= body.count else {
                throw SafeTensorsError("tensor '\(name)': data offsets \(start)…\(end) outside the \(body.count) data bytes")
            }
            let count = shape.reduce(1, *)
            let bytes = body.subdata(in: start..<end)
            switch dtype {
            case "F32":
                guard bytes.count == count * 4 else { throw SafeTensorsError("tensor '\(name)': shape \(shape) needs \(count * 4) bytes, has \(bytes.count)") }
                tensors[name] = .float32(Tensor(shape: shape, data: bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }))
            case "I64":
                guard bytes.count == count * 8 else { throw SafeTensorsError("tensor '\(name)': shape \(shape) needs \(count * 8) bytes, has \(bytes.count)") }
                tensors[name] = .int64(shape: shape, values: bytes.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) })
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
