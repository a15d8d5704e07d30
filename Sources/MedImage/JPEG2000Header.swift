// The image and tile size marker (SIZ) of a JPEG 2000 codestream: the first component's precision and sign (its
// Ssiz byte: bit 7 signed, bits 0–6 precision − 1), read without decoding, to compare with the DICOM header.
enum JPEG2000Header {
    /// (precision, signed) of component 0, or nil when the bytes hold no SIZ marker where a codestream has it
    /// (straight after SOC, at the start or inside a JP2 file's codestream box).
    static func firstComponent(_ bytes: [UInt8]) -> (precision: Int, signed: Bool)? {
        // SOC FF4F followed by SIZ FF51; Ssiz of component 0 sits 42 bytes after SOC.
        guard
            let start = (0..<max(0, bytes.count - 3)).first(where: {
                bytes[$0] == 0xFF && bytes[$0 + 1] == 0x4F && bytes[$0 + 2] == 0xFF && bytes[$0 + 3] == 0x51
            }), start + 42 < bytes.count
        else { return nil }
        let ssiz = bytes[start + 42]
        return (Int(ssiz & 0x7F) + 1, ssiz & 0x80 != 0)
    }
}
