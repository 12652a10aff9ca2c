import Foundation
import GRDB

/// The calibration store: one SQLite database (WAL mode) holding any number of sessions.
///
/// Every batch commits in one transaction together with the statistics and encodings it changed,
/// so the database is consistent after any crash and readers in other processes only ever see
/// whole batches.
public final class CalibStore: Sendable {
    let writer: any DatabaseWriter
    public let path: String

    /// Opens (creating and migrating if needed) the database at `path`.
    /// - Parameter readOnly: open an existing database without writing (for `show`, `export`).
    /// - Parameter allowOlderSchema: with `readOnly`, accept a database whose migrations are not all
    ///   applied yet (for `check`, which must inspect whatever a killed process left).
    public init(path: String, readOnly: Bool = false, allowOlderSchema: Bool = false) throws {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(30)
        config.readonly = readOnly
        if readOnly {
            guard FileManager.default.fileExists(atPath: path) else { throw StoreError.noDatabase(path: path) }
            writer = try DatabasePool(path: path, configuration: config)
            try Schema.check(writer, path: path, allowOlder: allowOlderSchema)
        } else {
            writer = try DatabasePool(path: path, configuration: config)
            try Schema.prepare(writer, path: path)
        }
    }

    /// A private in-memory store, for tests and previews.
    public init() throws {
        path = ":memory:"
        writer = try DatabaseQueue()
        try Schema.prepare(writer, path: path)
    }

    /// The migrations this database has applied, in order.
    public func appliedMigrations() throws -> [String] {
        try writer.read { db in try db.tableExists("grdb_migrations") ? Schema.migrator.appliedMigrations(db) : [] }
    }

    /// The number of migrations this calib knows: the schema version it writes.
    public static var schemaVersion: Int { Schema.migrationNames.count }
}
