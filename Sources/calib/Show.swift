import ArgumentParser
import CalibKit

extension Calib {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Show a session's statistics and encodings.",
            discussion: """
                Encoding options (--bitwidth, --symmetric, --signed, --convention, …) re-derive the \
                encodings from the stored statistics for display, without changing the session.
                """)

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The session: NAME in --db, or PATH:NAME in the database at PATH (names never contain ':').")
        var session: String

        @Option(
            name: .customLong("tensor"), help: ArgumentHelp("Only tensors matching this glob (repeatable).", valueName: "glob"))
        var tensors: [String] = []

        @Option(help: ArgumentHelp("Show the encoding set stored under this label (see `calib derive`).", valueName: "label"))
        var label = "default"

        @OptionGroup var encoding: EncodingOptions

        @OptionGroup var method: MethodOptions

        @Flag(help: "Print JSON (the export layout plus session details) instead of a table.")
        var json = false

        @Option(
            help: ArgumentHelp(
                "List this per-channel tensor's outlier channels (ranges against the median channel's) instead of the table.",
                valueName: "tensor"))
        var channels: String?

        @Option(help: ArgumentHelp("How many channels --channels lists (default 10).", valueName: "n"))
        var top = 10

        func validate() throws {
            if top < 1 { throw ValidationError("--top must be at least 1, got \(top)") }
            if channels != nil && !tensors.isEmpty { throw ValidationError("--channels and --tensor exclude each other") }
        }

        func run() throws {
            try reportingErrors {
                let (store, s) = try SessionRef(session, defaultDB: database.path).open()
                if let channels {
                    try showChannels(channels, store: store, session: s)
                    return
                }
                let reports = try Derivation.rederive(
                    try store.selectedReports(session: s, label: label, tensors: tensors, onUnmatched: noteUnmatchedTensors),
                    override: encoding.override, method: method.request)
                let report = SessionReport(
                    session: s, batches: try store.batchCount(session: s.id), label: label, reports: reports,
                    filtered: !tensors.isEmpty)
                let out = Terminal.standardOutput
                if json {
                    out.write(report.json.rendered() + "\n")
                    return
                }
                out.write(out.render(report.heading))
                out.write(reports.isEmpty ? "no tensors\(tensors.isEmpty ? "" : " match")\n" : "\n" + out.render(report.table))
                out.write(out.render(report.notes))
            }
        }

        /// `--channels TENSOR`: the tensor named exactly (no glob), its channels ranked.
        func showChannels(_ name: String, store: CalibStore, session s: Session) throws {
            let all = try Derivation.rederive(
                try store.selectedReports(session: s, label: label, tensors: [], onUnmatched: { _ in }),
                override: encoding.override)
            guard let tensor = all.first(where: { ExactName($0.tensor.name) == ExactName(name) }) else {
                throw ReportError("session '\(s.name)' has no tensor named '\(name)' (see `calib show \(s.name)`)")
            }
            let report = try ChannelOutlierReport(session: s.name, tensor: tensor, top: top)
            let out = Terminal.standardOutput
            if json {
                out.write(report.json.rendered() + "\n")
                return
            }
            out.write(out.render(report.heading) + "\n" + out.render(report.table) + out.render(report.notes))
        }
    }
}
