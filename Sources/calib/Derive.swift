import ArgumentParser
import CalibKit
import Foundation

extension Calib {
    struct Derive: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "derive",
            abstract: "Store, list or delete a session's named encoding sets.",
            usage: """
                calib derive [--db <path>] <session> --label <name> [encoding options] [--config <file>]
                calib derive [--db <path>] <session> --list [--json]
                calib derive [--db <path>] <session> --delete <label>...
                """,
            discussion: """
                With --label: re-derives every tensor's encoding with the given options (and --config rules) \
                from the stored statistics, and stores the result under that label (replacing a set of that \
                name). `show --label` and `export --label` read it back. The set is a snapshot: batches added \
                later are not in it (derive again). --list lists the session's sets (--json for machines); \
                --delete LABEL deletes one (repeatable, all or none). The encodings each run derives \
                ('default') cannot be deleted.
                """)

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The session.")
        var session: String

        @Option(help: ArgumentHelp("Name of the encoding set to store.", valueName: "name"))
        var label: String?

        @Flag(help: "List the session's encoding sets instead.")
        var list = false

        @Option(
            name: .customLong("delete"),
            help: ArgumentHelp("Delete the encoding set with this label (repeatable).", valueName: "label"))
        var delete: [String] = []

        @Flag(help: "With --list: print JSON instead of a table.")
        var json = false

        @OptionGroup var encoding: EncodingOptions

        @OptionGroup var method: MethodOptions

        @Option(help: ArgumentHelp("JSON file of per-tensor encoding settings (see README).", valueName: "file"))
        var config: String?

        func validate() throws {
            let modes = (label == nil ? 0 : 1) + (list ? 1 : 0) + (delete.isEmpty ? 0 : 1)
            if modes != 1 { throw ValidationError("give exactly one of --label NAME, --list or --delete LABEL") }
            if json && !list { throw ValidationError("--json goes with --list") }
            if label == nil && (config != nil || encoding.override != SettingsOverride()) {
                throw ValidationError("encoding options and --config go with --label")
            }
            if let label, let problem = Names.labelProblem(label) { throw ValidationError(problem) }
        }

        func run() throws {
            try reportingErrors {
                let out = Terminal.standardOutput
                if list {
                    let store = try database.open(readOnly: true)
                    let s = try store.requireSession(session)
                    let report = EncodingSetListReport(session: s, sets: try store.encodingSetSummaries(session: s))
                    if json {
                        out.write(report.json.rendered() + "\n")
                    } else {
                        out.write((report.sets.isEmpty ? "" : out.render(report.table)) + out.render(report.notes))
                    }
                    return
                }
                let store = try database.open(readOnly: false)
                let s = try store.requireSession(session)
                if !delete.isEmpty {
                    let count = try store.deleteEncodingSets(delete, session: s)
                    out.write(
                        "session '\(s.name)': deleted \(delete.map { "'\($0)'" }.joined(separator: ", ")) "
                            + "(\(Describe.count(count, "encoding")))\n")
                    return
                }
                guard let label else { return }
                let rules = try config.map(CalibrationConfig.load) ?? CalibrationConfig()
                let best = method.request?.name == .best
                var reports = try Derivation.rederive(
                    try store.reports(session: s), override: encoding.override, config: rules,
                    method: best ? nil : method.request)
                var members: [(String, JSONValue)] = [
                    ("override", encoding.override.json), ("config", config.map(JSONValue.string) ?? .null),
                ]
                if best {
                    // Each histogram tensor gets the method `calib methods` ranks first, recorded per
                    // tensor so that `check` re-derives the same choice.
                    let comparison = try MethodComparison(session: s.name, reports: reports)
                    var rows: [ExactName: MethodComparison.Row] = [:]
                    for row in comparison.rows { rows[ExactName(row.tensor.tensor.name)] = row }
                    var chosen: [(String, JSONValue)] = []
                    for i in reports.indices {
                        guard let row = rows[ExactName(reports[i].tensor.name)], let b = row.best else { continue }
                        reports[i].encoding = row.candidates[b].encoding
                        chosen.append((reports[i].tensor.name, row.candidates[b].choice.json))
                    }
                    members.append(("best_methods", .object(chosen)))
                    try store.saveEncodingSet(
                        label: label, options: JSONValue.object(members).rendered(indent: 0), reports: reports, session: s)
                    out.write(
                        "session '\(s.name)': stored \(Describe.count(reports.count, "encoding")) as '\(label)' "
                            + "(\(Describe.count(chosen.count, "tensor")) with its best method)\n")
                    return
                }
                // The histogram methods the set was derived with, per tool, so that `check` re-derives
                // it the same way even after a later run changes the method stored with the
                // histograms: the one given, or the one every histogram of that tool stores (several
                // differing stored methods are not recorded; such a set reads as stale to `check`
                // once they change).
                for (key, m) in Self.recordedMethods(reports, request: method.request) { members.append((key, m.json)) }
                let options = JSONValue.object(members).rendered(indent: 0)
                try store.saveEncodingSet(label: label, options: options, reports: reports, session: s)
                noteUnmatchedRules(rules.unmatchedRules(reports.map(\.tensor.name)), config: config, session: s.name)
                out.write("session '\(s.name)': stored \(Describe.count(reports.count, "encoding")) as '\(label)'\n")
            }
        }

        /// `<tool>_method` members for the set's options: per tool whose histograms the session
        /// holds, the method its tensors were derived with, when they share one.
        static func recordedMethods(_ reports: [TensorReport], request: MethodRequest?) -> [(String, HistogramMethod)] {
            var out: [(String, HistogramMethod)] = []
            for convention in [Convention.aimet, .onnxruntime] {
                let used = Set(
                    reports.compactMap { r -> HistogramMethod? in
                        guard let h = r.stats?.histogram else { return nil }
                        let encoded = r.encoding.scheme.convention
                        // A canonical histogram serves the tool of the convention it is encoded with.
                        guard (h.convention ?? encoded.methodTool) == convention else { return nil }
                        if let request { return try? request.method(for: convention) }
                        switch h {
                        case .aimet(_, _, let m): return .aimet(m)
                        case .onnxruntime(_, let m, _): return .onnxruntime(m)
                        case .pytorch: return nil
                        case .canonical(_, let stored, _): return CanonicalMethods.method(for: encoded, stored: stored)
                        }
                    })
                if used.count == 1, let m = used.first { out.append(("\(convention.rawValue)_method", m)) }
            }
            return out
        }
    }
}
