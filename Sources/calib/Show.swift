import ArgumentParser
import CalibKit

extension Calib {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a session's statistics and encodings.",
            discussion: """
                Encoding options (--bitwidth, --symmetric, --signed, --convention, …) re-derive the \
                encodings from the stored statistics for display, without changing the session.
                """)

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The session (NAME, or PATH.sqlite:NAME).")
        var session: String

        @Option(name: .customLong("tensor"), help: ArgumentHelp("Only tensors matching this glob (repeatable).", valueName: "glob"))
        var tensors: [String] = []

        @Option(help: ArgumentHelp("Show the encoding set stored under this label (see `calib derive`).", valueName: "label"))
        var label = "default"

        @OptionGroup var encoding: EncodingOptions

        @Flag(help: "Print JSON (the export layout plus session details) instead of a table.")
        var json = false

        func run() throws {
            try reportingErrors {
                let ref = SessionRef(session, defaultDB: database.path)
                let (store, s) = try ref.open()
                var reports: [TensorReport]
                if tensors.count == 1, !tensors[0].contains(where: { "*?[".contains($0) }) {
                    reports = try store.report(session: s.id, tensor: tensors[0], label: label).map { [$0] } ?? []
                } else {
                    reports = try store.reports(session: s, label: label, tensors: tensors)
                }
                reports = try Derivation.rederive(reports, override: encoding.override)
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
                let batches = try store.batchCount(session: s.id)
                var header = out.bold("session \(s.name)") + "  \(s.status.rawValue), "
                header += s.origin == .imported ? "imported from \(s.importedFrom ?? "?")" : "\(batches) batches"
                if label != "default" { header += ", encoding set '\(label)'" }
                out.write(header + "\n")
                for (key, value) in [("model", s.model), ("dataset", s.dataset), ("notes", s.notes)] {
                    if let value { out.write("\(key) \(value)\n") }
                }
                var table = TextTable(
                    headers: ["TENSOR", "ROLE", "SHAPE", "CH", "BATCHES", "OBS MIN", "OBS MAX", "ENCODING", "SCALE", "OFFSET", "MIN", "MAX", "NONFINITE"],
                    rightAligned: [3, 4, 5, 6, 8, 9, 10, 11, 12])
                var flagged = 0
                for r in reports {
                    let e = r.encoding
                    let nonfinite = r.stats?.nonfinite ?? 0
                    if nonfinite > 0 { flagged += 1 }
                    table.rows.append([
                        r.tensor.name, r.tensor.role.rawValue, r.tensor.shape.map(String.init).joined(separator: "x"),
                        r.tensor.channelAxis.map { "\(r.tensor.channels)@\($0)" } ?? "-", r.stats.map { String($0.batches) } ?? "-",
                        r.stats.map { Describe.values($0.min) } ?? "-", r.stats.map { Describe.values($0.max) } ?? "-",
                        Describe.scheme(e.scheme), Describe.values(e.scale), Describe.ints(e.offset), Describe.values(e.min),
                        Describe.values(e.max), nonfinite > 0 ? out.warn("\(nonfinite) !") : "0",
                    ])
                }
                out.write(reports.isEmpty ? "no tensors\(tensors.isEmpty ? "" : " match")\n" : "\n" + table.rendered(out))
                if flagged > 0 {
                    out.write(out.warn("\(flagged) tensor\(flagged == 1 ? "" : "s") had NaN/Inf values (left out of the ranges)") + "\n")
                }
                let problems = CoverageProblem.find(in: reports)
                if !problems.isEmpty {
                    out.write(out.warn("not exportable: \(problems.map(\.description).joined(separator: "; "))") + "\n")
                }
            }
        }
    }
}
