import ArgumentParser
import CalibKit

extension Calib {
    struct Methods: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "methods",
            abstract: "Compare every histogram method of a session's tensors, from their stored histograms.",
            discussion: """
                For each tensor observed with --observer histogram: min/max and each method of its tool (AIMET: \
                percentile 99.9 and 99.99, sqnr, tf-enhanced; onnxruntime: entropy, percentile, distribution; torch: \
                its L2 search), the range each picks, the fraction of values it clips and the SQNR it gives, estimated \
                on the stored histogram; the best SQNR is marked. Nothing is read again. Encoding options \
                (--bitwidth, --symmetric, …) compare at other settings.
                """)

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The session: NAME in --db, or PATH:NAME in the database at PATH (names never contain ':').")
        var session: String

        @Option(
            name: .customLong("tensor"), help: ArgumentHelp("Only tensors matching this glob (repeatable).", valueName: "glob"))
        var tensors: [String] = []

        @OptionGroup var encoding: EncodingOptions

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        func run() throws {
            try reportingErrors {
                let (store, s) = try SessionRef(session, defaultDB: database.path).open()
                let reports = try Derivation.rederive(
                    try store.selectedReports(session: s, label: "default", tensors: tensors, onUnmatched: noteUnmatchedTensors),
                    override: encoding.override)
                let report = try MethodComparison(session: s.name, reports: reports)
                let out = Terminal.standardOutput
                if json {
                    out.write(report.json.rendered() + "\n")
                    return
                }
                out.write(out.render(report.heading) + "\n" + out.render(report.table) + out.render(report.notes))
            }
        }
    }
}
