// maps.csv: the score stage's index of its anomaly-map strips (maps/*.png), one row per strip: which score, which
// end of that score's ranking and which place in it, the image, its label and its score; the report captions each
// strip from it.
import Foundation
import Pipeline

public struct MapStripRow: CSVRecord, Equatable {
    public static let file = "maps.csv"
    public static let columns = ["file", "score", "end", "rank", "image_id", "label", "value", "images"]
    /// The PNG's name inside maps/.
    public var file: String
    public var score: String
    /// "top": the highest-scored images, rank 1 the highest; "bottom": the lowest, rank 1 the lowest.
    public var end: String
    public var rank: Int
    public var imageID: String
    public var label: Int
    public var value: Double
    /// Test images ranked.
    public var images: Int

    public init(file: String, score: String, end: String, rank: Int, imageID: String, label: Int, value: Double, images: Int) {
        (self.file, self.score, self.end, self.rank, self.imageID) = (file, score, end, rank, imageID)
        (self.label, self.value, self.images) = (label, value, images)
    }

    public var fields: [String] {
        [file, score, end, String(rank), imageID, String(label), String(format: "%.9g", value), String(images)]
    }

    public init(_ row: CSV.Row) throws {
        self.init(
            file: row.text("file"), score: row.text("score"), end: row.text("end"), rank: try row.requiredInteger("rank"),
            imageID: row.text("image_id"), label: try row.requiredInteger("label"), value: try row.requiredNumber("value"),
            images: try row.requiredInteger("images"))
    }

    /// "abnormal · ens_rec 0.0152 · highest 1 of 300 · id …55887697": what a reader needs beside the strip; the id
    /// is the image key's last 8 characters (enough to find it in score.csv).
    public var caption: String {
        let place = end == "top" ? "highest" : "lowest"
        let id = imageID.count > 8 ? "…" + imageID.suffix(8) : imageID
        return
            "\(label == 1 ? "abnormal" : "normal") · \(score) \(String(format: "%.4g", value)) · \(place) \(rank) of \(images) · id \(id)"
    }
}
