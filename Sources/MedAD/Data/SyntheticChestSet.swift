// The embedded default dataset: chest phantoms stored as DICOM the way real archives store them —
// spread over transfer syntaxes, MONOCHROME1 and 2, 8/12/16 bits, signed and unsigned, with rescale
// slope/intercept — plus an RSNA-format label file. Everything follows from (seed, index).
import MedImage
import MedNN

public struct SyntheticChestSet: Sendable {
    public let seed: UInt64
    public let size: Int
    /// Images per class, in the order normal, lung opacity, not normal.
    public let counts: [ChestFinding: Int]
    public let syntaxes: [DICOMTransferSyntax]
    public let monochrome1Fraction: Double
    public let jpegQuality: Int
    private let order: [ChestFinding]

    public init(
        seed: UInt64, size: Int, counts: [ChestFinding: Int], syntaxes: [DICOMTransferSyntax],
        monochrome1Fraction: Double = 0.3, jpegQuality: Int = 92
    ) {
        self.seed = seed
        self.size = size
        self.counts = counts
        self.syntaxes = syntaxes
        self.monochrome1Fraction = monochrome1Fraction
        self.jpegQuality = jpegQuality
        // Classes interleaved deterministically, so any prefix of the set mixes them.
        var order: [ChestFinding] = []
        for finding in ChestFinding.allCases { order += Array(repeating: finding, count: counts[finding] ?? 0) }
        var rng = SeededGenerator(seed: seed, index: UInt64.max)
        rng.shuffle(&order)
        self.order = order
    }

    public var count: Int { counts.values.reduce(0, +) }

    public func finding(at index: Int) -> ChestFinding { order[index] }

    /// How one image is stored.
    public struct Encoding: Sendable, Equatable {
        public let syntax: DICOMTransferSyntax
        public let bitsStored: Int
        public let photometric: String
        public let pixelRepresentation: Int
        public let rescaleSlope: Double
        public let rescaleIntercept: Double
        public var bitsAllocated: Int { bitsStored > 8 ? 16 : 8 }
    }

    public struct Image: Sendable {
        public let index: Int
        public let patientID: String
        public let sopInstanceUID: String
        public let finding: ChestFinding
        public let opacities: Int
        /// Where the opacities are (size × size) and each region's bounding box in pixels.
        public let lesionMask: [Bool]
        public let boxes: [(x: Int, y: Int, width: Int, height: Int)]
        public let encoding: Encoding
        public let request: DICOMWriteRequest
    }

    /// Builds image `index`: phantom, encoding, header and stored pixel values.
    public func image(_ index: Int) -> Image {
        let finding = finding(at: index)
        var rng = SeededGenerator(seed: seed, index: UInt64(index))
        let patientID = Self.uuid(&rng)
        let sop = "2.25.\(rng.next())"
        let study = "2.25.\(rng.next())"
        let series = "2.25.\(rng.next())"
        let syntax = syntaxes[index % syntaxes.count]
        let bits = syntax == .jpegBaseline ? 8 : [8, 12, 16][Int(rng.next() % 3)]
        let photometric = rng.uniform() < monochrome1Fraction ? "MONOCHROME1" : "MONOCHROME2"
        // 16-bit images are stored signed half the time, with the intercept that restores the range.
        let signed = bits == 16 && rng.next() % 2 == 0
        let slope = bits == 8 ? 1.0 : [1.0, 0.5, 2.0][Int(rng.next() % 3)]
        let intercept = signed ? 32768 * slope : (bits == 12 ? -1024.0 : 0.0)
        let encoding = Encoding(
            syntax: syntax, bitsStored: bits, photometric: photometric, pixelRepresentation: signed ? 1 : 0,
            rescaleSlope: slope, rescaleIntercept: intercept)
        let phantom = ChestPhantom(size: size, finding: finding, rng: &rng)
        let maxValue = Float((1 << bits) - 1)
        let pixels = phantom.density.map { d -> UInt16 in
            let shown = photometric == "MONOCHROME1" ? 1 - d : d
            let stored = Int((shown * maxValue).rounded()) - (signed ? 32768 : 0)
            return UInt16(truncatingIfNeeded: stored)
        }
        let birthYear = 1930 + Int(rng.next() % 70)
        let attributes: [(DICOMTag, String)] = [
            (.sopClassUID, "1.2.840.10008.5.1.4.1.1.7"),  // Secondary Capture, as RSNA's files
            (.sopInstanceUID, sop),
            (.studyInstanceUID, study),
            (.seriesInstanceUID, series),
            (.modality, "CR"),
            (.bodyPartExamined, "CHEST"),
            (.viewPosition, rng.next() % 2 == 0 ? "PA" : "AP"),
            (.patientID, patientID),
            // Synthetic identity, present so that tests can prove it never leaks.
            (.patientName, "SYNTHETIC^PATIENT\(index)"),
            (.patientBirthDate, "\(birthYear)0101"),
            (.patientSex, rng.next() % 2 == 0 ? "F" : "M"),
            (.pixelSpacing, "0.168\\0.168"),
            (.rescaleSlope, Self.decimal(slope)),
            (.rescaleIntercept, Self.decimal(intercept)),
            (.instanceNumber, "1"),
        ]
        let request = DICOMWriteRequest(
            attributes: attributes, rows: size, columns: size, bitsAllocated: encoding.bitsAllocated,
            bitsStored: bits, pixelRepresentation: encoding.pixelRepresentation,
            photometric: photometric, pixels: pixels)
        return Image(
            index: index, patientID: patientID, sopInstanceUID: sop, finding: finding,
            opacities: phantom.opacities, lesionMask: phantom.lesionMask, boxes: phantom.boxes, encoding: encoding, request: request)
    }

    /// A UUID-shaped identifier, as RSNA's patientId values are.
    static func uuid(_ rng: inout SeededGenerator) -> String {
        let hex = (0..<2).map { _ in String(rng.next(), radix: 16) }.map { String(repeating: "0", count: 16 - $0.count) + $0 }.joined()
        let c = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(c[$0]) }.joined(separator: "-")
    }

    /// A DICOM Decimal String: no trailing ".0".
    static func decimal(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
