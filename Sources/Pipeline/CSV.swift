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
    public static func parse(_ text: String) throws -> [[String]] { try parseWithLines(text).map(\.fields) }

    /// Records with the line each starts on (1-based; a quoted field may span lines).
    static func parseWithLines(_ text: String) throws -> [(fields: [String], line: Int)] {
        var records: [(fields: [String], line: Int)] = []
        var line = 1, recordLine = 1, quoteLine = 1
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
            if c == "\n" { line += 1 }
            if inQuotes {
                if c == "\"" {
                    if let n = next() {
                        if n == "\"" { field.unicodeScalars.append("\"") } else { inQuotes = false; pending = n }
                    } else {
                        inQuotes = false
                    }
                } else {
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"" where !fieldStarted && field.isEmpty: inQuotes = true; fieldStarted = true; quoteLine = line
            case ",": record.append(field); field = ""; fieldStarted = false
            case "\r": continue
            case "\n":
                record.append(field); records.append((record, recordLine))
                record = []; field = ""; fieldStarted = false; recordLine = line
            default: field.unicodeScalars.append(c); fieldStarted = true
            }
        }
        if inQuotes { throw CSVError("line \(quoteLine): a quoted field is never closed (unterminated quote)") }
        if fieldStarted || !field.isEmpty || !record.isEmpty { record.append(field); records.append((record, recordLine)) }
        return records
    }

    /// Reads a CSV file into rows keyed by header name. Every column of `requiring` must be in the header (an
    /// upstream stage's table edited by hand, or written by another medad version, fails with the column's name);
    /// errors name the file and line.
    public static func read(_ url: URL, requiring: [String] = []) throws -> (header: [String], rows: [[String: String]]) {
        let table = try self.table(url, requiring: requiring)
        return (table.header, table.rows.map(\.values))
    }

    /// One row of a table read from a file, with where it came from, so that a value that does not parse is an
    /// error naming file, line and column.
    public struct Row: Sendable {
        public let values: [String: String]
        public let file: String
        public let line: Int

        public subscript(_ column: String) -> String? { values[column] }

        /// The column's number; nil when the field is empty (absent), an error naming file, line and column when it
        /// is not a finite number.
        public func number(_ column: String) throws -> Double? {
            guard let text = values[column], !text.isEmpty else { return nil }
            guard let value = Double(text), value.isFinite else { throw problem(column, text, "is not a finite number") }
            return value
        }

        /// The column's integer; nil when empty, an error naming file, line and column when it is not an integer.
        public func integer(_ column: String) throws -> Int? {
            guard let text = values[column], !text.isEmpty else { return nil }
            guard let value = Int(text) else { throw problem(column, text, "is not an integer") }
            return value
        }

        func problem(_ column: String, _ text: String, _ what: String) -> CSVError {
            CSVError("\(file): line \(line): column '\(column)': '\(text.prefix(40))' \(what)")
        }
    }

    /// As read, each row keeping its file and line.
    public static func table(_ url: URL, requiring: [String] = []) throws -> (header: [String], rows: [Row]) {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw CSVError("\(url.path): cannot read (\(FileProblem.describe(error)))")
        }
        let records: [(fields: [String], line: Int)]
        do { records = try parseWithLines(text) } catch let error as CSVError { throw CSVError("\(url.path): \(error.description)") }
        guard let header = records.first?.fields else { throw CSVError("\(url.path): empty file, no header") }
        if let missing = requiring.first(where: { !header.contains($0) }) {
            throw CSVError("\(url.path): line 1: missing column '\(missing)' (the header has \(header.joined(separator: ",")))")
        }
        if let duplicate = header.first(where: { name in header.filter { $0 == name }.count > 1 }) {
            throw CSVError("\(url.path): line 1: column '\(duplicate)' appears twice")
        }
        let rows = try records.dropFirst().map { record -> Row in
            guard record.fields.count == header.count else {
                throw CSVError("\(url.path): line \(record.line): \(record.fields.count) fields, the header has \(header.count)")
            }
            return Row(values: Dictionary(uniqueKeysWithValues: zip(header, record.fields)), file: url.path, line: record.line)
        }
        return (header, rows)
    }
}

public struct CSVError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
