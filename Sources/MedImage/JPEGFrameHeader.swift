// The frame header (SOF) of a JPEG or JPEG-LS stream: its height, width and components. DCMTK's lossless JPEG
// and JPEG-LS decoders fill a buffer sized from the DICOM header, so a stream of 64 rows under a header that
// says 65 decodes with a made-up row and no warning; comparing the SOF with the header first refuses it.
enum JPEGFrameHeader {
    /// (height, width, components, SOF marker) of the first SOF segment, walking marker segments from SOI.
    static func dimensions(_ stream: [UInt8]) throws -> (height: Int, width: Int, components: Int, marker: UInt8) {
        guard stream.count >= 4, stream[0] == 0xFF, stream[1] == 0xD8 else { throw DICOMError("JPEG stream does not start with SOI") }
        var index = 2
        while index + 4 <= stream.count {
            guard stream[index] == 0xFF else { throw DICOMError("JPEG stream has no marker at byte \(index) before its frame header") }
            let marker = stream[index + 1]
            if marker == 0xFF { index += 1; continue }  // fill byte
            let length = Int(stream[index + 2]) << 8 | Int(stream[index + 3])
            // SOF0–SOF15 (but DHT C4, JPG C8 and DAC CC) and JPEG-LS's SOF55 (F7).
            if (0xC0...0xCF).contains(marker) && ![0xC4, 0xC8, 0xCC].contains(marker) || marker == 0xF7 {
                guard length >= 8, index + 10 <= stream.count else { throw DICOMError("JPEG frame header is cut short") }
                return (
                    Int(stream[index + 5]) << 8 | Int(stream[index + 6]), Int(stream[index + 7]) << 8 | Int(stream[index + 8]),
                    Int(stream[index + 9]), marker
                )
            }
            guard length >= 2 else { throw DICOMError("JPEG marker segment of length \(length) at byte \(index)") }
            index += 2 + length
        }
        throw DICOMError("JPEG stream without a frame header (SOF)")
    }

    /// The fewest bytes a Huffman-coded stream of this size can take, or nil where no bound exists (progressive,
    /// arithmetic coding, JPEG-LS run mode): sequential DCT (SOF0, SOF1) spends at least 2 bits on every 8×8
    /// block, lossless (SOF3) at least 1 bit on every sample. A header claiming more than its bytes can hold is
    /// refused before the decoder allocates for it.
    static func minimumBytes(height: Int, width: Int, components: Int, marker: UInt8) -> Int? {
        switch marker {
        case 0xC0, 0xC1: return (width + 7) / 8 * ((height + 7) / 8) / 4
        case 0xC3: return width * height * components / 8
        default: return nil
        }
    }
}
