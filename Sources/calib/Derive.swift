import ArgumentParser
import CalibKit
import Foundation

extension Calib {
    struct Derive: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store a named encoding set derived from a session's statistics.",
            discussion: """
                Re-derives every tensor's encoding with the given options (and --config rules) from the \
                stored statistics, and stores the result under --label. `show --label` and `export --label` \
                read it back. The set is a snapshot: batches added later are not in it (derive again).
                """)

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The session.")
        var session: String

        @Option(help: ArgumentHelp("Name of the encoding set.", valueName: "name"))
        var label: String

        @OptionGroup var encoding: EncodingOptions

        @Option(help: ArgumentHelp("JSON file of per-tensor encoding settings (see README).", valueName: "file"))
        var config: String?

        func validate() throws {
            if label == "default" { throw ValidationError("'default' is the label of the encodings each run derives") }
            if label.isEmpty { throw ValidationError("--label must not be empty") }
        }

        func run() throws {
            try reportingErrors {
                let store = try database.open(readOnly: false)
                let s = try store.requireSession(session)
                let rules = try config.map(CalibrationConfig.load) ?? CalibrationConfig()
                let reports = try Derivation.rederive(try store.reports(session: s), override: encoding.override, config: rules)
                let options = JSONValue.object([
                    ("override", encoding.override.json), ("config", config.map(JSONValue.string) ?? .null),
                ]).rendered(indent: 0)
                try store.saveEncodingSet(label: label, options: options, reports: reports, session: s)
                noteUnmatchedRules(rules.unmatchedRules(reports.map(\.tensor.name)), config: config, session: s.name)
                Terminal.standardOutput.write("session '\(s.name)': stored \(reports.count) encodings as '\(label)'\n")
            }
        }
    }
}
