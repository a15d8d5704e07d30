// report.html: one self-contained page (images inlined as data URIs), readable offline and without a server.
// Tables first (the comparison of every method × score, then the costs), then one section per method with its
// ROC curves, score histograms and anomaly-map strips.
import Foundation

public enum HTMLReport {
    public struct Section {
        public let title: String
        public let plots: [URL]
        public let maps: [URL]
        public init(title: String, plots: [URL], maps: [URL]) { (self.title, self.plots, self.maps) = (title, plots, maps) }
    }

    public static func html(title: String, tables: [(heading: String, note: String, rows: [[String]])], sections: [Section]) -> String {
        var page = """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>\(escape(title))</title>
            <style>body{font-family:sans-serif;margin:2em} table{border-collapse:collapse;margin-bottom:1em}
            td,th{border:1px solid #ccc;padding:4px 8px;text-align:right} th{background:#eee} td:first-child{text-align:left}
            img{margin:4px}</style></head><body>
            <h1>\(escape(title))</h1>

            """
        for table in tables {
            page += "<h2>\(escape(table.heading))</h2>\n<p>\(escape(table.note))</p>\n<table>\n"
            for (i, row) in table.rows.enumerated() {
                let cell = i == 0 ? "th" : "td"
                page += "<tr>" + row.map { "<\(cell)>\(escape($0))</\(cell)>" }.joined() + "</tr>\n"
            }
            page += "</table>\n"
        }
        for section in sections {
            page += "<h2>\(escape(section.title))</h2>\n" + section.plots.map { image($0) }.joined(separator: "\n") + "\n"
            if !section.maps.isEmpty {
                page +=
                    "<h3>Anomaly maps</h3>\n<p>Each strip: input | mean reconstruction | the score's per-pixel map | its saliency, |∂score/∂input| (maps min–max scaled; dsu and meta_rec have no saliency).</p>\n"
                for url in section.maps {
                    page += "<div>\(escape(url.deletingPathExtension().lastPathComponent)) \(image(url, height: 128))</div>\n"
                }
            }
        }
        return page + "</body></html>\n"
    }

    /// PNG files of a folder, sorted by name; none when it does not exist.
    public static func pngFiles(in folder: URL) -> [URL] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".png") }.sorted()
            .map { folder.appendingPathComponent($0) }
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func image(_ url: URL, height: Int? = nil) -> String {
        guard let data = try? Data(contentsOf: url) else { return "" }
        return "<img alt=\"\(escape(url.lastPathComponent))\" src=\"data:image/png;base64,\(data.base64EncodedString())\""
            + (height.map { " height=\"\($0)\"" } ?? "") + ">"
    }
}
