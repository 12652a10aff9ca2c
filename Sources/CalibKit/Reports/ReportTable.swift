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

    /// `titles` in order; those in `numeric` (by index) are right-aligned.
    public init(_ titles: [String], numeric: Set<Int> = []) {
        columns = titles.enumerated().map { Column(title: $1, numeric: numeric.contains($0)) }
    }

    public mutating func append(_ row: [Cell]) {
        precondition(row.count == columns.count, "a row has one cell per column")
        rows.append(row)
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
