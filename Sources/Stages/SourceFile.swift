// The source file of one normalize row, decoded, with its content hash (XXH3-64 of every byte of the file,
// normalize.csv's content_hash) taken by the read that decodes it, and its pixel hash. An uncompressed little
// endian DICOM frame, the bulk of a radiograph corpus, streams from the file in 256 KB pieces straight into its
// sample array; while a piece is in cache it is hashed as file bytes, masked to Bits Stored, counted for the
// grey-level statistics (StoredStatistics.Stream) and hashed as pixels. That is one pass over a 7 MB file where
// hashing it at ingest, reading it here, masking it, counting it and hashing its pixels took five (see the README's
// performance section). JPEG and JPEG 2000 files are read whole and hashed; PNG and the other DICOM syntaxes are
// hashed in one pass and then decoded by their codec, which reads the file itself (small compressed files, mostly).
// The frames of one multi-frame file share its hash, taken once (FileHashes).
import Foundation
import MedImage
import Pipeline
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

struct SourceFile {
    var image: PixelImage
    var contentHash: String
    /// XXH3 of the decoded samples after their geometry (PixelHash).
    var pixelHash: String
    /// The stored samples' statistics, when the read took them (one-channel unsigned 16-bit frames); GreyLevels
    /// takes them otherwise.
    var stored: StoredStatistics?
    /// What decoding read differently from the header's word (DICOMFile.decodingNote), for the log.
    var note: String?
    /// The file's first VOI LUT, when `wantsVOILUT` asked for it.
    var voiLUT: VOILUT?

    init(image: PixelImage, contentHash: String, pixelHash: String? = nil, stored: StoredStatistics? = nil) {
        (self.image, self.contentHash, self.stored) = (image, contentHash, stored)
        self.pixelHash = pixelHash ?? PixelHash.of(image)
    }

    static func read(path: String, format: String, frame: Int, wantsVOILUT: Bool, hashes: FileHashes) throws -> SourceFile {
        let url = URL(fileURLWithPath: path)
        switch format {
        case "dicom":
            let dicom = try DICOMFile(path: path)
            var source: SourceFile
            let (info, offset) = try dicom.nativeFrameOffset(frame)
            if let offset, info.frames == 1 {
                let reader = try HashingReader(path: path)
                try reader.skip(offset)
                source = try info.bitsAllocated == 16 && info.pixelRepresentation == 0 ? words(info, reader) : stored(info, reader)
            } else {
                let image = try dicom.decodeFrame(frame)
                source = SourceFile(image: image, contentHash: try info.frames > 1 ? hashes.hash(path) : XXH3.hex(ofFile: url))
            }
            source.note = try dicom.decodingNote()
            if wantsVOILUT { source.voiLUT = try dicom.voiLUT() }
            return source
        case "png":
            let hash = try XXH3.hex(ofFile: url)
            return SourceFile(image: try PNGCodec.read(path: path), contentHash: hash)
        case "jpeg", "jpeg2000":
            let bytes = [UInt8](try Data(contentsOf: url))
            let hash = XXH3.hex(bytes)
            let image = try format == "jpeg" ? JPEGCodec.decode(bytes) : JPEG2000Codec.decode(bytes)
            return SourceFile(image: image, contentHash: hash)
        default:
            throw ImageError("unknown format '\(format)' in ingest.csv")
        }
    }

    /// An unsigned 16-bit frame, masked, counted and pixel-hashed piece by piece as it is read.
    private static func words(_ info: DICOMPixelInfo, _ reader: HashingReader) throws -> SourceFile {
        let count = info.rows * info.columns
        var statistics = StoredStatistics.Stream(bitsStored: info.bitsStored)
        let pixels = PixelHash.stream(width: info.columns, height: info.rows, channels: 1, bitsStored: info.bitsStored, type: 1)
        let words = try [UInt16](unsafeUninitializedCapacity: count) { buffer, initialized in
            try reader.read(into: UnsafeMutableRawBufferPointer(buffer)) { piece in
                let samples = piece.bindMemory(to: UInt16.self)
                statistics.add(samples)
                pixels.update(UnsafeRawBufferPointer(samples))
            }
            initialized = count
        }
        let image = PixelImage(width: info.columns, height: info.rows, channels: 1, bitsStored: info.bitsStored, samples: .uint16(words))
        return SourceFile(
            image: image, contentHash: try reader.finish(), pixelHash: XXH3.hex(pixels.digest()), stored: statistics.finish())
    }

    /// Any other native frame: read, then masked or sign-extended as decodeFrame does.
    private static func stored(_ info: DICOMPixelInfo, _ reader: HashingReader) throws -> SourceFile {
        let image = try DICOMFile.storedFrame(info, bytes: info.rows * info.columns * info.bitsAllocated / 8) {
            try reader.read(into: $0) { _ in }
        }
        return SourceFile(image: image, contentHash: try reader.finish())
    }
}

/// XXH3 of decoded samples after their geometry (width, height, channels, bits stored, sample type): normalize.csv's
/// pixel_hash, equal for the same pixels in any container or transfer syntax.
enum PixelHash {
    static func stream(width: Int, height: Int, channels: Int, bitsStored: Int, type: UInt8) -> XXH3.Stream {
        let stream = XXH3.Stream()
        (Array("\(width)x\(height)x\(channels)/\(bitsStored)".utf8) + [type]).withUnsafeBytes { stream.update($0) }
        return stream
    }

    static func of(_ image: PixelImage) -> String {
        func hash<T>(_ samples: [T], type: UInt8) -> String {
            let stream = Self.stream(
                width: image.width, height: image.height, channels: image.channels, bitsStored: image.bitsStored, type: type)
            samples.withUnsafeBytes { stream.update($0) }
            return XXH3.hex(stream.digest())
        }
        switch image.samples {
        case .uint8(let s): return hash(s, type: 0)
        case .uint16(let s): return hash(s, type: 1)
        case .int16(let s): return hash(s, type: 2)
        case .int32(let s): return hash(s, type: 3)
        }
    }
}

/// Content hashes of the multi-frame files one normalize run reads, by path: every frame of such a file is a row,
/// and hashing the whole file for each would read it once per frame.
final class FileHashes: Sendable {
    private let hashes = Mutex([String: String]())

    func hash(_ path: String) throws -> String {
        if let known = hashes.withLock({ $0[path] }) { return known }
        let hash = try XXH3.hex(ofFile: URL(fileURLWithPath: path))  // two rows may both hash it: same value
        hashes.withLock { $0[path] = hash }
        return hash
    }
}

/// Reads a file front to back, hashing every byte it passes, in pieces small enough to hash from cache.
final class HashingReader {
    private let descriptor: Int32
    private let stream = XXH3.Stream()
    private static let piece = 256 << 10

    init(path: String) throws {
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ImageError("source file is unreadable: \(String(cString: strerror(errno)))") }
    }

    deinit { close(descriptor) }

    /// The bytes around the frame (a header of a few KB, seldom anything after it) pass through a buffer on the stack:
    /// a heap buffer taken and freed around each 7 MB sample array left holes that raised normalize's peak from 75
    /// to 100-124 MB.
    private func withScratch(_ body: (UnsafeMutableRawBufferPointer) throws -> Void) throws {
        try withUnsafeTemporaryAllocation(byteCount: 16 << 10, alignment: 64) { try body($0) }
    }

    /// Fills `buffer` with the next bytes, handing each piece of up to 256 KB to `each` once it is read and hashed
    /// (pieces start at multiples of 256 KB); the file ending first is an error (it changed since ingest).
    func read(into buffer: UnsafeMutableRawBufferPointer, each: (UnsafeMutableRawBufferPointer) -> Void) throws {
        var start = 0
        while start < buffer.count {
            let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[start..<min(buffer.count, start + Self.piece)])
            var done = 0
            while done < piece.count {
                let count = try next(into: UnsafeMutableRawBufferPointer(rebasing: piece[done...]))
                guard count > 0 else {
                    throw ImageError("source file ended early: it changed since ingest; run ingest again")
                }
                done += count
            }
            each(piece)
            start += piece.count
        }
    }

    /// Passes over the next `count` bytes, hashing them.
    func skip(_ count: UInt64) throws {
        var left = count
        try withScratch { scratch in
            while left > 0 {
                let piece = Int(min(left, UInt64(scratch.count)))
                try read(into: UnsafeMutableRawBufferPointer(rebasing: scratch[0..<piece])) { _ in }
                left -= UInt64(piece)
            }
        }
    }

    /// Reads the rest of the file and returns the hash of all of it, as 16 hex digits.
    func finish() throws -> String {
        try withScratch { scratch in
            while try next(into: scratch) > 0 {}
        }
        return XXH3.hex(stream.digest())
    }

    /// One read(2) into `buffer`, hashed; 0 at the end of the file.
    private func next(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            if count >= 0 {
                stream.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                return count
            }
            if errno != EINTR { throw ImageError("reading the source file: \(String(cString: strerror(errno)))") }
        }
    }
}
