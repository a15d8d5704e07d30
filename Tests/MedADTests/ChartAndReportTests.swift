// The charts' one drawing path (SVG, rasterised by librsvg) and the report template's escaping.
import Foundation
import XCTest

@testable import MedAD

final class ChartAndReportTests: XCTestCase {
    /// A filled rectangle lands on exactly its pixels, colour for colour; text is drawn with a real font (dark
    /// pixels inside its line, none outside); everything else stays white.
    func testRasterisedDrawingHasItsShapesAndText() throws {
        var drawing = SVGDrawing(width: 40, height: 30)
        drawing.rect(x: 10, y: 5, width: 8, height: 4, fill: "#ff7f0e")
        drawing.text("Ag", x: 2, y: 25, size: 10)
        let image = try SVGRaster.rgb(drawing.svg, width: 40, height: 30)
        XCTAssertEqual(image.width, 40)
        XCTAssertEqual(image.height, 30)
        func pixel(_ x: Int, _ y: Int) -> [UInt8] { Array(image.rgb[(y * 40 + x) * 3..<(y * 40 + x) * 3 + 3]) }
        for y in 5..<9 { for x in 10..<18 { XCTAssertEqual(pixel(x, y), [255, 127, 14], "(\(x), \(y))") } }
        for (x, y) in [(9, 5), (18, 5), (10, 4), (10, 9), (30, 2), (39, 29)] {
            XCTAssertEqual(pixel(x, y), [255, 255, 255], "(\(x), \(y))")
        }
        // "Ag" at 10 px: cap height about 7 px above the baseline at y 25, the g's descender below it.
        let inked = (15..<29).flatMap { y in (0..<20).map { pixel($0, y) } }.filter { $0[0] < 128 }
        XCTAssertGreaterThan(inked.count, 10, "the glyphs drew dark pixels")
        XCTAssertTrue((0..<40).allSatisfy { pixel($0, 12) == [255, 255, 255] }, "nothing between the box and the text")
        // Scale 2: twice the pixels, the box at twice the place.
        let double = try SVGRaster.rgb(drawing.svg, width: 40, height: 30, scale: 2)
        XCTAssertEqual(double.width * double.height, 80 * 60)
        XCTAssertEqual(Array(double.rgb[(12 * 80 + 22) * 3..<(12 * 80 + 22) * 3 + 3]), [255, 127, 14])
    }

    /// Names with XML's special characters stay text: the SVG parses (librsvg renders it) and shows no markup.
    func testSpecialCharactersInNamesAreEscaped() throws {
        var drawing = SVGDrawing(width: 100, height: 20)
        drawing.text("a\"b<c>&'d", x: 1, y: 15)
        XCTAssertTrue(drawing.svg.contains(">a&quot;b&lt;c&gt;&amp;&#39;d</text>"), drawing.svg)
        XCTAssertNoThrow(try SVGRaster.rgb(drawing.svg, width: 100, height: 20))
        XCTAssertThrowsError(try SVGRaster.rgb("<svg><text>a<b</text></svg>", width: 10, height: 10), "malformed XML is an error")
        XCTAssertEqual(SVGDrawing.number(1.0), "1")
        XCTAssertEqual(SVGDrawing.number(0.126), "0.13")
        XCTAssertEqual(SVGDrawing.number(-0.001), "0")
    }

    /// Every interpolated value of the template is escaped, in text and in attributes; the best cells are marked;
    /// an empty table has a note and no table element.
    func testReportEscapesValuesAndMarksBestCells() throws {
        let hostile = "x\" onerror=\"alert(1)<script>"
        let html = HTMLReport.html(
            title: "run <1>",
            tables: [
                HTMLReport.Table(
                    heading: "T & U", note: "n", header: ["score", "auroc"], rows: [["a", "0.5"], [hostile, "0.9"]], best: [[1, 1]]),
                HTMLReport.Table(heading: "Empty", note: "nothing here", header: ["a"], rows: []),
            ],
            sections: [
                HTMLReport.Section(
                    title: "m", charts: [SVGDrawing(width: 10, height: 10)],
                    strips: [HTMLReport.Strip(png: Data([1, 2, 3]), caption: hostile)])
            ])
        XCTAssertFalse(html.contains(hostile))
        XCTAssertFalse(html.contains("<script>"))
        XCTAssertTrue(html.contains("<title>run &lt;1&gt;</title>"))
        XCTAssertTrue(html.contains("<h2>T &amp; U</h2>"))
        XCTAssertTrue(html.contains("<td class=\"best\">0.9</td>"))
        XCTAssertTrue(html.contains("<td>0.5</td>"))
        XCTAssertTrue(html.contains("alt=\"x&quot; onerror=&quot;alert(1)&lt;script&gt;\""))
        XCTAssertTrue(html.contains("src=\"data:image/png;base64,AQID\""))
        XCTAssertEqual(html.components(separatedBy: "<table>").count - 1, 1, "the empty table is left out")
        XCTAssertTrue(html.contains("nothing here"))
        XCTAssertTrue(html.contains("<figure class=\"chart\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\""))
    }
}
