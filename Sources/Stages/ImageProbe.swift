// What the ingest stage learns from one file: its format (by content, not extension), its header, and
// whether every frame it will hand on decodes (of JPEG baseline, whose decoder fails cleanly, the stream header
// only: DICOMFile.verifyFrame). Runs inside a decoder worker process (see DecoderWorkers), so that a decoder that
// aborts or hangs on hostile bytes takes down only that worker.
import Foundation
import MedImage
import Pipeline

public struct ProbeRequest: Codable, Sendable {
    public var path: String
    public var allFrames: Bool
    public var maxPixels: Int

    public init(path: String, allFrames: Bool, maxPixels: Int) {
        (self.path, self.allFrames, self.maxPixels) = (path, allFrames, maxPixels)
    }
}

/// One image (a file, or one frame of a multi-frame file) and its ingest.csv fields.
public struct ProbedImage: Codable, Sendable, Equatable {
    public var imageID: String
    public var frame: Int
    /// Column → value for the header columns of ingest.csv.
    public var fields: [String: String]
    /// The raw Patient ID, handed to the parent for keying; never written or logged as is.
    public var rawPatientID: String?
}

public struct ProbeResult: Codable, Sendable {
    public var images: [ProbedImage] = []
    public var error: String?
}

public enum ImageProbe {
    /// Header columns every format fills (missing values stay empty).
    public static let headerColumns = [
        "format", "modality", "body_part", "view_position", "rows", "columns", "frames", "samples_per_pixel",
        "bits_allocated", "bits_stored", "pixel_representation", "photometric_interpretation", "transfer_syntax_uid",
        "rescale_slope", "rescale_intercept", "window_center", "window_width", "pixel_spacing",
        "study_instance_uid", "series_instance_uid",
    ]

    public static func examine(_ request: ProbeRequest) -> ProbeResult {
        var result = ProbeResult()
        do {
            let data = try readFile(request.path)
            let stem = URL(fileURLWithPath: request.path).deletingPathExtension().lastPathComponent
            // Only the JPEG decoders take the bytes; DICOM and PNG are parsed from the path, and a mapped page is
            // read only when touched, so a radiograph's pixels are not read here (normalize reads them once).
            switch FileSignature.of([UInt8](data.prefix(132))) {
            case .png:
                let image = try PNGCodec.read(path: request.path, maxPixels: request.maxPixels)
                result.images = [plain(image, id: stem, format: "png")]
            case .jpeg:
                // The header only: libjpeg-turbo fails cleanly on damaged data (no crash or hang to isolate), and
                // normalize decodes every JPEG anyway; a second entropy decoding here (at 1/8 size) was 2.6 of
                // the worker's 3.8 ms a 1024² frame. Damage becomes a normalize error row.
                let size = try JPEGCodec.header(data, maxPixels: request.maxPixels)
                result.images = [plain(width: size.width, height: size.height, channels: size.channels, bits: 8, id: stem, format: "jpeg")]
            case .jpeg2000:
                result.images = [plain(try JPEG2000Codec.decode([UInt8](data), maxPixels: request.maxPixels), id: stem, format: "jpeg2000")]
            case .dicom:
                result.images = try dicom(request, stem: stem, hasPreamble: true)
            case .unknown:
                result.images = try dicom(request, stem: stem, hasPreamble: false)
            }
        } catch {
            result.error = String(describing: error)
        }
        return result
    }

    static func readFile(_ path: String) throws -> Data {
        do { return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw ImageError("unreadable file: \((error as NSError).localizedDescription)")
        }
    }

    static func plain(_ image: PixelImage, id: String, format: String) -> ProbedImage {
        plain(width: image.width, height: image.height, channels: image.channels, bits: image.bitsStored, id: id, format: format)
    }

    /// Empty when `id` is its own file name; otherwise says that its file names are escaped.
    static func idCheck(_ id: String, what: String) -> String {
        SafeName.fileName(id) == id
            ? "" : "\(what) has characters other than letters, digits, '.', '_', '-' (or starts with '.'); its file names are escaped"
    }

    static func plain(width: Int, height: Int, channels: Int, bits: Int, id: String, format: String) -> ProbedImage {
        ProbedImage(
            imageID: id, frame: 0,
            fields: [
                "id_check": idCheck(id, what: "file stem"),
                "format": format, "rows": String(height), "columns": String(width), "frames": "1",
                "samples_per_pixel": String(channels), "bits_allocated": String(bits > 8 ? 16 : 8), "bits_stored": String(bits),
                "pixel_representation": "0", "photometric_interpretation": channels == 1 ? "MONOCHROME2" : "RGB",
            ], rawPatientID: nil)
    }

    static func dicom(_ request: ProbeRequest, stem: String, hasPreamble: Bool) throws -> [ProbedImage] {
        let file: DICOMFile
        do { file = try DICOMFile(path: request.path) } catch {
            if hasPreamble { throw DICOMError("truncated or corrupt DICOM file: \(error)") }
            throw ImageError("not DICOM, PNG or JPEG (unrecognised content)")
        }
        guard file.hasPixelData else {
            let sopClass = file.string(.sopClassUID).map { " (SOP Class \($0))" } ?? ""
            throw DICOMError("no pixel data, for example a structured report or presentation state\(sopClass)")
        }
        let info = try file.checkedPixelInfo(allFrames: request.allFrames, maxPixels: request.maxPixels)
        let frames = request.allFrames ? Array(0..<info.frames) : [0]
        for frame in frames { try file.verifyFrame(frame, maxPixels: request.maxPixels) }
        func first(_ tag: DICOMTag) -> String {
            file.string(tag)?.split(separator: "\\").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        }
        var fields: [String: String] = [
            "format": "dicom", "modality": first(.modality), "body_part": first(.bodyPartExamined),
            "view_position": first(.viewPosition), "rows": String(info.rows), "columns": String(info.columns),
            "frames": String(info.frames), "samples_per_pixel": String(info.samplesPerPixel),
            "bits_allocated": String(info.bitsAllocated), "bits_stored": String(info.bitsStored),
            "pixel_representation": String(info.pixelRepresentation),
            "photometric_interpretation": first(.photometricInterpretation), "transfer_syntax_uid": file.transferSyntaxUID,
            "rescale_slope": first(.rescaleSlope), "rescale_intercept": first(.rescaleIntercept),
            "window_center": first(.windowCenter), "window_width": first(.windowWidth),
            "pixel_spacing": file.string(.pixelSpacing) ?? "",
            "study_instance_uid": first(.studyInstanceUID), "series_instance_uid": first(.seriesInstanceUID),
        ]
        let uid = first(.sopInstanceUID)
        let baseID = uid.isEmpty ? stem : uid
        fields["id_check"] =
            uid.isEmpty
            ? idCheck(stem, what: "file stem (no SOP Instance UID)")
            : SafeName.isUID(uid)
                ? "" : "SOP Instance UID is not a valid UID (digits and dots, at most 64 characters); its file names are escaped"
        let patient = file.string(.patientID)?.trimmingCharacters(in: .whitespaces)
        return frames.map { frame in
            ProbedImage(
                imageID: request.allFrames && info.frames > 1 ? "\(baseID)_f\(frame)" : baseID, frame: frame,
                fields: fields, rawPatientID: patient?.isEmpty == false ? patient : nil)
        }
    }
}
