// The split stage's leak check: pairs of images in different parts (train, unlabeled, test) that are the same
// image (equal decoded pixels: normalize.csv's pixel_hash, whatever the file or transfer syntax), nearly the same
// image (difference hashes of the normalized images within `nearBits` bits: a re-windowed, re-encoded or resized
// copy), or the same patient (equal patient_key) in training and test. A split built by medad keeps patients
// apart already; an imported split, or one built without grouping, may not.
import Foundation
import MedImage

struct LeakCheck {
    /// One split image with what the checks compare.
    struct Item {
        let imageID: String
        let part: String
        let patientKey: String
        let pixelHash: String
        let dhash: String
    }

    /// leaks.csv's rows: kind (duplicate, near_duplicate, patient), both images and their parts, and the hash
    /// distance in bits (0 for a duplicate; empty for a patient).
    static let columns = ["kind", "image_a", "part_a", "image_b", "part_b", "distance"]

    static func find(_ items: [Item], nearBits: Int) -> [[String]] {
        let items = items.sorted { $0.imageID < $1.imageID }
        var rows: [[String]] = []
        func pair(_ kind: String, _ a: Item, _ b: Item, _ distance: String) {
            rows.append([kind, a.imageID, a.part, b.imageID, b.part, distance])
        }
        // Equal pixels.
        var exact = Set<[Int]>()
        for group in Dictionary(grouping: items.indices.filter { !items[$0].pixelHash.isEmpty }, by: { items[$0].pixelHash }).values
        where group.count > 1 {
            for (x, i) in group.enumerated() {
                for j in group[(x + 1)...] where items[i].part != items[j].part {
                    pair("duplicate", items[i], items[j], "0")
                    exact.insert([i, j])
                }
            }
        }
        // Near: every cross-part pair's distance, on the hashes unpacked to four 64-bit words (RSNA's protocol has
        // 15,000 split images, 10^8 pairs: the loop allocates nothing and compares parts as integers).
        let unpacked = items.map { words(of: $0.dhash) ?? [] }
        let codes = Dictionary(Set(items.map(\.part)).sorted().enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        let partIndex = items.map { codes[$0.part]! }
        for i in items.indices where unpacked[i].count == 4 {
            let a = unpacked[i]
            for j in (i + 1)..<items.count where partIndex[i] != partIndex[j] && unpacked[j].count == 4 {
                let b = unpacked[j]
                let distance =
                    (a[0] ^ b[0]).nonzeroBitCount + (a[1] ^ b[1]).nonzeroBitCount + (a[2] ^ b[2]).nonzeroBitCount
                    + (a[3] ^ b[3]).nonzeroBitCount
                if distance <= nearBits && !exact.contains([i, j]) { pair("near_duplicate", items[i], items[j], String(distance)) }
            }
        }
        // One patient in training and test.
        for group in Dictionary(grouping: items.filter { !$0.patientKey.isEmpty }, by: \.patientKey).values {
            for a in group where a.part == "train" {
                for b in group where b.part == "test" { pair("patient", a, b, "") }
            }
        }
        return rows
    }

    /// A difference hash (64 hexadecimal digits) as four words; nil for anything else.
    static func words(of hash: String) -> [UInt64]? {
        guard hash.utf8.count == PerceptualHash.rows * PerceptualHash.columns / 4 else { return nil }
        let digits = Array(hash)
        let words = stride(from: 0, to: digits.count, by: 16).compactMap { UInt64(String(digits[$0..<$0 + 16]), radix: 16) }
        return words.count == digits.count / 16 ? words : nil
    }
}
