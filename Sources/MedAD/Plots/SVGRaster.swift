// SVG to pixels through librsvg and cairo (Debian's librsvg2), so that the PNGs under plots/ are the very charts
// report.html shows, fonts and all; written as RGB PNG through libpng like every other PNG of medad.
import CRSVG
import Foundation
import MedImage

public enum SVGRaster {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The drawing as width·scale × height·scale RGB samples (row-major, interleaved), on white.
    public static func rgb(_ svg: String, width: Int, height: Int, scale: Double = 1) throws -> (rgb: [UInt8], width: Int, height: Int) {
        var error: UnsafeMutablePointer<GError>?
        let bytes = Array(svg.utf8)
        guard let handle = bytes.withUnsafeBufferPointer({ rsvg_handle_new_from_data($0.baseAddress, $0.count, &error) }) else {
            defer { if error != nil { g_error_free(error) } }
            throw Failure(description: "librsvg could not read the chart: \(message(error))")
        }
        defer { g_object_unref(UnsafeMutableRawPointer(handle)) }
        let (w, h) = (Int((Double(width) * scale).rounded()), Int((Double(height) * scale).rounded()))
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(w), Int32(h)) else {
            throw Failure(description: "cairo could not make a \(w)×\(h) surface")
        }
        defer { cairo_surface_destroy(surface) }
        let cr = cairo_create(surface)
        defer { cairo_destroy(cr) }
        cairo_set_source_rgb(cr, 1, 1, 1)
        cairo_paint(cr)
        var viewport = RsvgRectangle(x: 0, y: 0, width: Double(w), height: Double(h))
        guard rsvg_handle_render_document(handle, cr, &viewport, &error) != 0 else {
            defer { if error != nil { g_error_free(error) } }
            throw Failure(description: "librsvg could not render the chart: \(message(error))")
        }
        cairo_surface_flush(surface)
        // RGB24: one 32-bit word per pixel, native-endian 0x00RRGGBB, rows `stride` bytes apart.
        let stride = Int(cairo_image_surface_get_stride(surface))
        guard let data = cairo_image_surface_get_data(surface) else { throw Failure(description: "cairo gave no pixels") }
        var rgb = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            let row = UnsafeRawPointer(data + y * stride).assumingMemoryBound(to: UInt32.self)
            for x in 0..<w {
                let pixel = row[x]
                rgb[(y * w + x) * 3] = UInt8((pixel >> 16) & 0xFF)
                rgb[(y * w + x) * 3 + 1] = UInt8((pixel >> 8) & 0xFF)
                rgb[(y * w + x) * 3 + 2] = UInt8(pixel & 0xFF)
            }
        }
        return (rgb, w, h)
    }

    private static func message(_ error: UnsafeMutablePointer<GError>?) -> String {
        error.flatMap { $0.pointee.message.map { String(cString: $0) } } ?? "no reason given"
    }
}

extension SVGDrawing {
    /// The drawing as a PNG at `scale` (1: one pixel per unit).
    public func writePNG(to path: String, scale: Double = 1) throws {
        let image = try SVGRaster.rgb(svg, width: width, height: height, scale: scale)
        try PNGCodec.writeRGB(path: path, rgb: image.rgb, width: image.width, height: image.height)
    }
}
