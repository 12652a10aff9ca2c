/// A table as data: what `show`, `diff` and `sessions` print, so the CLI renders it as text (and a
/// report as HTML) without deciding what goes in it.
public struct ReportTable: Sendable, Equatable {
    public struct Column: Sendable, Equatable {
        public var title: String
        /// Numbers are right-aligned.
        public var numeric: Bool
    }

    /// One cell: its text, and whether it calls for attention (NaN/Inf counts, mismatches).
    public struct Cell: Sendable, Equatable, ExpressibleByStringLiteral {
        public var text: String
        public var warning: Bool

        public init(_ text: String, warning: Bool = false) {
            self.text = text
            self.warning = warning
        }

        public init(stringLiteral value: String) { self.init(value) }
    }

    public var columns: [Column]
    public var rows: [[Cell]] = []
    /// Columns (by index) that may be left out to fit a narrow terminal, the first hidden first.
    public var optional: [Int] = []

    /// `titles` in order; those in `numeric` (by index) are right-aligned.
    public init(_ titles: [String], numeric: Set<Int> = []) {
        columns = titles.enumerated().map { Column(title: $1, numeric: numeric.contains($0)) }
    }

    public mutating func append(_ row: [Cell]) {
        precondition(row.count == columns.count, "a row has one cell per column")
        rows.append(row)
    }

    /// Width of the table as text: each column as wide as its widest cell, two spaces between.
    public var width: Int {
        let widths = columns.indices.map { c in ([columns[c].title] + rows.map { $0[c].text }).map(\.count).max() ?? 0 }
        return widths.reduce(0, +) + 2 * Swift.max(0, widths.count - 1)
    }

    /// The table without as many `optional` columns as it takes to be at most `width` characters
    /// wide (all of them, at most, when it still does not fit), and the titles of those left out.
    public func fitted(to width: Int) -> (table: ReportTable, hidden: [String]) {
        var table = self
        var hidden: [String] = []
        for c in optional where table.width > width {
            guard let i = table.columns.firstIndex(where: { $0.title == columns[c].title }) else { continue }
            hidden.append(columns[c].title)
            table.columns.remove(at: i)
            for r in table.rows.indices { table.rows[r].remove(at: i) }
        }
        table.optional = []
        return (table, hidden)
    }
}

/// A line of text around a table: an optional heading part (bold on a terminal), then text, which
/// may be a warning.
public struct ReportLine: Sendable, Equatable {
    public var heading: String
    public var text: String
    public var warning: Bool

    public init(_ text: String, heading: String = "", warning: Bool = false) {
        self.heading = heading
        self.text = text
        self.warning = warning
    }
}
