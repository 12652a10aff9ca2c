/// A plain column-aligned table: left-aligned text, right-aligned numbers.
struct TextTable {
    var headers: [String]
    var rightAligned: Set<Int> = []
    var rows: [[String]] = []

    func rendered(_ terminal: Terminal) -> String {
        let widths = headers.indices.map { c in
            ([headers[c]] + rows.map { $0[c] }).map(\.count).max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return rightAligned.contains(c) ? pad + cell : cell + pad
            }.joined(separator: "  ").replacing(/\s+$/, with: "")
        }
        var out = terminal.bold(line(headers)) + "\n"
        for row in rows { out += line(row) + "\n" }
        return out
    }
}
