// A stage table's row type (DESIGN.md section 7): its one column list, its fields in that order, and its parse
// from a row read back, so the writer and every reader share one definition. Reading checks the header and names
// file, line and column of any value that does not parse.
import Foundation

public protocol CSVRecord: Sendable {
    static var columns: [String] { get }
    /// The row's fields in `columns` order.
    var fields: [String] { get }
    /// Parses a row whose header has every column of `columns`.
    init(_ row: CSV.Row) throws
}

extension CSV {
    /// Every row of a table as `R`; a missing column or a malformed value is an error naming file, line and column.
    public static func records<R: CSVRecord>(_ url: URL, as type: R.Type = R.self) throws -> [R] {
        try table(url, requiring: R.columns).rows.map(R.init)
    }

    public static func write<R: CSVRecord>(_ url: URL, records: [R]) throws {
        try write(url, header: R.columns, rows: records.map(\.fields))
    }
}

extension CSV.Row {
    /// The column's text ("" when the header lacks it; records read with `requiring` always have it).
    public func text(_ column: String) -> String { values[column] ?? "" }

    /// The texts of `columns`, in that order (a row passed on as it was read).
    public func texts(_ columns: [String]) -> [String] { columns.map(text) }

    /// The column's integer; an error naming file, line and column when it is empty or not an integer.
    public func requiredInteger(_ column: String) throws -> Int {
        guard let value = try integer(column) else { throw problem(column, "", "is empty, an integer is needed") }
        return value
    }

    /// The column's number; an error naming file, line and column when it is empty or not a finite number.
    public func requiredNumber(_ column: String) throws -> Double {
        guard let value = try number(column) else { throw problem(column, "", "is empty, a number is needed") }
        return value
    }
}
