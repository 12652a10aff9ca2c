import ArgumentParser
import CalibKit

extension Calib {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a session's statistics and encodings.")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The session.")
        var session: String

        @Option(name: .customLong("tensor"), help: ArgumentHelp("Only tensors matching this glob (repeatable).", valueName: "glob"))
        var tensors: [String] = []

        @Flag(help: "Print JSON (the export layout plus session details) instead of a table.")
        var json = false

        func run() throws {
            try reportingErrors {
                let store = try database.open(readOnly: true)
                let s = try store.requireSession(session)
                let reports = try store.reports(session: s.id).filter { Glob.matchesAny(tensors, $0.tensor.name) }
                let out = Terminal.standardOutput
                if json {
                    var doc = EncodingsJSON.document(session: s, reports: reports)
                    if case .object(var members) = doc {
                        members.insert(("details", .object(SessionJSON.session(s))), at: 2)
                        doc = .object(members)
                    }
                    out.write(doc.rendered() + "\n")
                    return
                }
                let batches = try store.batches(session: s.id).count
                out.write(
                    out.bold("session \(s.name)") + "  \(s.status.rawValue), \(batches) batches, "
                        + "\(Describe.observer(s.observer)), \(Describe.scheme(s.scheme))\n")
                if let model = s.model { out.write("model \(model)\n") }
                if let dataset = s.dataset { out.write("dataset \(dataset)\n") }
                if let notes = s.notes { out.write("notes \(notes)\n") }
                var table = TextTable(
                    headers: ["TENSOR", "SHAPE", "CH", "BATCHES", "OBS MIN", "OBS MAX", "SCALE", "OFFSET", "MIN", "MAX", "NONFINITE"],
                    rightAligned: [2, 3, 4, 5, 6, 7, 8, 9, 10])
                for r in reports {
                    let e = r.encoding
                    let nonfinite = r.stats.nonfinite > 0 ? out.warn(String(r.stats.nonfinite)) : "0"
                    table.rows.append([
                        r.tensor.name, r.tensor.shape.map(String.init).joined(separator: "x"),
                        r.tensor.channelAxis.map { "\(r.tensor.channels)@\($0)" } ?? "-", String(r.stats.batches),
                        Describe.values(r.stats.min), Describe.values(r.stats.max), Describe.values(e.scale),
                        Describe.ints(e.offset), Describe.values(e.min), Describe.values(e.max), nonfinite,
                    ])
                }
                out.write(reports.isEmpty ? "no tensors\(tensors.isEmpty ? "" : " match")\n" : "\n" + table.rendered(out))
            }
        }
    }
}
