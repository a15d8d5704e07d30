// A perceptual hash for near-duplicate checks (the split stage's leak report): the difference hash (dHash) of a
// grey image at 16×16 bits. The image is averaged down to 17 columns × 16 rows of equal areas; each bit says
// whether a cell is darker than its right-hand neighbour. Brightness, contrast and any monotone grey-level change
// (a re-windowed copy) keep most bits, and so does resizing (the cells cover the same fractions of the image);
// different images of one anatomy differ in many. Distance: the number of differing bits (0…256).
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

    static func differenceHash<T: BinaryInteger>(_ values: [T], width: Int, height: Int) -> String {
        // Area averages: cell (r, c) covers rows [r·H/16, (r+1)·H/16) and columns [c·W/17, (c+1)·W/17), each
        // pixel counted in proportion to its overlap, so that any size maps onto the same cells.
        let cellsX = columns + 1, cellsY = rows
        var cells = [Double](repeating: 0, count: cellsX * cellsY)
        let yWeights = overlaps(height, cellsY)
        // Each column's cells and shares as flat runs (x's parts are partCells[partStart[x]..<partStart[x + 1]]):
        // a nested array of tuples retained and released every pixel and took 13% of normalizing a radiograph.
        let xWeights = overlaps(width, cellsX)
        let partStart = xWeights.reduce(into: [0]) { $0.append($0.last! + $1.count) }
        let partCells = xWeights.flatMap { $0.map(\.0) }, partShares = xWeights.flatMap { $0.map(\.1) }
        cells.withUnsafeMutableBufferPointer { cells in
            values.withUnsafeBufferPointer { values in
                partStart.withUnsafeBufferPointer { partStart in
                    partCells.withUnsafeBufferPointer { partCells in
                        partShares.withUnsafeBufferPointer { partShares in
                            for y in 0..<height {
                                for (cy, wy) in yWeights[y] {
                                    let row = cells.baseAddress! + cy * cellsX, pixels = values.baseAddress! + y * width
                                    // The cell being filled stays in a register (cells are met in order along a row):
                                    // the same additions in the same order as adding into memory, without waiting for
                                    // each store to come back (that chain took 6% of normalizing a radiograph).
                                    var cell = 0, sum = row[0]
                                    for x in 0..<width {
                                        let v = Double(pixels[x]) * wy
                                        for part in partStart[x]..<partStart[x + 1] {
                                            if partCells[part] != cell {
                                                row[cell] = sum
                                                cell = partCells[part]
                                                sum = row[cell]
                                            }
                                            sum += v * partShares[part]
                                        }
                                    }
                                    row[cell] = sum
                                }
                            }
                        }
                    }
                }
            }
        }
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
