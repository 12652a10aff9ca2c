import ArgumentParser
import CalibKit

extension Calib {
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the database: SQLite integrity, schema version, and the consistency of every session.",
            discussion: "Prints each finding and exits 1 when there is any; prints a one-line all-clear otherwise.")

        @OptionGroup var database: DatabaseOptions

        func run() throws {
            var failed = false
            try reportingErrors {
                let store = try database.open(readOnly: true)
                let findings = try store.check()
                let out = Terminal.standardOutput
                for f in findings { out.write(out.warn("problem: \(f)") + "\n") }
                let sessions = try store.sessions()
                if findings.isEmpty {
                    out.write("\(database.path): ok (\(sessions.count) sessions, \(sessions.reduce(0) { $0 + $1.batches }) batches, schema \(try store.appliedMigrations().count))\n")
                }
                failed = !findings.isEmpty
            }
            if failed { throw ExitCode(1) }
        }
    }
}
