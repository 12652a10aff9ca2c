import ArgumentParser
import CalibKit

extension Calib {
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Check the database: SQLite integrity, schema version, and every session's rows and values.",
            discussion: "Every stored value is checked against its domain and its row's digest, and every encoding is "
                + "re-derived from its statistics and compared bit for bit. Prints each finding (with its session and "
                + "tensor) and exits 1 when there is any; prints a one-line all-clear otherwise.")

        @OptionGroup var database: DatabaseOptions

        func run() throws {
            var failed = false
            try reportingErrors {
                let store = try CalibStore(path: database.path, readOnly: true, allowOlderSchema: true)
                let out = Terminal.standardOutput
                let findings: [String]
                do {
                    findings = try StoreCheck.run(store).map(\.description)
                } catch StoreError.damaged(_, let detail) {
                    // SQLite stopped reading: that is the finding, not an error of `check` itself.
                    findings = ["integrity: the database is damaged (\(detail)); restore a backup or recalibrate"]
                }
                for f in findings { out.write(out.warn("problem: \(f)") + "\n") }
                failed = !findings.isEmpty
                guard !failed else { return }
                let applied = try store.appliedMigrations()
                let schema = CalibStore.schemaNumber(applied)
                guard applied.count == CalibStore.schemaVersion else {
                    out.write(
                        "\(database.path): ok (schema \(schema) of \(CalibStore.latestSchema); the next `calib run` upgrades it)\n"
                    )
                    return
                }
                let sessions = try store.sessions()
                out.write(
                    "\(database.path): ok (\(sessions.count) sessions, \(sessions.reduce(0) { $0 + $1.batches }) batches, schema \(schema))\n"
                )
            }
            if failed { throw ExitCode(1) }
        }
    }
}
