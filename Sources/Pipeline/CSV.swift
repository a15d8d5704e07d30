// RFC 4180 CSV: header row, fields quoted only when needed, CRLF-free (LF) line ends, UTF-8.
import Foundation

public enum CSV {
    /// A field, quoted when it holds a comma, quote, CR or LF.
    public static func escape(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    public static func render(header: [String], rows: [[String]]) -> String {
        var out = header.map(escape).joined(separator: ",") + "\n"
        for row in rows {
            precondition(row.count == header.count, "CSV row has \(row.count) fields, header \(header.count)")
            out += row.map(escape).joined(separator: ",") + "\n"
        }
        return out
    }

    /// Writes atomically (temporary file, then rename).
    public static func write(_ url: URL, header: [String], rows: [[String]]) throws {
        try AtomicFile.write(Data(render(header: header, rows: rows).utf8), to: url)
    }

    /// Parses CSV text into records (the header is the first record).
    public static func parse(_ text: String) throws -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var inQuotes = false
        var fieldStarted = false
        var iterator = Array(text.unicodeScalars).makeIterator()
        var pending: Unicode.Scalar? = nil
        func next() -> Unicode.Scalar? {
            if let p = pending { pending = nil; return p }
            return iterator.next()
        }
        while let c = next() {
            if inQuotes {
                if c == "\"" {
                    if let n = next() {
                        if n == "\"" { field.unicodeScalars.append("\"") } else { inQuotes = false; pending = n }
                    } else { inQuotes = false }
                } else { field.unicodeScalars.append(c) }
                continue
            }
            switch c {
            case "\"" where !fieldStarted && field.isEmpty: inQuotes = true; fieldStarted = true
            case ",": record.append(field); field = ""; fieldStarted = false
            case "\r": continue
            case "\n":
                record.append(field); records.append(record)
                record = []; field = ""; fieldStarted = false
            default: field.unicodeScalars.append(c); fieldStarted = true
            }
        }
        if inQuotes { throw CSVError("unterminated quoted field") }
        if fieldStarted || !field.isEmpty || !record.isEmpty { record.append(field); records.append(record) }
        return records
    }

    /// Reads a CSV file into rows keyed by header name.
    public static func read(_ url: URL) throws -> (header: [String], rows: [[String: String]]) {
        let text = try String(contentsOf: url, encoding: .utf8)
        let records = try parse(text)
        guard let header = records.first else { throw CSVError("\(url.path): empty file, no header") }
        let rows = try records.dropFirst().enumerated().map { index, record -> [String: String] in
            guard record.count == header.count else {
                throw CSVError("\(url.path): record \(index + 2) has \(record.count) fields, the header \(header.count)")
            }
            return Dictionary(uniqueKeysWithValues: zip(header, record))
        }
        return (header, rows)
    }
}

public struct CSVError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
