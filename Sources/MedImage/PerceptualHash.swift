// A perceptual hash for near-duplicate checks (the split stage's leak report): the difference hash (dHash) of a
// grey image at 16×16 bits. The image is averaged down to 17 columns × 16 rows of equal areas; each bit says
// whether a cell is darker than its right-hand neighbour. Brightness, contrast and any monotone grey-level change
// (a re-windowed copy) keep most bits, and so does resizing (the cells cover the same fractions of the image);
// different images of one anatomy differ in many. Distance: the number of differing bits (0…256).
import CImageCodecs

public enum PerceptualHash {
    public static let columns = 16, rows = 16

    /// 64 hexadecimal digits, row by row.
    public static func differenceHash(_ samples: Samples, width: Int, height: Int) -> String {
        precondition(samples.count == width * height, "a grey image")
        switch samples {
        case .uint8(let s): return differenceHash(s, width: width, height: height)
        case .uint16(let s): return differenceHash(s, width: width, height: height)
        case .int16(let s): return differenceHash(s, width: width, height: height)
        case .int32(let s): return differenceHash(s, width: width, height: height)
        }
    }

    static func differenceHash<T: FixedWidthInteger>(_ values: [T], width: Int, height: Int) -> String {
        // Area averages: cell (r, c) covers rows [r·H/16, (r+1)·H/16) and columns [c·W/17, (c+1)·W/17), each
        // pixel counted in proportion to its overlap, so that any size maps onto the same cells.
        let cellsX = columns + 1, cellsY = rows
        var cells = [Double](repeating: 0, count: cellsX * cellsY)
        // Each row's cell rows and shares, flattened for the kernel.
        var rowStart = [Int32](), rowCount = [Int32](), rowCell = [Int32](), rowWeight = [Double]()
        for parts in overlaps(height, cellsY) {
            rowStart.append(Int32(rowCell.count))
            rowCount.append(Int32(parts.count))
            for (cy, wy) in parts {
                rowCell.append(Int32(cy))
                rowWeight.append(wy)
            }
        }
        // Each cell column's parts (pixel x, share of the pixel) in x order, as step j of every column side by side
        // (parts[j · cellsX + c]), padded to the longest column with (0, 0): adding v · 0 (±0) leaves a sum
        // unchanged, so every cell adds the same terms in the same order as filling a row left to right, while the
        // 17 sums no longer wait for each other (filling one cell after another, a chain of dependent additions,
        // took 0.74 ms of normalizing a radiograph to 512²).
        var byCell = [[(x: Int, share: Double)]](repeating: [], count: cellsX)
        for (x, parts) in overlaps(width, cellsX).enumerated() {
            for (c, share) in parts { byCell[c].append((x, share)) }
        }
        let steps = byCell.map(\.count).max() ?? 0
        var partX = [Int32](repeating: 0, count: steps * cellsX), partShare = [Double](repeating: 0, count: steps * cellsX)
        for (c, parts) in byCell.enumerated() {
            for (j, part) in parts.enumerated() { (partX[j * cellsX + c], partShare[j * cellsX + c]) = (Int32(part.x), part.share) }
        }
        // 8- and 16-bit samples as they are, others (signed 16-bit) widened to 32 bits.
        let wide = T.bitWidth <= 16 && !T.isSigned ? nil : values.map { Int32(truncatingIfNeeded: $0) }
        func run(_ samples: UnsafeRawBufferPointer, _ sampleBytes: Int) {
            let status = med_dhash_cells(
                samples.baseAddress, sampleBytes, width, height, rowStart, rowCount, rowCell, rowWeight, partX, partShare, steps,
                cellsX, &cells)
            precondition(status == 0, "the kernel takes 17 cells a row")
        }
        if let wide { wide.withUnsafeBytes { run($0, 4) } } else { values.withUnsafeBytes { run($0, T.bitWidth / 8) } }
        var digits = ""
        for r in 0..<rows {
            for nibble in 0..<columns / 4 {
                var value = 0
                for bit in 0..<4 {
                    let c = nibble * 4 + bit
                    value = value << 1 | (cells[r * cellsX + c] < cells[r * cellsX + c + 1] ? 1 : 0)
                }
                digits.append(String(value, radix: 16))
            }
        }
        return digits
    }

    /// For each of `length` pixels, the cells of `count` equal parts it overlaps and the share of the pixel in each.
    static func overlaps(_ length: Int, _ count: Int) -> [[(Int, Double)]] {
        (0..<length).map { p in
            // Pixel p spans [p, p + 1) in units where the whole length is `length`; cell c spans
            // [c·length/count, (c + 1)·length/count).
            let start = Double(p) * Double(count) / Double(length), end = Double(p + 1) * Double(count) / Double(length)
            var parts: [(Int, Double)] = []
            var c = Int(start)
            while Double(c) < end && c < count {
                let share = min(end, Double(c + 1)) - max(start, Double(c))
                if share > 0 { parts.append((c, share / (end - start))) }
                c += 1
            }
            return parts
        }
    }
}
