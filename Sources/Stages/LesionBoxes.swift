// Lesion boxes of the public datasets, in the source image's pixels, by the file stem of the image they belong to:
// - RSNA's stage_2_train_labels.csv: patientId,x,y,width,height,Target; rows with Target 1 are boxes.
// - VinDr-CXR's train.csv (and annotations_test.csv): image_id,class_name,…,x_min,y_min,x_max,y_max; every row
//   whose class is not "No finding" is a box. The training set has three radiologists' readings per image: their
//   boxes are all kept (the union), as the anomaly is wherever any reader saw a finding.
// The format is told by the header; any other header is an error naming the columns it needs.
import Foundation
import Pipeline

struct LesionBox: Equatable {
    var x, y, width, height: Double

    func contains(_ px: Double, _ py: Double) -> Bool { px >= x && px < x + width && py >= y && py < y + height }
}

enum LesionBoxes {
    static let rsnaColumns = ["patientId", "x", "y", "width", "height", "Target"]
    static let vindrColumns = ["image_id", "class_name", "x_min", "y_min", "x_max", "y_max"]

    static func read(_ url: URL) throws -> [String: [LesionBox]] {
        let table = try CSV.table(url)
        var boxes: [String: [LesionBox]] = [:]
        if Set(rsnaColumns).isSubset(of: table.header) {
            for row in table.rows where row["Target"] == "1" {
                guard let x = try row.number("x"), let y = try row.number("y"), let w = try row.number("width"),
                    let h = try row.number("height")
                else { throw StageFailure("\(url.path): line \(row.line): a Target 1 row needs x, y, width and height") }
                boxes[row["patientId"] ?? "", default: []].append(LesionBox(x: x, y: y, width: w, height: h))
            }
        } else if Set(vindrColumns).isSubset(of: table.header) {
            for row in table.rows where row["class_name"] != "No finding" {
                guard let x0 = try row.number("x_min"), let y0 = try row.number("y_min"), let x1 = try row.number("x_max"),
                    let y1 = try row.number("y_max"), x1 >= x0, y1 >= y0
                else {
                    throw StageFailure(
                        "\(url.path): line \(row.line): a finding ('\(row["class_name"] ?? "")') needs x_min ≤ x_max and y_min ≤ y_max")
                }
                boxes[row["image_id"] ?? "", default: []].append(LesionBox(x: x0, y: y0, width: x1 - x0, height: y1 - y0))
            }
        } else {
            throw StageFailure(
                "\(url.path): not a lesion-box table: RSNA's needs the columns \(rsnaColumns.joined(separator: ",")), VinDr-CXR's \(vindrColumns.joined(separator: ","))"
            )
        }
        return boxes
    }
}
