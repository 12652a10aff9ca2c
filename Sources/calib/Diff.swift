import ArgumentParser
import CalibKit
import Foundation

extension Calib {
    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare the encodings of two sessions.",
            discussion: """
                A and B are sessions (NAME in --db, or PATH.sqlite:NAME), calibrated or imported. For each tensor \
                present in both: the scale ratio B/A and its relative change, the relative change of the \
                encoding range, the offset change (on the unsigned grid), and the worst channel of per-channel \
                tensors; then the tensors present on one side only, and a summary line. Exit status 1 with \
                --fail-above when a tensor's relative scale change exceeds PCT percent.
                """)

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The baseline session.")
        var a: String

        @Argument(help: "The session compared with it.")
        var b: String

        @Option(help: "Rank tensors by: scale (default), range, offset, name.")
        var sort: SessionDiff.SortKey = .scale

        @Option(help: ArgumentHelp("Exit 1 when any tensor's relative scale change exceeds this many percent.", valueName: "pct"))
        var failAbove: Double?

        @Option(help: ArgumentHelp("Compare this encoding set of both sessions.", valueName: "label"))
        var label = "default"

        @Option(help: "Show at most this many tensors in the table (all with --json).")
        var limit: Int?

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        func run() throws {
            var failed = false
            try reportingErrors(status: 2) {  // like diff(1): 1 means "differs", 2 means trouble
                let (storeA, sa) = try SessionRef(a, defaultDB: database.path).open()
                let (storeB, sb) = try SessionRef(b, defaultDB: database.path).open()
                let diff = SessionDiff(
                    a: try storeA.reports(session: sa, label: label), b: try storeB.reports(session: sb, label: label), sort: sort)
                failed = failAbove.map { diff.exceeds(percent: $0) } ?? false
                let out = Terminal.standardOutput
                if json {
                    out.write(DiffJSON.document(diff, a: a, b: b, failAbove: failAbove, failed: failed).rendered() + "\n")
                } else {
                    out.write(DiffTable.render(diff, terminal: out, limit: limit))
                    out.write(DiffTable.summary(diff, failAbove: failAbove) + "\n")
                }
            }
            if failed { throw ExitCode(1) }
        }
    }
}

/// `calib diff --json`: see README, "Comparing runs".
enum DiffJSON {
    static func number(_ d: Double) -> JSONValue { d.isFinite ? .float(Float(d)) : .null }

    static func document(_ diff: SessionDiff, a: String, b: String, failAbove: Double?, failed: Bool) -> JSONValue {
        .object([
            ("a", .string(a)), ("b", .string(b)),
            ("tensors", .array(diff.changes.map { c in
                .object([
                    ("name", .string(c.name)), ("channels", .int(c.channels)),
                    ("scale_ratio", number(c.scaleRatio)), ("scale_change_pct", number(c.scaleChange * 100)),
                    ("range_change_pct", number(c.rangeChange * 100)), ("offset_change", .int(c.offsetChange)),
                    ("worst_channel", c.worstChannel.map(JSONValue.int) ?? .null),
                    ("mismatch", c.mismatch.map(JSONValue.string) ?? .null),
                ])
            })),
            ("only_in_a", .array(diff.onlyInA.map(JSONValue.string))),
            ("only_in_b", .array(diff.onlyInB.map(JSONValue.string))),
            ("summary", .object([
                ("compared", .int(diff.changes.count)),
                ("changed", .int(diff.changes.filter { $0.scaleChange > 0 || $0.offsetChange != 0 || $0.mismatch != nil }.count)),
                ("max_scale_change_pct", number(diff.maxScaleChange * 100)),
                ("fail_above_pct", failAbove.map { .float(Float($0)) } ?? .null),
                ("failed", .bool(failed)),
            ])),
        ])
    }
}

enum DiffTable {
    static func pct(_ d: Double) -> String {
        d.isFinite ? String(format: "%+.3f%%", d * 100) : "n/a"
    }

    static func render(_ diff: SessionDiff, terminal: Terminal, limit: Int?) -> String {
        var table = TextTable(
            headers: ["TENSOR", "CH", "SCALE B/A", "SCALE Δ", "RANGE Δ", "OFFSET Δ", "WORST CH"], rightAligned: [1, 2, 3, 4, 5, 6])
        for c in diff.changes.prefix(limit ?? .max) {
            if let mismatch = c.mismatch {
                table.rows.append([c.name, String(c.channels), "-", terminal.warn(mismatch), "-", "-", "-"])
                continue
            }
            table.rows.append([
                c.name, String(c.channels), String(format: "%.6f", c.scaleRatio), pct(c.scaleChange),
                pct(c.rangeChange), String(c.offsetChange), c.worstChannel.map(String.init) ?? "-",
            ])
        }
        var out = diff.changes.isEmpty ? "" : table.rendered(terminal)
        if let limit, diff.changes.count > limit { out += "… \(diff.changes.count - limit) more\n" }
        if !diff.onlyInA.isEmpty { out += "only in A: \(diff.onlyInA.joined(separator: ", "))\n" }
        if !diff.onlyInB.isEmpty { out += "only in B: \(diff.onlyInB.joined(separator: ", "))\n" }
        return out
    }

    static func summary(_ diff: SessionDiff, failAbove: Double?) -> String {
        let changed = diff.changes.filter { $0.scaleChange > 0 || $0.offsetChange != 0 || $0.mismatch != nil }
        var line = "\(diff.changes.count) tensors compared, \(changed.count) changed"
        if let worst = diff.changes.first(where: { $0.scaleChange == diff.maxScaleChange }), diff.maxScaleChange > 0 {
            line += ", largest scale change \(pct(diff.maxScaleChange)) (\(worst.name))"
        }
        line += ", \(diff.onlyInA.count) only in A, \(diff.onlyInB.count) only in B"
        if let failAbove { line += diff.exceeds(percent: failAbove) ? "; FAIL: above \(failAbove)%" : "; within \(failAbove)%" }
        return line
    }
}
