import CalibKit

/// Report tables and lines as plain text: columns aligned (numbers to the right), headings bold and
/// warnings coloured only where the terminal allows.
extension Terminal {
    /// On a terminal, a table wider than it loses its optional columns (said below it); piped
    /// output keeps every column, so scripts see the same table whatever the window.
    func render(_ full: ReportTable) -> String {
        var table = full
        var hidden: [String] = []
        if let width = columns, full.width > width { (table, hidden) = full.fitted(to: width) }
        let widths = table.columns.indices.map { c in
            ([table.columns[c].title] + table.rows.map { $0[c].text }).map(\.count).max() ?? 0
        }
        func line(_ cells: [ReportTable.Cell]) -> String {
            cells.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.text.count)
                let text = cell.warning ? warn(cell.text) : cell.text
                return table.columns[c].numeric ? pad + text : text + pad
            }.joined(separator: "  ").replacing(/\s+$/, with: "")
        }
        var out = bold(line(table.columns.map { ReportTable.Cell($0.title) })) + "\n"
        for row in table.rows { out += line(row) + "\n" }
        if !hidden.isEmpty {
            out += "(\(hidden.joined(separator: ", ")) left out to fit the terminal; --json or a pipe shows every column)\n"
        }
        return out
    }

    func render(_ lines: [ReportLine]) -> String {
        lines.map { l in (l.heading.isEmpty ? "" : bold(l.heading)) + (l.warning ? warn(l.text) : l.text) + "\n" }.joined()
    }
}
