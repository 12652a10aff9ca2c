import ArgumentParser
import CalibKit
import Foundation

extension Calib {
    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "diff",
            abstract: "Compare the encodings of two sessions.",
            discussion: """
                A and B are sessions (NAME in --db, or PATH.sqlite:NAME), calibrated or imported. For each tensor \
                present in both: the scale ratio B/A and its relative change, the relative change of the \
                encoding range, the offset change (on the unsigned grid), and the worst channel of per-channel \
                tensors; then the tensors present on one side only, and a summary line. Exit status 1 with \
                --fail-above when a tensor's relative scale change exceeds PCT percent.
                """)

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The baseline session: NAME in --db, or PATH:NAME in the database at PATH.")
        var a: String

        @Argument(help: "The session compared with it (NAME or PATH:NAME; session names never contain ':').")
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
                    a: try storeA.reports(session: sa, label: label), b: try storeB.reports(session: sb, label: label), sort: sort
                )
                try diff.requireCommonTensors(a: a, b: b)
                let report = DiffReport(diff: diff, a: a, b: b, failAbove: failAbove, limit: limit)
                failed = report.failed
                let out = Terminal.standardOutput
                if json {
                    out.write(report.json.rendered() + "\n")
                } else {
                    out.write((diff.changes.isEmpty ? "" : out.render(report.table)) + out.render(report.notes))
                }
            }
            if failed { throw ExitCode(1) }
        }
    }
}
