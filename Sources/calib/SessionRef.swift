import ArgumentParser
import CalibKit
import Foundation

/// A session named on the command line: `NAME` in the `--db` database, or `PATH:NAME` in the
/// database at PATH. New session names never hold ':' (`Names.sessionProblem`), so text with a
/// colon is `PATH:NAME`, split at its last colon. A session named with a colon by an older calib is
/// still found by its whole name, unless PATH also exists: then the reference is ambiguous and
/// refused (rename the session).
struct SessionRef {
    let text: String
    let defaultDB: String

    init(_ text: String, defaultDB: String) {
        self.text = text
        self.defaultDB = defaultDB
    }

    func open() throws -> (CalibStore, Session) {
        guard let colon = text.lastIndex(of: ":") else {
            let store = try DatabaseOptions.openForReading(defaultDB)
            return (store, try store.requireSession(text))
        }
        let path = String(text[..<colon]), name = String(text[text.index(after: colon)...])
        let pathExists = !path.isEmpty && FileManager.default.fileExists(atPath: path)
        // Where PATH exists, a default database calib cannot read must not stand in the way.
        let legacy = pathExists ? (try? legacySession()) ?? nil : try legacySession()
        if let legacy {
            if pathExists {
                throw NameError(
                    "'\(text)' is ambiguous: it names session '\(text)' in \(defaultDB) and session '\(name)' in the "
                        + "database \(path). Rename the first (`calib rename --db \(defaultDB) '\(text)' NEW`; session "
                        + "names cannot contain ':' any more)")
            }
            return legacy
        }
        guard pathExists else {
            throw NameError(
                "'\(text)' names session '\(name)' in the database \(path.isEmpty ? "''" : path), which does not exist "
                    + "(PATH:NAME: session names never contain ':')")
        }
        let store = try DatabaseOptions.openForReading(path)
        return (store, try store.requireSession(name))
    }

    /// The session named `text` as a whole in the default database, if it exists (made before
    /// session names could not hold ':').
    private func legacySession() throws -> (CalibStore, Session)? {
        guard FileManager.default.fileExists(atPath: defaultDB) else { return nil }
        let store = try DatabaseOptions.openForReading(defaultDB)
        return try store.session(named: text).map { (store, $0) }
    }

    /// Refuses `name` for a session the command would create: one with a name new sessions cannot
    /// have (`Names.sessionProblem`) that is not already in `db` (an older calib's session resumes).
    static func refuseNewName(_ name: String, db: String) throws {
        guard let problem = Names.sessionProblem(name) else { return }
        if FileManager.default.fileExists(atPath: db),
            (try? CalibStore(path: db, readOnly: true).session(named: name)) != nil
        {
            return
        }
        throw NameError("--session: \(problem)")
    }
}

/// A required option declared optional (so that ArgumentParser reports a misspelt option as
/// unknown rather than this one as missing), found missing: the usage error ArgumentParser would
/// have printed, exit 64.
func missingOption(_ option: String, _ command: any ParsableCommand.Type) -> ExitCode {
    Terminal.standardError.write(
        "Error: Missing expected argument '\(option)'\nUsage: \(Calib.usageString(for: command))\n"
            + "  See 'calib \(command._commandName) --help' for more information.\n")
    return ExitCode(64)
}
