import ArgumentParser
import CalibKit
import Foundation

extension Calib {
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report",
            abstract: "Write a self-contained HTML report of a session (inline SVG, no script, no network).",
            discussion: """
                Per tensor: the observed range against the encoding's grid, the stored histogram with each \
                method's clip points, per-channel ranges with the outlier channels named. With --against, the \
                other session's range beside each tensor's and the tensors that changed most.
                """)

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The session: NAME in --db, or PATH:NAME in the database at PATH (names never contain ':').")
        var session: String

        @Option(help: ArgumentHelp("Compare against this session (NAME or PATH:NAME).", valueName: "session"))
        var against: String?

        @Option(
            name: .customLong("tensor"), help: ArgumentHelp("Only tensors matching this glob (repeatable).", valueName: "glob"))
        var tensors: [String] = []

        @Option(
            name: [.short, .customLong("output")], help: ArgumentHelp("The HTML file to write ('-': stdout).", valueName: "path"))
        var output: String

        func run() throws {
            try reportingErrors {
                let (store, s) = try SessionRef(session, defaultDB: database.path).open()
                let reports = try store.selectedReports(
                    session: s, label: "default", tensors: tensors, onUnmatched: noteUnmatchedTensors)
                var other: (String, [TensorReport])?
                if let against {
                    let (otherStore, o) = try SessionRef(against, defaultDB: database.path).open()
                    other = (against, try otherStore.reports(session: o))
                    if output != "-" { try otherStore.refuseOverwriting(output) }
                }
                let report = HTMLReport(
                    session: s, batches: try store.batchCount(session: s.id), reports: reports, against: other)
                let path = output == "-" ? nil : output
                if let path { try store.refuseOverwriting(path) }
                let html = Array(report.render().utf8)
                let out = try ExportOutput(path: path)
                try html.withUnsafeBytes { try out.write($0) }
                try out.commit()
            }
        }
    }
}
