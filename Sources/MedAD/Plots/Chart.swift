// The aggregate and shift stages' charts as SVG drawings: ROC curves of every score on one chart, normal-versus-
// abnormal histograms of min–max scaled scores, and scaled mean scores against a shift's magnitude.
import Foundation

/// A plot area inside a drawing with axes from 0 to 1 on both sides (what every chart here needs).
struct UnitAxes {
    let left: Double, top: Double, width: Double, height: Double

    func x(_ value: Double) -> Double { left + value * width }
    func y(_ value: Double) -> Double { top + height - value * height }

    /// Grid, axes, tick labels, axis titles and the chart's title. `yTop` is the value the top of the y axis
    /// stands for (its tick labels; the plotted values stay 0…1).
    func draw(on drawing: inout SVGDrawing, xLabel: String, yLabel: String, title: String, yTop: Double = 1) {
        for tick in stride(from: 0.0, through: 1.0001, by: 0.2) {
            drawing.line(x(tick), y(0), x(tick), y(1), stroke: "#e1e1e1")
            drawing.line(x(0), y(tick), x(1), y(tick), stroke: "#e1e1e1")
            drawing.text(String(format: "%.1f", tick), x: x(tick), y: y(0) + 16, size: 11, anchor: .middle)
            drawing.text(String(format: yTop == 1 ? "%.1f" : "%.2f", tick * yTop), x: left - 6, y: y(tick) + 4, size: 11, anchor: .end)
        }
        drawing.line(x(0), y(0), x(1), y(0), stroke: "#000000")
        drawing.line(x(0), y(0), x(0), y(1), stroke: "#000000")
        drawing.text(xLabel, x: left + width / 2, y: y(0) + 36, size: 12, anchor: .middle)
        drawing.text(yLabel, x: left - 44, y: top + height / 2, size: 12, anchor: .middle, rotated: true)
        drawing.text(title, x: left + width / 2, y: top - 18, size: 16, anchor: .middle, bold: true)
    }
}

public enum Charts {
    /// A legend entry per name, top to bottom from (x, y): a colour swatch and the text.
    static func legend(_ entries: [(text: String, colour: String, opacity: Double)], x: Double, y: Double, on drawing: inout SVGDrawing) {
        for (i, entry) in entries.enumerated() {
            let top = y + Double(i) * 20
            drawing.rect(x: x, y: top, width: 16, height: 10, fill: entry.colour, opacity: entry.opacity)
            drawing.text(entry.text, x: x + 22, y: top + 9.5, size: 12)
        }
    }

    /// Every score's ROC curve on one chart, with a legend of names and AUROCs.
    public static func roc(
        title: String = "ROC", _ curves: [(name: String, auroc: Double, points: [(fpr: Double, tpr: Double)])]
    ) -> SVGDrawing {
        var drawing = SVGDrawing(width: 720, height: 480)
        let axes = UnitAxes(left: 70, top: 50, width: 380, height: 380)
        axes.draw(on: &drawing, xLabel: "false positive rate", yLabel: "true positive rate", title: title)
        drawing.line(axes.x(0), axes.y(0), axes.x(1), axes.y(1), stroke: "#a0a0a0", dashed: true)
        for (i, curve) in curves.enumerated() {
            drawing.polyline(curve.points.map { (axes.x($0.fpr), axes.y($0.tpr)) }, stroke: SVGDrawing.palette[i % 10])
        }
        legend(
            curves.enumerated().map { ("\($1.name)  \(String(format: "%.3f", $1.auroc))", SVGDrawing.palette[$0 % 10], 1) },
            x: 480, y: 56, on: &drawing)
        return drawing
    }

    /// Each series against x (its values min–max scaled to 0…1, so rising and falling read alike for every score),
    /// with a legend; x runs from 0 to its largest value.
    public static func lines(title: String, xLabel: String, x: [Double], series: [(name: String, values: [Double])]) -> SVGDrawing {
        var drawing = SVGDrawing(width: 720, height: 480)
        let axes = UnitAxes(left: 70, top: 50, width: 380, height: 380)
        let span = max(x.max() ?? 1, 1e-12)
        axes.draw(
            on: &drawing, xLabel: "\(xLabel) (0 to \(String(format: "%g", span)))", yLabel: "mean score, min–max scaled", title: title)
        for (i, line) in series.enumerated() {
            let (low, high) = (line.values.min() ?? 0, line.values.max() ?? 1)
            let scaled = line.values.map { high > low ? ($0 - low) / (high - low) : 0.5 }
            let points = zip(x, scaled).map { (axes.x($0 / span), axes.y($1)) }
            drawing.polyline(points, stroke: SVGDrawing.palette[i % 10])
        }
        legend(series.enumerated().map { ($1.name, SVGDrawing.palette[$0 % 10], 1) }, x: 480, y: 56, on: &drawing)
        return drawing
    }

    /// Histograms of min–max scaled scores, normal against abnormal, each class as a fraction of its images.
    public static func histogram(name: String, scores: [Double], labels: [Int], bins: Int = 25) -> SVGDrawing {
        var drawing = SVGDrawing(width: 540, height: 380)
        let finite = scores.filter(\.isFinite)  // callers refuse non-finite scores; never trap on one here
        let low = finite.min() ?? 0, high = finite.max() ?? 1
        let scaled = scores.map { high > low ? ($0 - low) / (high - low) : 0 }
        var counts = [[Double]](repeating: [Double](repeating: 0, count: bins), count: 2)
        for (value, label) in zip(scaled, labels) where value.isFinite {
            counts[label == 1 ? 1 : 0][min(max(Int(value * Double(bins)), 0), bins - 1)] += 1
        }
        let fractions = counts.map { class_ in class_.map { $0 / max(class_.reduce(0, +), 1) } }
        let peak = max(fractions.flatMap { $0 }.max() ?? 1, 1e-9)
        let axes = UnitAxes(left: 70, top: 50, width: 400, height: 260)
        axes.draw(on: &drawing, xLabel: "score, min–max scaled", yLabel: "fraction of the class's images", title: name, yTop: peak)
        let colours = [SVGDrawing.palette[0], SVGDrawing.palette[3]]
        for c in 0..<2 {
            for b in 0..<bins where fractions[c][b] > 0 {
                let x0 = axes.x(Double(b) / Double(bins)), x1 = axes.x(Double(b + 1) / Double(bins))
                let top = axes.y(fractions[c][b] / peak)
                drawing.rect(x: x0, y: top, width: x1 - x0, height: axes.y(0) - top, fill: colours[c], opacity: 0.45)
            }
        }
        legend([("normal", colours[0], 0.45), ("abnormal", colours[1], 0.45)], x: 370, y: 58, on: &drawing)
        return drawing
    }
}
