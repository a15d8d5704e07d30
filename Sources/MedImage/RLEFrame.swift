// DICOM RLE Lossless frames (PS3.5 Annex G): a 64-byte header (segment count, then up to 15 offsets) and one
// PackBits segment per byte plane. DCMTK's decoder drops what a segment holds beyond Rows × Columns and pads a
// short one (with a warning), so a header whose Rows or Columns disagree with the stream still decodes. This
// reads the segment table and counts each segment's decoded bytes first, without decoding into memory.
enum RLEFrame {
    /// Throws unless the frame has `segments` segments (samples × bytes per sample) inside it, each decoding to
    /// rows × columns bytes (or one more: a pad byte).
    static func check(_ frame: [UInt8], rows: Int, columns: Int, segments: Int) throws {
        func word(_ index: Int) -> Int {
            (0..<4).reduce(0) { $0 | Int(frame[index * 4 + $1]) << (8 * $1) }
        }
        guard frame.count >= 64 else { throw DICOMError("RLE frame of \(frame.count) bytes is shorter than its 64-byte header") }
        let count = word(0)
        guard count == segments else {
            throw DICOMError("RLE frame has \(count) segments; \(segments) expected for the header's samples and Bits Allocated")
        }
        let offsets = (1...count).map(word) + [frame.count]
        guard offsets[0] == 64, zip(offsets, offsets.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw DICOMError("RLE segment offsets \(offsets.dropLast()) are not increasing inside the \(frame.count)-byte frame")
        }
        let expected = rows * columns
        for s in 0..<count {
            var input = offsets[s], decoded = 0
            while input < offsets[s + 1] && decoded < expected + 2 {
                let n = Int(Int8(bitPattern: frame[input]))
                if n >= 0 {
                    decoded += n + 1
                    input += n + 2
                } else {
                    if n != -128 { decoded += 1 - n }
                    input += n == -128 ? 1 : 2
                }
            }
            // Encoders may pad an odd segment with one more byte (DCMTK's does): that is not a disagreement.
            guard decoded == expected || decoded == expected + 1 else {
                throw DICOMError(
                    "RLE segment \(s + 1) decodes to \(decoded < expected + 2 ? String(decoded) : "more than \(expected)") bytes; Rows × Columns is \(rows)×\(columns) = \(expected)"
                )
            }
        }
    }
}
