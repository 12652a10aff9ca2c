import Foundation

/// What `calib diff` prints: the changed tensors as a table (at most `limit` rows), the tensors on
/// one side only, and a summary line; `json` is `--json`.
public struct DiffReport: Sendable {
    public var diff: SessionDiff
    /// The two sessions as the user named them.
    public var a: String
    public var b: String
    public var failAbove: Double?
    public var limit: Int?

    public init(diff: SessionDiff, a: String, b: String, failAbove: Double? = nil, limit: Int? = nil) {
        self.diff = diff
        self.a = a
        self.b = b
        self.failAbove = failAbove
        self.limit = limit
    }

    /// True with `failAbove` when a tensor changed more than that.
    public var failed: Bool { failAbove.map { diff.exceeds(percent: $0) } ?? false }

    public var changed: [SessionDiff.TensorChange] {
        diff.changes.filter { $0.scaleChange > 0 || $0.offsetChange != 0 || $0.mismatch != nil }
    }

    public var table: ReportTable {
        var table = ReportTable(
            ["TENSOR", "CH", "SCALE B/A", "SCALE Δ", "RANGE Δ", "OFFSET Δ", "WORST CH"], numeric: [1, 2, 3, 4, 5, 6])
        for c in diff.changes.prefix(limit ?? .max) {
            if let mismatch = c.mismatch {
                table.append([.init(c.name), .init(String(c.channels)), "-", .init(mismatch, warning: true), "-", "-", "-"])
                continue
            }
            table.append([
                .init(c.name), .init(String(c.channels)), .init(String(format: "%.6f", c.scaleRatio)),
                .init(Describe.percent(c.scaleChange)),
                .init(Describe.percent(c.rangeChange)), .init(String(c.offsetChange)),
                .init(c.worstChannel.map(String.init) ?? "-"),
            ])
        }
        return table
    }

    /// The lines after the table, the summary last.
    public var notes: [ReportLine] {
        var lines: [ReportLine] = []
        if let limit, diff.changes.count > limit { lines.append(ReportLine("… \(diff.changes.count - limit) more")) }
        if !diff.onlyInA.isEmpty { lines.append(ReportLine("only in A: \(diff.onlyInA.joined(separator: ", "))")) }
        if !diff.onlyInB.isEmpty { lines.append(ReportLine("only in B: \(diff.onlyInB.joined(separator: ", "))")) }
        lines.append(ReportLine(summary))
        return lines
    }

    public var summary: String {
        var line = "\(diff.changes.count) tensors compared, \(changed.count) changed"
        if let worst = diff.changes.first(where: { $0.scaleChange == diff.maxScaleChange }), diff.maxScaleChange > 0 {
            line += ", largest scale change \(Describe.percent(diff.maxScaleChange)) (\(worst.name))"
        }
        line += ", \(diff.onlyInA.count) only in A, \(diff.onlyInB.count) only in B"
        if let failAbove { line += failed ? "; FAIL: above \(failAbove)%" : "; within \(failAbove)%" }
        return line
    }

    public var json: JSONValue {
        func number(_ d: Double) -> JSONValue { d.isFinite ? .float(Float(d)) : .null }
        return .object([
            ("a", .string(a)), ("b", .string(b)),
            (
                "tensors",
                .array(
                    diff.changes.map { c in
                        .object([
                            ("name", .string(c.name)), ("channels", .int(c.channels)),
                            ("scale_ratio", number(c.scaleRatio)), ("scale_change_pct", number(c.scaleChange * 100)),
                            ("range_change_pct", number(c.rangeChange * 100)), ("offset_change", .int(c.offsetChange)),
                            ("worst_channel", c.worstChannel.map(JSONValue.int) ?? .null),
                            ("mismatch", c.mismatch.map(JSONValue.string) ?? .null),
                        ])
                    })
            ),
            ("only_in_a", .array(diff.onlyInA.map(JSONValue.string))),
            ("only_in_b", .array(diff.onlyInB.map(JSONValue.string))),
            (
                "summary",
                .object([
                    ("compared", .int(diff.changes.count)), ("changed", .int(changed.count)),
                    ("max_scale_change_pct", number(diff.maxScaleChange * 100)),
                    ("fail_above_pct", failAbove.map { .float(Float($0)) } ?? .null), ("failed", .bool(failed)),
                ])
            ),
        ])
    }
}
