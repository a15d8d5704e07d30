// An SVG drawing in user units (one unit = one CSS pixel): lines, polylines, rectangles and text in a real font.
// The one drawing path of medad's charts: report.html inlines the SVG, and the PNGs under plots/ are the same SVG
// rendered by librsvg (SVGRaster). Every text and attribute value is XML-escaped.
import Foundation

public struct SVGDrawing: Sendable {
    public let width: Int, height: Int
    private var elements: [String] = []

    public init(width: Int, height: Int) { (self.width, self.height) = (width, height) }

    /// DejaVu Sans is what Debian's fontconfig resolves (fonts-dejavu-core); browsers fall back to their sans-serif.
    static let fontFamily = "DejaVu Sans, Helvetica, Arial, sans-serif"

    /// Distinguishable line colours (Tableau 10).
    public static let palette = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    ]

    public mutating func line(
        _ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, stroke: String, width: Double = 1, dashed: Bool = false
    ) {
        elements.append(
            "<line x1=\"\(Self.number(x0))\" y1=\"\(Self.number(y0))\" x2=\"\(Self.number(x1))\" y2=\"\(Self.number(y1))\""
                + " stroke=\"\(Self.escape(stroke))\" stroke-width=\"\(Self.number(width))\"" + (dashed ? " stroke-dasharray=\"4 4\"" : "")
                + "/>")
    }

    /// A connected line through `points` (round joins, so steep ROC steps stay one stroke).
    public mutating func polyline(_ points: [(x: Double, y: Double)], stroke: String, width: Double = 2) {
        guard points.count > 1 else { return }
        let list = points.map { "\(Self.number($0.x)),\(Self.number($0.y))" }.joined(separator: " ")
        elements.append(
            "<polyline points=\"\(list)\" fill=\"none\" stroke=\"\(Self.escape(stroke))\" stroke-width=\"\(Self.number(width))\""
                + " stroke-linejoin=\"round\"/>")
    }

    public mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String, opacity: Double = 1) {
        elements.append(
            "<rect x=\"\(Self.number(x))\" y=\"\(Self.number(y))\" width=\"\(Self.number(width))\" height=\"\(Self.number(height))\""
                + " fill=\"\(Self.escape(fill))\"" + (opacity < 1 ? " fill-opacity=\"\(Self.number(opacity))\"" : "") + "/>")
    }

    public enum Anchor: String, Sendable { case start, middle, end }

    /// Text whose baseline starts (or is centred, or ends) at (x, y); `rotated` turns it a quarter to read upwards.
    public mutating func text(
        _ string: String, x: Double, y: Double, size: Double = 12, anchor: Anchor = .start, bold: Bool = false, rotated: Bool = false
    ) {
        let (x, y) = (Self.number(x), Self.number(y))
        elements.append(
            "<text x=\"\(x)\" y=\"\(y)\" font-size=\"\(Self.number(size))\" text-anchor=\"\(anchor.rawValue)\""
                + (bold ? " font-weight=\"bold\"" : "") + (rotated ? " transform=\"rotate(-90 \(x) \(y))\"" : "") + ">"
                + Self.escape(string) + "</text>")
    }

    /// The document: an `svg` element with its own size, a white background and the elements in drawing order.
    public var svg: String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\""
            + " font-family=\"\(Self.fontFamily)\">\n<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
            + elements.joined(separator: "\n") + "\n</svg>\n"
    }

    /// Two decimals at most, no trailing zeros: short files, sub-pixel placement kept.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        var text = String(format: "%.2f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text == "-0" ? "0" : text
    }

    /// XML's five special characters as entities (text and attribute values alike).
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
