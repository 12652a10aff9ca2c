import ArgumentParser
import CalibKit
import Foundation

extension Calib {
    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "merge",
            abstract: "Combine shard databases (calib run --shard I/N) into one min/max session.",
            usage: "calib merge --db OUT.sqlite --session <name> <input> ...",
            discussion: """
                Each INPUT is a shard database, PATH or PATH:SESSION (PATH alone when it holds one session). The \
                merged session's statistics equal one run over all the shards' batches: per tensor and per channel \
                min of minima and max of maxima, counts summed, a batch two shards both hold counted once. Tensor \
                settings must agree. EMA sessions are refused (a moving average depends on batch order). Merging \
                again adds only batches the session does not hold; everything is written in one transaction.
                """)

        @OptionGroup var database: DatabaseOptions

        @Option(help: ArgumentHelp("Session to create or add the shards to.", valueName: "name"))
        var session: String?

        @Argument(help: ArgumentHelp("Shard databases: PATH or PATH:SESSION.", valueName: "input"))
        var inputs: [String]

        func run() throws {
            guard let session else { throw missingOption("--session <name>", Self.self) }
            try reportingErrors {
                let shards = try inputs.map { text in
                    let (path, name) = Self.split(text)
                    guard FileManager.default.fileExists(atPath: path) else {
                        throw MergeInputError(text: "\(text): no such database\(name == nil ? "" : " (read as PATH:SESSION)")")
                    }
                    return MergeInput(store: try DatabaseOptions.openForReading(path), session: name, name: text)
                }
                let store = try database.open(readOnly: false)
                let summary = try ShardMerge(output: store, session: session).run(shards)
                Terminal.standardOutput.write(
                    "session '\(summary.session)': \(summary.added) batch\(summary.added == 1 ? "" : "es") merged, "
                        + "\(summary.duplicates) already held, \(summary.totalBatches) in total; \(summary.tensors) tensor"
                        + "\(summary.tensors == 1 ? "" : "s")\n")
            }
        }

        /// `PATH` when that file exists, else `PATH:SESSION` split at the last colon.
        static func split(_ text: String) -> (String, String?) {
            if FileManager.default.fileExists(atPath: text) { return (text, nil) }
            guard let colon = text.lastIndex(of: ":") else { return (text, nil) }
            return (String(text[..<colon]), String(text[text.index(after: colon)...]))
        }
    }
}

/// An input `calib merge` cannot open.
struct MergeInputError: Error, CustomStringConvertible {
    let description: String
    init(text: String) { description = text }
}
