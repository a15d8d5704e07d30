// How faithfully a file holds its pixels, to choose between two files of one image (one SOP Instance UID sent
// twice, once compressed for a viewer): uncompressed first, then lossless compression, then lossy; among equals
// the file found first. From ingest.csv's format and transfer syntax.
enum ImageFidelity: Int, Comparable {
    case uncompressed, lossless, lossy

    static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    /// Lossy DICOM transfer syntaxes: JPEG baseline and extended, JPEG-LS near-lossless, JPEG 2000 (irreversible
    /// allowed), HTJ2K (irreversible allowed).
    static let lossyUIDs: Set<String> = [
        "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.4.203",
    ]
    /// Native (uncompressed) DICOM transfer syntaxes, deflate included (its pixels are exact).
    static let nativeUIDs: Set<String> = ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"]

    init(format: String, transferSyntax: String) {
        switch format {
        case "dicom":
            self = Self.nativeUIDs.contains(transferSyntax) ? .uncompressed : Self.lossyUIDs.contains(transferSyntax) ? .lossy : .lossless
        case "jpeg": self = .lossy
        default: self = .lossless  // PNG; JPEG 2000 files are treated as their lossless form
        }
    }

    var words: String {
        switch self {
        case .uncompressed: return "uncompressed"
        case .lossless: return "lossless"
        case .lossy: return "lossy"
        }
    }
}
