import CalibMigrations
import CalibModel
import CalibSupport
import Foundation
import GRDB

/// Applies `migrations/*.sql` (embedded at build time) in order, each in its own transaction, and
/// records each one's SHA-256 so an edited migration is detected.
enum Schema {
    /// Names of the embedded migrations, in order. Append-only: a renamed migration would run again.
    static var migrationNames: [String] { embeddedMigrations.map(\.name) }

    static func checksum(_ sql: String) -> String {
        SHA256.hex(sql.utf8)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for (index, migration) in embeddedMigrations.enumerated() {
            migrator.registerMigration(migration.name) { db in
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
        }
        return migrator
    }

    /// Refuses a database from a newer calib, then brings an older one up to date.
    static func prepare(_ writer: any DatabaseWriter, path: String) throws {
        let migrator = self.migrator
        try writer.read { db in try refuseNewer(db, migrator: migrator, path: path) }
        try migrator.migrate(writer)
        try writer.read { db in try verifyChecksums(db) }
    }

    /// Read-only opening: the schema must already be complete and known.
    static func check(_ reader: any DatabaseReader, path: String, allowOlder: Bool = false) throws {
        let migrator = self.migrator
        try reader.read { db in
            try refuseNewer(db, migrator: migrator, path: path)
            let applied = try db.tableExists("grdb_migrations") ? try migrator.appliedIdentifiers(db) : []
            if applied.count < migrationNames.count && !allowOlder {
                throw StoreError.incompatible(
                    session: "-", tensor: nil,
                    "\(path) has an older schema; open it once with `calib run` to upgrade")
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
