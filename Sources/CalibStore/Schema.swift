import CalibMigrations
import CalibModel
import CalibSupport
import Foundation
import GRDB

/// Applies `migrations/*.sql` (embedded at build time) in order, all missing ones in one
/// transaction, and records each one's SHA-256 so an edited migration is detected.
enum Schema {
    /// Names of the embedded migrations, in order. Append-only: a renamed migration would run again.
    static var migrationNames: [String] { embeddedMigrations.map(\.name) }

    static func checksum(_ sql: String) -> String {
        SHA256.hex(sql.utf8)
    }

    /// The migrations as GRDB sees them: for reading what a database has applied (and for tests that
    /// build an older schema). `prepare` applies them itself, see there.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for index in embeddedMigrations.indices {
            migrator.registerMigration(embeddedMigrations[index].name) { db in try applyBody(index, db) }
        }
        return migrator
    }

    /// Migration `index`'s SQL and its records (checksum, `user_version`), without the
    /// `grdb_migrations` row.
    private static func applyBody(_ index: Int, _ db: Database) throws {
        let migration = embeddedMigrations[index]
        try db.execute(sql: migration.sql)
        try db.execute(
            sql: """
                CREATE TABLE IF NOT EXISTS calib_migrations (
                    name TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)
                """)
        try db.execute(
            sql: "INSERT INTO calib_migrations (name, checksum, applied_at) VALUES (?, ?, ?)",
            arguments: [migration.name, checksum(migration.sql), Timestamp.now()])
        try db.execute(sql: "PRAGMA user_version = \(index + 1)")
    }

    /// Refuses a database from a newer calib, then brings an older one up to date.
    ///
    /// GRDB's migrator reads which migrations are applied before taking the write lock, so two
    /// processes creating one database at once both ran `0001` and one failed (`table sessions
    /// already exists`, issue 13 finding 18). Here every missing migration runs in one `IMMEDIATE`
    /// transaction that re-reads what is applied once it holds the lock: a process that waited for
    /// another's migration finds nothing left to do, and a killed process leaves the previous schema.
    static func prepare(_ writer: any DatabaseWriter, path: String) throws {
        let migrator = self.migrator
        let complete = try writer.read { db in
            try refuseNewer(db, migrator: migrator, path: path)
            return try db.tableExists("grdb_migrations") && migrator.hasCompletedMigrations(db)
        }
        if !complete {
            try writer.barrierWriteWithoutTransaction { db in
                // SQLite cannot change foreign_keys inside a transaction (ALTER TABLE needs it off).
                try db.execute(sql: "PRAGMA foreign_keys = OFF")
                defer { try? db.execute(sql: "PRAGMA foreign_keys = ON") }
                try db.inTransaction(.immediate) {
                    try refuseNewer(db, migrator: migrator, path: path)
                    try db.execute(sql: "CREATE TABLE IF NOT EXISTS grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
                    let applied = try migrator.appliedIdentifiers(db)
                    for index in embeddedMigrations.indices where !applied.contains(embeddedMigrations[index].name) {
                        try applyBody(index, db)
                        try db.execute(
                            sql: "INSERT INTO grdb_migrations (identifier) VALUES (?)",
                            arguments: [embeddedMigrations[index].name])
                    }
                    try db.checkForeignKeys()
                    return .commit
                }
            }
        }
        try writer.read { db in try verifyChecksums(db) }
    }

    /// Read-only opening: the schema must already be complete and known.
    static func check(_ reader: any DatabaseReader, path: String, allowOlder: Bool = false) throws {
        let migrator = self.migrator
        try reader.read { db in
            try refuseNewer(db, migrator: migrator, path: path)
            let applied = try db.tableExists("grdb_migrations") ? try migrator.appliedIdentifiers(db) : []
            if applied.count < migrationNames.count && !allowOlder {
                throw StoreError.olderSchema(path: path, applied: applied.count, known: migrationNames.count)
            }
            try verifyChecksums(db)
        }
    }

    private static func refuseNewer(_ db: Database, migrator: DatabaseMigrator, path: String) throws {
        guard try db.tableExists("grdb_migrations") else { return }
        if try migrator.hasBeenSuperseded(db) {
            let unknown = try migrator.appliedIdentifiers(db).subtracting(migrationNames).sorted()
            throw StoreError.newerSchema(path: path, unknown: unknown)
        }
    }

    private static func verifyChecksums(_ db: Database) throws {
        guard try db.tableExists("calib_migrations") else { return }
        let applied = try Dictionary(
            uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT name, checksum FROM calib_migrations").map {
                ($0["name"] as String, $0["checksum"] as String)
            })
        for (name, sql) in embeddedMigrations {
            if let sum = applied[name], sum != checksum(sql) { throw StoreError.migrationChanged(name: name) }
        }
    }
}
