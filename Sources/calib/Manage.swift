import ArgumentParser
import CalibKit

extension Calib {
    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm",
            abstract: "Delete sessions and everything they hold.",
            discussion: """
                Deletes each SESSION's batches, statistics, encodings and encoding sets, all in one \
                transaction: when one of the names is not a session, nothing is deleted. There is no undo; \
                `calib export` first to keep the encodings. A run still writing to a removed session stops \
                at its next commit.
                """,
            aliases: ["remove"])

        @OptionGroup var database: DatabaseOptions

        @Argument(help: ArgumentHelp("The sessions to delete (names in --db).", valueName: "session"))
        var sessions: [String]

        func validate() throws {
            if sessions.isEmpty { throw ValidationError("name the session to delete (see `calib sessions`)") }
        }

        func run() throws {
            try reportingErrors {
                let store = try database.open(readOnly: false)
                for r in try store.removeSessions(sessions) {
                    Terminal.standardOutput.write(
                        "removed session '\(r.name)' (\(Describe.count(r.batches, "batch", plural: "batches")), "
                            + "\(Describe.count(r.tensors, "tensor"))\(r.labels > 0 ? ", \(Describe.count(r.labels, "encoding set"))" : ""))\n"
                    )
                }
            }
        }
    }

    struct Rename: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rename",
            abstract: "Rename a session.",
            discussion: """
                Renames OLD to NEW in one transaction; its batches, statistics and encoding sets stay with it. \
                NEW must not exist yet and, like every new session name, must not contain ':' (which \
                separates PATH:NAME in `show`, `export` and `diff`) or control characters. A session \
                whose old name holds ':' can be renamed this way.
                """)

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The session's current name (in --db).")
        var old: String

        @Argument(help: "Its new name.")
        var new: String

        func run() throws {
            try reportingErrors {
                let s = try database.open(readOnly: false).renameSession(old, to: new)
                Terminal.standardOutput.write("renamed session '\(old)' to '\(s.name)'\n")
            }
        }
    }
}
