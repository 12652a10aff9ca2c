import ArgumentParser
import CalibKit
import Foundation

extension Calib {
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Create a session from another tool's encodings file.",
            usage: "calib import [--db <path>] --format <format> <file> --session <name> [encoding options] [--note <note>]",
            discussion: """
                The session holds the file's encodings (and, for ONNX Runtime tables, its ranges as statistics), \
                is marked imported, and can be shown, exported and compared with `calib diff` like any other.
                """)

        @OptionGroup var database: DatabaseOptions

        @Option(
            help:
                "Format of FILE: aimet (any version), aimet-0.6.1, aimet-2.0.0, onnxruntime (calibration.json/.flatbuffers/.cache or their directory), tensorrt."
        )
        var format: String?

        @Argument(help: "The file to import.")
        var file: String

        @Option(help: ArgumentHelp("Name of the new session (without ':').", valueName: "name"))
        var session: String?

        @OptionGroup var encoding: EncodingOptions

        @Option(help: "Free-form note stored with the session.") var note: String?

        func run() throws {
            // Required, checked here rather than by ArgumentParser so that a misspelt option is
            // reported as unknown, not as these missing (see `Run.session`).
            guard let format else { throw missingOption("--format <format>", Self.self) }
            guard let session else { throw missingOption("--session <name>", Self.self) }
            try reportingErrors {
                guard let importFormat = EncodingFormats.import(named: format) else {
                    throw ValidationError(
                        "unknown format '\(format)': one of \(EncodingFormats.import.map(\.name).joined(separator: ", "))")
                }
                try SessionRef.refuseNewName(session, db: database.path)
                let table = try EncodingImport.read(path: file, format: importFormat, override: encoding.override)
                let store = try database.open(readOnly: false)
                let s = try store.importTable(table, session: session, source: "\(format):\(file)", notes: note)
                Terminal.standardOutput.write(
                    "session '\(s.name)': imported \(table.entries.count) encodings "
                        + "(\(table.activations.count) activations, \(table.params.count) params) from \(file)\n")
            }
        }
    }
}
