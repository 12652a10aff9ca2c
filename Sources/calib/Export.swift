import ArgumentParser
import CalibKit
import Foundation

extension Calib {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a session's encodings to a file or stdout.")

        enum Format: String, ExpressibleByArgument, CaseIterable {
            case json
        }

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The session.")
        var session: String

        @Option(help: "Output format: json (calib's layout).")
        var format: Format = .json

        @Option(name: .shortAndLong, help: ArgumentHelp("Write here instead of stdout.", valueName: "file"))
        var output: String?

        func run() throws {
            try reportingErrors {
                let store = try database.open(readOnly: true)
                let s = try store.requireSession(session)
                let text = EncodingsJSON.document(session: s, reports: try store.reports(session: s.id)).rendered() + "\n"
                if let output {
                    // Write beside the target and rename, so a failed export never leaves half a file.
                    try Data(text.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
                } else {
                    Terminal.standardOutput.write(text)
                }
            }
        }
    }
}
