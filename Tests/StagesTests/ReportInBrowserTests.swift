// report.html opened in a real browser (Debian's headless Chromium, installed by scripts/test.sh): the page of a
// small run with a method, its map strips over lesion outlines and a shift experiment loads without a single error
// and every chart and strip is drawn (an image decoded to a width, an inline SVG laid out to a box).
import Foundation
import Pipeline
import XCTest

@testable import Stages

final class ReportInBrowserTests: XCTestCase, MedadCLI {
    /// headless Chromium: the headless shell Debian packages, or a full Chromium.
    static var browser: URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"
        for folder in path.split(separator: ":") {
            for name in ["chromium-headless-shell", "chromium", "chromium-browser"] {
                let url = URL(fileURLWithPath: String(folder)).appendingPathComponent(name)
                if FileManager.default.isExecutableFile(atPath: url.path) { return url }
            }
        }
        return nil
    }

    /// Error listener first (capture phase, so failed image loads count too), then after `load` the findings
    /// written into the DOM that --dump-dom prints.
    static let probeHead = """
        <script>window.__errors=[];window.addEventListener('error',function(e){__errors.push(e.message||('failed to load: '+(e.target&&e.target.tagName)))},true);</script>
        """
    static let probeTail = """
        <script>window.addEventListener('load',function(){
        document.body.setAttribute('data-errors',String(__errors.length)+':'+__errors.join('|'));
        document.body.setAttribute('data-images',Array.from(document.images).map(function(i){return i.complete?i.naturalWidth:0}).join(','));
        document.body.setAttribute('data-charts',Array.from(document.querySelectorAll('figure.chart svg')).map(function(s){var b=s.getBoundingClientRect();return Math.round(b.width)+'x'+Math.round(b.height)}).join(','));
        document.body.setAttribute('data-chart-texts',String(document.querySelectorAll('figure.chart svg text').length));
        });</script>
        """

    func testReportLoadsInChromiumWithEveryChartAndStrip() throws {
        guard let browser = Self.browser else {
            return XCTFail("no headless Chromium on PATH: scripts/install-deps.sh chromium-headless-shell installs it")
        }
        let (folder, path) = try TinyPipeline.workspace(self, "browser")
        let yaml =
            TinyPipeline.yaml(train: "method: deep_ensemble, learners: 2, epochs: 2", score: "maps: 1")
            .replacingOccurrences(
                of: "score: {kind: score, after: [train, split, normalize]",
                with: "score: {kind: score, after: [train, split, normalize, ingest, synthesize]"
            )
            .replacingOccurrences(
                of: "aggregate: {kind: aggregate, after: [score]", with: "aggregate: {kind: aggregate, after: [score, shift]")
            + "\n  shift: {kind: shift, after: [train, split, normalize], params: {angles: [0, 30], strengths: [0, 3], resamples: 20}}\n"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let run = try medad("run", path)
        XCTAssertEqual(run.code, 0, run.output)

        let report = try String(contentsOf: folder.appendingPathComponent("run/aggregate/report.html"), encoding: .utf8)
        // Charts: one ROC and a histogram per method-level score (rec, ens_rec, ens_std, dsu), two shift charts.
        XCTAssertEqual(report.components(separatedBy: "<figure class=\"chart\"><svg").count - 1, 1 + 4 + 2)
        XCTAssertFalse(report.contains("<img alt=\"roc"), "charts are inline SVG, not PNG")
        let strips = try CSV.records(folder.appendingPathComponent("run/score/maps.csv"), as: MapStripRow.self)
        XCTAssertEqual(strips.count, 4 * 2, "one strip per end of each of the four mapped scores")
        for strip in strips {
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("run/score/maps/\(strip.file)").path))
            let caption = strip.caption.replacingOccurrences(of: "'", with: "&#39;")
            XCTAssertTrue(report.contains("<figcaption>\(caption)</figcaption>"), caption)
        }
        XCTAssertTrue(report.contains("Shift: does the score rise with the shift?"))

        let probe = folder.appendingPathComponent("probe.html")
        try report.replacingOccurrences(of: "<head>", with: "<head>\n" + Self.probeHead)
            .replacingOccurrences(of: "</body>", with: Self.probeTail + "\n</body>")
            .write(to: probe, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = browser
        process.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000", "--window-size=1400,1000",
            "--user-data-dir=\(folder.appendingPathComponent("profile").path)", "--dump-dom", probe.absoluteString,
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let dom = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)

        func attribute(_ name: String) -> String? {
            guard let start = dom.range(of: "\(name)=\"") else { return nil }
            return String(dom[start.upperBound...].prefix { $0 != "\"" })
        }
        XCTAssertEqual(attribute("data-errors"), "0:", "errors while loading the page")
        let widths = try XCTUnwrap(attribute("data-images"), "the probe did not run").split(separator: ",").map { Int($0) ?? 0 }
        XCTAssertEqual(widths.count, strips.count)
        XCTAssertTrue(widths.allSatisfy { $0 > 0 }, "an image did not decode: \(widths)")
        let charts = try XCTUnwrap(attribute("data-charts")).split(separator: ",")
        XCTAssertEqual(charts.count, 7)
        for box in charts {
            let sides = box.split(separator: "x").compactMap { Int($0) }
            XCTAssertTrue(sides.count == 2 && sides[0] >= 300 && sides[1] >= 200, "chart laid out as \(box)")
        }
        XCTAssertGreaterThan(Int(attribute("data-chart-texts") ?? "") ?? 0, 7 * 10, "axis labels and legends are text")
    }
}
