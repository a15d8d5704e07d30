// report.html: one self-contained page (charts inlined as SVG, map strips as PNG data URIs), readable offline and
// without a server, rendered from ReportTemplate with swift-mustache. Tables first (the comparison of every method
// × score, localisation, changes, paired tests, costs), then one section per method (and per shift experiment)
// with its charts and its captioned anomaly-map strips.
import Foundation
import Mustache

public enum HTMLReport {
    public struct Table {
        public let heading: String
        public let note: String
        public let header: [String]
        public let rows: [[String]]
        /// (row, column) cells to mark as the best of their column.
        public let best: Set<[Int]>
        public init(heading: String, note: String, header: [String], rows: [[String]], best: Set<[Int]> = []) {
            (self.heading, self.note, self.header, self.rows, self.best) = (heading, note, header, rows, best)
        }
    }

    /// One map strip: its PNG and what it shows.
    public struct Strip {
        public let png: Data
        public let caption: String
        public init(png: Data, caption: String) { (self.png, self.caption) = (png, caption) }
    }

    public struct Section {
        public let title: String
        public let note: String
        public let charts: [SVGDrawing]
        public let strips: [Strip]
        public init(title: String, note: String = "", charts: [SVGDrawing], strips: [Strip] = []) {
            (self.title, self.note, self.charts, self.strips) = (title, note, charts, strips)
        }
    }

    public static func html(title: String, tables: [Table], sections: [Section]) -> String {
        let context: [String: Any] = [
            "title": title,
            "tables": tables.map { table in
                [
                    "heading": table.heading, "note": table.note, "hasRows": !table.rows.isEmpty, "header": table.header,
                    "rows": table.rows.enumerated().map { r, row in
                        [
                            "cells": row.enumerated().map { c, text in
                                ["text": text, "best": table.best.contains([r, c])] as [String: Any]
                            }
                        ]
                    },
                ] as [String: Any]
            },
            "sections": sections.map { section in
                [
                    "title": section.title, "note": section.note, "charts": section.charts.map { ["svg": $0.svg] },
                    "hasStrips": !section.strips.isEmpty,
                    "strips": section.strips.map { ["png": $0.png.base64EncodedString(), "caption": $0.caption] },
                ] as [String: Any]
            },
        ]
        // The template is a constant of this file's module: a parse error is a programming error caught by the tests.
        let template = try! MustacheTemplate(string: Self.template)
        return template.render(context)
    }
}
