import CalibModel
import CalibSupport

/// Why the store refused an operation. Messages say what to do next.
public enum StoreError: Error, CustomStringConvertible, Sendable {
    case noDatabase(path: String)
    case newerSchema(path: String, unknown: [String])
    /// Migrations missing: `applied` of the `known` ones (0: the file has no calib schema at all, e.g.
    /// a run was killed before creating it).
    case olderSchema(path: String, applied: Int, known: Int)
    case migrationChanged(name: String)
    case noSuchSession(String)
    case sessionExists(String)
    case incompatible(session: String, tensor: String?, String)
    case outputIsDatabase(output: String, database: String)
    /// An error from SQLite itself, with the database it concerns.
    case sqlite(path: String, message: String)
    /// SQLite found the file damaged (`SQLITE_CORRUPT`); `detail` is SQLite's own words.
    case damaged(path: String, detail: String)
    case companionsMissing(path: String, missing: [String], holder: Int32)
    case companionReplaced(path: String, file: String, deleted: Bool)
    /// A stored value calib cannot read (damaged or edited by hand).
    case unreadable(path: String, session: String, tensor: String?, String)

    public var description: String {
        switch self {
        case .noDatabase(let path):
            "no calibration database at \(path) (run `calib run` first, or pass --db / set CALIB_DB)"
        case .newerSchema(let path, let unknown):
            "\(path) was written by a newer calib (unknown migrations: \(unknown.joined(separator: ", "))); upgrade calib to read it"
        case .olderSchema(let path, let applied, let known):
            applied == 0
                ? "\(path) holds no calibration data: it has no calib schema yet (a run that created it stopped before "
                    + "setting it up); `calib run --db \(path) ...` sets it up"
                : "\(path) has an older schema (\(applied) of \(known) migrations); open it once with `calib run` to upgrade"
        case .migrationChanged(let name):
            "migration \(name) differs from the one applied to this database; migrations are append-only"
        case .noSuchSession(let name):
            "no session named '\(name)' (see `calib sessions`)"
        case .sessionExists(let name):
            "a session named '\(name)' already exists"
        case .incompatible(let session, let tensor, let message):
            "session '\(session)'\(tensor.map { ", tensor '\($0)'" } ?? ""): \(message)"
        case .sqlite(let path, let message):
            "\(path): \(message)"
        case .damaged(let path, let detail):
            "\(path): the database is damaged (\(detail)); `calib check --db \(path)` reports what it can still read. "
                + "Restore a backup, or recalibrate into a new database"
        case .outputIsDatabase(let output, let database):
            "\(output) is the calibration database \(database) (or its -wal/-shm); writing there would replace it: choose another output path"
        case .companionsMissing(let path, let missing, let holder):
            "\(missing.joined(separator: " and ")) \(missing.count == 1 ? "is" : "are") missing while process \(holder) has \(path) open: "
                + "they were deleted under it. Opening the database now would give this process a separate copy and lose one side's work. "
                + "Let process \(holder) finish or stop it (calib stops on its next commit), then retry; run `calib check` afterwards"
        case .unreadable(let path, let session, let tensor, let message):
            "\(path): session '\(session)'\(tensor.map { ", tensor '\($0)'" } ?? ""): \(message). The database is damaged or was "
                + "edited; `calib check --db \(path)` lists every such value"
        case .companionReplaced(let path, let file, let deleted):
            "\(file) was \(deleted ? "deleted" : "replaced") while calib had \(path) open, so this write may not be durable and the run stopped. "
                + "What this process committed was written back into \(path); a process that opened the database since "
                + "may have lost its work. Never delete a database's -wal/-shm while it is in use; run `calib check`, then re-run to resume"
        }
    }
}
