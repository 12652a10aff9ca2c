import CalibModel
import CalibSupport
import Foundation
import GRDB

/// The calibration store: one SQLite database (WAL mode) holding any number of sessions.
///
/// Every batch commits in one transaction together with the statistics and encodings it changed,
/// so the database is consistent after any crash and readers in other processes only ever see
/// whole batches.
public final class CalibStore: Sendable {
    /// The most channels one tensor's statistics and encodings can have: each per-channel array is
    /// one BLOB, SQLite refuses values over 1,000,000,000 bytes (SQLITE_MAX_LENGTH), and the widest
    /// array (`offset_array`) takes 8 bytes per channel.
    public static let maximumChannels = 125_000_000

    /// Every access goes through it, so that an SQLite error names this database (`StoreConnection`).
    let writer: StoreConnection
    public let path: String
    /// The database file and its `-wal`/`-shm`; nil in memory.
    let files: DatabaseFiles?

    /// Opens (creating and migrating if needed) the database at `path`.
    /// - Parameter readOnly: open an existing database without writing (for `show`, `export`). Where
    ///   the file and its directory are writable, the connection itself may write, so that SQLite can
    ///   recover the WAL a killed writer left (a read-only connection cannot, and would fail); calib
    ///   never writes through it. On read-only media it opens read-only, and where SQLite cannot
    ///   create the `-shm` there, as an immutable file (`immutable`, without locking).
    /// - Parameter allowOlderSchema: with `readOnly`, accept a database whose migrations are not all
    ///   applied yet (for `check`, which must inspect whatever a killed process left).
    public init(path: String, readOnly: Bool = false, allowOlderSchema: Bool = false) throws {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(30)
        if readOnly {
            guard FileManager.default.fileExists(atPath: path) else { throw StoreError.noDatabase(path: path) }
            let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
            config.readonly = access(path, W_OK) != 0 || access(dir, W_OK) != 0
        }
        var immutable = false
        do {
            try DatabaseFiles.checkBeforeOpening(path)
            var pool: any DatabaseWriter
            do {
                pool = try Self.retryingBusy { try DatabasePool(path: path, configuration: config) }
                if readOnly { try Schema.check(pool, path: path, allowOlder: allowOlderSchema) }
            } catch is DatabaseError where config.readonly && Self.immutableURI(path) != nil {
                pool = try DatabaseQueue(path: Self.immutableURI(path)!, configuration: config)
                try Schema.check(pool, path: path, allowOlder: allowOlderSchema)
                immutable = true
            }
            if !readOnly { try Schema.prepare(pool, path: path) }
            writer = StoreConnection(base: pool, path: path)
        } catch let error as DatabaseError {
            throw StoreError.sqlite(path: path, error)
        }
        isImmutable = immutable
        // After SQLite has opened (or created) them and read through them.
        files = immutable ? nil : DatabaseFiles(openedAt: path)
    }

    /// `body`, retried for up to 30 s (the busy timeout) while SQLite reports the database busy or
    /// locked: switching a new database to WAL takes an exclusive lock that SQLite's busy handler does
    /// not always wait for, so N processes creating one database at once could fail here.
    static func retryingBusy<T>(_ body: () throws -> T) throws -> T {
        let deadline = Date().addingTimeInterval(30)
        while true {
            do {
                return try body()
            } catch let error as DatabaseError
                where (error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED) && Date() < deadline
            {
                usleep(20_000)
            }
        }
    }

    /// True when the database was opened as an immutable file: on read-only media whose `-shm` SQLite
    /// cannot create. Nothing guards it against a concurrent writer then (there can be none there).
    public let isImmutable: Bool

    /// `file:PATH?immutable=1`, where SQLite reads URIs.
    private static func immutableURI(_ path: String) -> String? {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        guard let escaped = absolute.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["?", "#", "%"]))
        else { return nil }
        return "file:\(escaped)?immutable=1"
    }

    /// A private in-memory store, for tests and previews.
    public init() throws {
        path = ":memory:"
        let queue = try DatabaseQueue()
        writer = StoreConnection(base: queue, path: path)
        files = nil
        isImmutable = false
        try Schema.prepare(queue, path: path)
    }

    /// One write transaction, then the check that it went to the files other processes see: when the
    /// `-wal` or `-shm` was deleted or replaced meanwhile, what this process committed is checkpointed
    /// into the main file and the write is reported as failed (see `DatabaseFiles`).
    func write<T>(_ updates: (Database) throws -> T) throws -> T {
        let result = try naming { try writer.write(updates) }
        try verifyFiles()
        return result
    }

    /// `body`, with a stored value calib cannot read reported as `StoreError.unreadable` (the
    /// database, session and tensor named) instead of a bare `BadValue`.
    func naming<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let bad as BadValue {
            throw StoreError.unreadable(path: path, session: bad.session ?? "?", tensor: bad.tensor, bad.message)
        }
    }

    func verifyFiles() throws {
        guard let files else { return }
        do {
            try files.verify()
        } catch {
            try? writer.writeWithoutTransaction { db in _ = try db.checkpoint(.full) }
            throw error
        }
    }

    /// Refuses `output` when it is this database or its `-wal`/`-shm` (compared as files: a symlink
    /// or another spelling of the path is caught too), so an export can never replace the store.
    public func refuseOverwriting(_ output: String) throws {
        if let files, files.contains(output) { throw StoreError.outputIsDatabase(output: output, database: path) }
    }

    /// The migrations this database has applied, in order.
    public func appliedMigrations() throws -> [String] {
        try writer.read { db in try db.tableExists("grdb_migrations") ? Schema.migrator.appliedMigrations(db) : [] }
    }

    /// The number of migrations this calib knows: the schema version it writes.
    public static var schemaVersion: Int { Schema.migrationNames.count }

    /// A schema as the README and migrations/ number it: the number of the newest of `migrations`
    /// (`0008_batch_origin` is schema 8; 0004 was never released, so this is not their count).
    public static func schemaNumber(_ migrations: [String]) -> Int {
        migrations.last.flatMap { Int($0.prefix { $0.isNumber }) } ?? 0
    }

    /// The schema this calib writes, numbered as `schemaNumber` numbers it.
    public static var latestSchema: Int { schemaNumber(Schema.migrationNames) }
}
