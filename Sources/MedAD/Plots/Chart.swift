// A small rasteriser for the aggregate stage's charts: an RGB canvas with lines, filled boxes (alpha-blended)
// and text in a built-in 5×7 bitmap font (upper case, digits, a little punctuation), written as PNG through
// libpng. ROC curves of every score on one chart, and normal-versus-abnormal histograms of min–max scaled scores.
import Foundation
import MedImage

public struct RGB: Equatable, Sendable {
    public var r, g, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { (self.r, self.g, self.b) = (r, g, b) }
    public static let white = RGB(255, 255, 255), black = RGB(0, 0, 0), grey = RGB(160, 160, 160), light = RGB(225, 225, 225)
    /// Distinguishable line colours (Tableau 10).
    static let palette = [
        RGB(31, 119, 180), RGB(255, 127, 14), RGB(44, 160, 44), RGB(214, 39, 40), RGB(148, 103, 189),
        RGB(140, 86, 75), RGB(227, 119, 194), RGB(127, 127, 127), RGB(188, 189, 34), RGB(23, 190, 207),
    ]
}

public struct Canvas {
    public let width: Int, height: Int
    public private(set) var pixels: [UInt8]

    public init(width: Int, height: Int, background: RGB = .white) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        fill(x: 0, y: 0, width: width, height: height, background)
    }

    /// Blends `color` into pixel (x, y) with opacity `alpha`; outside the canvas does nothing.
    public mutating func plot(_ x: Int, _ y: Int, _ color: RGB, alpha: Double = 1) {
        guard x >= 0, x < width, y >= 0, y < height else { return }
        let i = (y * width + x) * 3
        for (offset, value) in [color.r, color.g, color.b].enumerated() {
            pixels[i + offset] = UInt8((Double(pixels[i + offset]) * (1 - alpha) + Double(value) * alpha).rounded())
        }
    }

    public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, _ color: RGB, alpha: Double = 1) {
        for yy in max(0, y)..<min(height, y + h) { for xx in max(0, x)..<min(width, x + w) { plot(xx, yy, color, alpha: alpha) } }
    }

    /// A line `thickness` pixels wide (a square brush stepped along the longer axis); every `dash`-th stretch
    /// of `dash` steps skipped when dashed.
    public mutating func line(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, _ color: RGB, thickness: Int = 1, dash: Int = 0) {
        let steps = max(Int(max(abs(x1 - x0), abs(y1 - y0)).rounded(.up)), 1)
        for s in 0...steps where dash == 0 || (s / dash) % 2 == 0 {
            let t = Double(s) / Double(steps)
            let x = Int((x0 + (x1 - x0) * t).rounded()), y = Int((y0 + (y1 - y0) * t).rounded())
            fill(x: x - thickness / 2, y: y - thickness / 2, width: thickness, height: thickness, color)
        }
    }

    /// Text with its top-left corner at (x, y), each font pixel `scale` × `scale`; lower case is drawn upper case.
    public mutating func text(_ string: String, x: Int, y: Int, _ color: RGB = .black, scale: Int = 1) {
        for (i, character) in string.uppercased().enumerated() {
            let rows = Font.glyphs[character] ?? Font.glyphs["?"]!
            for (row, bits) in rows.enumerated() {
                for column in 0..<5 where bits & (0x10 >> column) != 0 {
                    fill(x: x + (i * 6 + column) * scale, y: y + row * scale, width: scale, height: scale, color)
                }
            }
        }
    }

    public static func textWidth(_ string: String, scale: Int = 1) -> Int { max(string.count * 6 - 1, 0) * scale }

    public func writePNG(to path: String) throws { try PNGCodec.writeRGB(path: path, rgb: pixels, width: width, height: height) }
}

enum Font {
    /// 5×7 glyphs, one byte per row, bit 4 the leftmost column.
    static let glyphs: [Character: [UInt8]] = [
        "0": [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E], "1": [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        "2": [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F], "3": [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        "4": [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02], "5": [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        "6": [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E], "7": [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        "8": [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E], "9": [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        "A": [0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11], "B": [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        "C": [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E], "D": [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        "E": [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F], "F": [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        "G": [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F], "H": [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        "I": [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E], "J": [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        "K": [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11], "L": [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        "M": [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11], "N": [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        "O": [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E], "P": [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        "Q": [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D], "R": [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        "S": [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E], "T": [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        "U": [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E], "V": [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        "W": [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A], "X": [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        "Y": [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04], "Z": [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        " ": [0, 0, 0, 0, 0, 0, 0], ".": [0, 0, 0, 0, 0, 0x0C, 0x0C], ",": [0, 0, 0, 0, 0x0C, 0x04, 0x08],
        "-": [0, 0, 0, 0x1F, 0, 0, 0], "_": [0, 0, 0, 0, 0, 0, 0x1F], "(": [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
        ")": [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08], "%": [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03],
        ":": [0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0], "/": [0, 0x01, 0x02, 0x04, 0x08, 0x10, 0], "=": [0, 0, 0x1F, 0, 0x1F, 0, 0],
        "+": [0, 0x04, 0x04, 0x1F, 0x04, 0x04, 0], "[": [0x0E, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0E],
        "]": [0x0E, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0E], "?": [0x0E, 0x11, 0x01, 0x02, 0x04, 0, 0x04],
    ]
}

/// A plot area inside a canvas with axes from 0 to 1 on both sides (what both charts need).
struct UnitAxes {
    let left: Int, top: Int, width: Int, height: Int

    func x(_ value: Double) -> Double { Double(left) + value * Double(width) }
    func y(_ value: Double) -> Double { Double(top + height) - value * Double(height) }

    /// `yTop` is the value the top of the y axis stands for (its tick labels; the plotted values stay 0…1).
    func draw(on canvas: inout Canvas, xLabel: String, yLabel: String, title: String, yTop: Double = 1) {
        for tick in stride(from: 0.0, through: 1.0001, by: 0.2) {
            canvas.line(x(tick), y(0), x(tick), y(1), .light)
            canvas.line(x(0), y(tick), x(1), y(tick), .light)
            let label = String(format: "%.1f", tick), yLabelText = String(format: yTop == 1 ? "%.1f" : "%.2f", tick * yTop)
            canvas.text(label, x: Int(x(tick)) - Canvas.textWidth(label) / 2, y: top + height + 6)
            canvas.text(yLabelText, x: left - Canvas.textWidth(yLabelText) - 6, y: Int(y(tick)) - 3)
        }
        canvas.line(x(0), y(0), x(1), y(0), .black)
        canvas.line(x(0), y(0), x(0), y(1), .black)
        canvas.text(xLabel, x: left + width / 2 - Canvas.textWidth(xLabel) / 2, y: top + height + 20)
        canvas.text(yLabel, x: 4, y: top - 14)
        canvas.text(title, x: left + width / 2 - Canvas.textWidth(title, scale: 2) / 2, y: 8, scale: 2)
    }
}

public enum Charts {
    /// Every score's ROC curve on one chart, with a legend of names and AUROCs.
    public static func roc(_ curves: [(name: String, auroc: Double, points: [(fpr: Double, tpr: Double)])]) -> Canvas {
        var canvas = Canvas(width: 720, height: 480)
        let axes = UnitAxes(left: 60, top: 50, width: 380, height: 380)
        axes.draw(on: &canvas, xLabel: "false positive rate", yLabel: "true positive rate", title: "ROC")
        canvas.line(axes.x(0), axes.y(0), axes.x(1), axes.y(1), .grey, dash: 4)
        for (i, curve) in curves.enumerated() {
            let colour = RGB.palette[i % RGB.palette.count]
            for (a, b) in zip(curve.points, curve.points.dropFirst()) {
                canvas.line(axes.x(a.fpr), axes.y(a.tpr), axes.x(b.fpr), axes.y(b.tpr), colour, thickness: 2)
            }
            let y = 60 + i * 16
            canvas.fill(x: 470, y: y, width: 14, height: 7, colour)
            canvas.text("\(curve.name) \(String(format: "%.3f", curve.auroc))", x: 490, y: y)
        }
        return canvas
    }

    /// Each series against x (its values min–max scaled to 0…1, so rising and falling read alike for every score),
    /// with a legend; x runs from 0 to its largest value.
    public static func lines(title: String, xLabel: String, x: [Double], series: [(name: String, values: [Double])]) -> Canvas {
        var canvas = Canvas(width: 720, height: 480)
        let axes = UnitAxes(left: 60, top: 50, width: 380, height: 380)
        axes.draw(on: &canvas, xLabel: "\(xLabel) (0 to \(String(format: "%g", x.max() ?? 0)))", yLabel: "mean score, scaled", title: title)
        let span = max(x.max() ?? 1, 1e-12)
        for (i, line) in series.enumerated() {
            let colour = RGB.palette[i % RGB.palette.count]
            let (low, high) = (line.values.min() ?? 0, line.values.max() ?? 1)
            let scaled = line.values.map { high > low ? ($0 - low) / (high - low) : 0.5 }
            for k in 1..<min(x.count, scaled.count) {
                canvas.line(axes.x(x[k - 1] / span), axes.y(scaled[k - 1]), axes.x(x[k] / span), axes.y(scaled[k]), colour, thickness: 2)
            }
            let y = 60 + i * 16
            canvas.fill(x: 470, y: y, width: 14, height: 7, colour)
            canvas.text(line.name, x: 490, y: y)
        }
        return canvas
    }

    /// Histograms of min–max scaled scores, normal against abnormal, each class as a fraction of its images.
    public static func histogram(name: String, scores: [Double], labels: [Int], bins: Int = 25) -> Canvas {
        var canvas = Canvas(width: 520, height: 360)
        let finite = scores.filter(\.isFinite)  // callers refuse non-finite scores; never trap on one here
        let low = finite.min() ?? 0, high = finite.max() ?? 1
        let scaled = scores.map { high > low ? ($0 - low) / (high - low) : 0 }
        var counts = [[Double]](repeating: [Double](repeating: 0, count: bins), count: 2)
        for (value, label) in zip(scaled, labels) where value.isFinite {
            counts[label == 1 ? 1 : 0][min(max(Int(value * Double(bins)), 0), bins - 1)] += 1
        }
        let fractions = counts.map { class_ in class_.map { $0 / max(class_.reduce(0, +), 1) } }
        let peak = max(fractions.flatMap { $0 }.max() ?? 1, 1e-9)
        let axes = UnitAxes(left: 60, top: 50, width: 400, height: 250)
        axes.draw(on: &canvas, xLabel: "score (min-max scaled)", yLabel: "fraction of the class's images", title: name, yTop: peak)
        for (c, colour) in [(0, RGB.palette[0]), (1, RGB.palette[3])] {
            for b in 0..<bins where fractions[c][b] > 0 {
                let x0 = Int(axes.x(Double(b) / Double(bins))), x1 = Int(axes.x(Double(b + 1) / Double(bins)))
                let top = Int(axes.y(fractions[c][b] / peak))
                canvas.fill(x: x0, y: top, width: x1 - x0, height: Int(axes.y(0)) - top, colour, alpha: 0.45)
            }
        }
        canvas.fill(x: 330, y: 56, width: 14, height: 7, RGB.palette[0], alpha: 0.45)
        canvas.text("normal", x: 350, y: 56)
        canvas.fill(x: 330, y: 72, width: 14, height: 7, RGB.palette[3], alpha: 0.45)
        canvas.text("abnormal", x: 350, y: 72)
        return canvas
    }
}
