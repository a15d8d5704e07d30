import ArgumentParser
import Foundation
import MedImage
import Pipeline

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a DICOM file's header and a pixel summary. Patient names, birth dates, addresses and IDs are never shown.")

    @Argument(help: "A DICOM file.")
    var file: String

    @Option(help: "Frame to summarise (0-based).")
    var frame: Int = 0

    func run() throws {
        let dicom: DICOMFile
        do { dicom = try DICOMFile(path: file) } catch { fail("\(file): \(error)") }
        let fields: [(String, DICOMTag)] = [
            ("SOP Class UID", .sopClassUID), ("SOP Instance UID", .sopInstanceUID), ("Study Instance UID", .studyInstanceUID),
            ("Series Instance UID", .seriesInstanceUID), ("Modality", .modality), ("Body Part Examined", .bodyPartExamined),
            ("View Position", .viewPosition), ("Patient Sex", .patientSex), ("Photometric Interpretation", .photometricInterpretation),
            ("Pixel Spacing", .pixelSpacing), ("Rescale Slope", .rescaleSlope), ("Rescale Intercept", .rescaleIntercept),
            ("Window Center", .windowCenter), ("Window Width", .windowWidth),
        ]
        print("file: \(file)")
        print("transfer syntax: \(dicom.transferSyntaxUID)")
        // Header text is the file's: control characters are shown escaped, never sent to the terminal.
        for (label, tag) in fields { print("\(label) \(tag): \(Reporter.oneLine(dicom.string(tag) ?? "-"))") }
        for tag in DICOMTag.patientIdentifying.sorted(by: { ($0.group, $0.element) < ($1.group, $1.element) }) {
            print("\(tag): \(dicom.string(tag) == nil ? "absent" : "present (hidden)")")
        }
        guard dicom.hasPixelData else { print("pixel data: none"); return }
        do {
            let info = try dicom.pixelInfo()
            print(
                "pixels: \(info.columns)×\(info.rows), \(info.frames) frame(s), \(info.samplesPerPixel) sample(s)/pixel, "
                    + "bits allocated \(info.bitsAllocated), stored \(info.bitsStored), high bit \(info.highBit), "
                    + (info.pixelRepresentation == 1 ? "signed" : "unsigned"))
            let decoded = try dicom.decodeFrame(frame)
            let slope = dicom.double(.rescaleSlope) ?? 1
            let intercept = dicom.double(.rescaleIntercept) ?? 0
            let stored = summary(decoded.values.map(Double.init))
            let modality = summary(decoded.values.map { Double($0) * slope + intercept })
            print(
                String(
                    format: "frame %d stored values:   min %.4g  max %.4g  mean %.4g  std %.4g", frame, stored.0, stored.1, stored.2,
                    stored.3))
            print(
                String(
                    format: "frame %d modality values: min %.4g  max %.4g  mean %.4g  std %.4g", frame, modality.0, modality.1, modality.2,
                    modality.3))
        } catch {
            fail("\(file): \(error)")
        }
    }

    func summary(_ values: [Double]) -> (Double, Double, Double, Double) {
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
        return (values.min() ?? 0, values.max() ?? 0, mean, variance.squareRoot())
    }
}
