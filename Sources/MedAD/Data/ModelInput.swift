// The image a Med-AD model sees (DESIGN.md section 3): the normalized grey image resized to S×S (Pillow's
// bilinear resize of the 8- or 16-bit image, as the reference's transforms.Resize), scaled to [0, 1] and
// mapped to [−1, 1] by (x − 0.5)/0.5.
import MedImage

public enum ModelInput {
    /// S² values in [−1, 1], row-major.
    public static func pixels(_ image: PixelImage, size: Int) throws -> [Float] {
        let grey = try image.grayscale()
        let resized = try Geometry.square(grey.samples, width: grey.width, height: grey.height, size: size, aspect: .stretch)
        switch resized {
        case .uint8(let p): return p.map { (Float($0) / 255 - 0.5) / 0.5 }
        case .uint16(let p): return p.map { (Float($0) / 65535 - 0.5) / 0.5 }
        default: throw ImageError("model input: unexpected sample type (8- or 16-bit grey expected)")
        }
    }
}
