// Native (uncompressed) pixel layouts that DCMTK hands back as stored and medad unpacks itself, as pydicom reads
// them: Bits Allocated 1 (a frame's bits one after another, least significant bit of each byte first, the next
// frame starting in the same byte when the count is not a multiple of 8) and YBR colour (YBR_FULL; YBR_FULL_422's
// two luminance samples and one chrominance pair per two pixels), converted to RGB.
enum NativePixels {
    /// Frame `frame` of Bits Allocated 1 data: 0 or 1 per pixel.
    static func bits(_ bytes: [UInt8], frame: Int, _ info: DICOMPixelInfo) throws -> PixelImage {
        let count = info.rows * info.columns, first = frame * count
        guard (first + count + 7) / 8 <= bytes.count else {
            throw DICOMError("Pixel Data holds \(bytes.count) bytes, too few for frame \(frame) of \(count) bits")
        }
        let values = (first..<(first + count)).map { bit in (bytes[bit / 8] >> UInt8(bit % 8)) & 1 }
        return PixelImage(width: info.columns, height: info.rows, channels: 1, bitsStored: 1, samples: .uint8(values))
    }

    /// Frame `frame` of 8-bit YBR_FULL or YBR_FULL_422 (interleaved, or YBR_FULL in planes) as interleaved RGB.
    static func ybr(_ bytes: [UInt8], frame: Int, _ info: DICOMPixelInfo, photometric: String, planar: Bool) throws -> PixelImage {
        guard info.bitsAllocated == 8, info.samplesPerPixel == 3 else {
            throw DICOMError("\(photometric) at \(info.bitsAllocated) bits allocated is not read here (8-bit only)")
        }
        let pixels = info.rows * info.columns
        let subsampled = photometric == "YBR_FULL_422"
        guard !(subsampled && (planar || info.columns % 2 == 1)) else {
            throw DICOMError("YBR_FULL_422 needs an even number of columns and interleaved samples")
        }
        let frameBytes = subsampled ? pixels * 2 : pixels * 3, start = frame * frameBytes
        guard start + frameBytes <= bytes.count else {
            throw DICOMError("Pixel Data holds \(bytes.count) bytes, too few for frame \(frame) of \(photometric)")
        }
        var rgb = [UInt8](repeating: 0, count: pixels * 3)
        for p in 0..<pixels {
            let y: UInt8, cb: UInt8, cr: UInt8
            if subsampled {
                // Y1 Y2 Cb Cr for pixels 2k and 2k + 1.
                let pair = start + (p / 2) * 4
                (y, cb, cr) = (bytes[pair + p % 2], bytes[pair + 2], bytes[pair + 3])
            } else if planar {
                (y, cb, cr) = (bytes[start + p], bytes[start + pixels + p], bytes[start + 2 * pixels + p])
            } else {
                (y, cb, cr) = (bytes[start + 3 * p], bytes[start + 3 * p + 1], bytes[start + 3 * p + 2])
            }
            (rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2]) = toRGB(y, cb, cr)
        }
        return PixelImage(width: info.columns, height: info.rows, channels: 3, bitsStored: 8, samples: .uint8(rgb))
    }

    /// The YBR_FULL → RGB matrix of DICOM PS3.3 C.7.6.3.1.2 in float32, as pydicom computes it: a matrix product
    /// (each output a fused multiply-add chain over Y, Cb − 128, Cr − 128, as the BLAS kernel under NumPy's
    /// matmul runs it), then floor(x + 0.5), clipped to 0…255.
    static let matrix: [[Float]] = [
        [1, 1, 1], [0, Float(-0.114 * 1.772 / 0.587), 1.772], [1.402, Float(-0.299 * 1.402 / 0.587), 0],
    ]

    static func toRGB(_ y: UInt8, _ cb: UInt8, _ cr: UInt8) -> (UInt8, UInt8, UInt8) {
        let input: [Float] = [Float(y), Float(cb) - 128, Float(cr) - 128]
        func channel(_ c: Int) -> UInt8 {
            var sum: Float = 0
            for k in 0..<3 { sum = sum.addingProduct(input[k], matrix[k][c]) }
            return UInt8(min(max((sum + 0.5).rounded(.down), 0), 255))
        }
        return (channel(0), channel(1), channel(2))
    }
}
