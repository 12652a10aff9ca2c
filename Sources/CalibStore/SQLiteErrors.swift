import Foundation
import GRDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The store's database connection, through which every read and write passes so that an SQLite
/// error reaches the user as a `StoreError` naming the database file and saying what to do, never
/// as a bare `SQLite error 26` with the statement that failed (issue 13, finding 20).
struct StoreConnection: Sendable {
    let base: any DatabaseWriter
    let path: String

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try naming { try base.read(body) }
    }

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        try naming { try base.write(body) }
    }

    func writeWithoutTransaction<T>(_ body: (Database) throws -> T) throws -> T {
        try naming { try base.writeWithoutTransaction(body) }
    }

    func barrierWriteWithoutTransaction<T>(_ body: (Database) throws -> T) throws -> T {
        try naming { try base.barrierWriteWithoutTransaction(body) }
    }

    private func naming<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError {
            throw StoreError.sqlite(path: path, error)
        }
    }
}

extension StoreError {
    /// An SQLite error as the user can act on it: what it means for `path`, and what to do. The SQL
    /// statement that failed is left out (it says nothing to a user and can be a whole migration).
    static func sqlite(path: String, _ error: DatabaseError) -> StoreError {
        let code = error.resultCode.primaryResultCode
        let detail = "SQLite error \(error.resultCode.rawValue): \(error.message ?? "\(code)")"
        let advice: String
        switch code {
        case .SQLITE_CANTOPEN: advice = cannotOpen(path)
        case .SQLITE_NOTADB:
            advice =
                "the file is not a calib database (not SQLite, or damaged or encrypted); pass the calibration database with "
                + "--db (or CALIB_DB), or move this file away and re-run to create a new one"
        case .SQLITE_CORRUPT: return .damaged(path: path, detail: detail)
        case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_AUTH:
            advice =
                "calib may not write the database: give write permission on \(path) and its directory (SQLite creates "
                + "\(path)-wal and -shm beside it), or use a read command (show, export, sessions), which open it read-only"
        case .SQLITE_FULL:
            advice =
                "the disk holding the database is full: free space and re-run the same command (batches committed so far "
                + "are kept and skipped)"
        case .SQLITE_LOCKED:
            advice = "a table was locked by another statement of this process, which is a calib bug: retry, and report it"
        case .SQLITE_BUSY:
            advice =
                "another process held the database locked for more than 30 s; retry once it has finished "
                + "(see `calib sessions` for running sessions)"
        case .SQLITE_IOERR:
            advice =
                "reading or writing the file failed (disk, network file system or a file changed underneath); check the "
                + "disk, then run `calib check --db \(path)`"
        case .SQLITE_NOMEM: advice = "SQLite ran out of memory; free memory and retry"
        default: advice = "run `calib check --db \(path)`; if it reports problems, restore a backup"
        }
        return .sqlite(path: path, message: "\(advice) (\(detail))")
    }

    /// Why SQLite could not open `path`, told from the file system.
    private static func cannotOpen(_ path: String) -> String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            return "this is a directory, not a database file: pass --db a file path (it is created if missing)"
        }
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        if !FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory) {
            return "the directory \(dir) does not exist: create it, or pass --db a path in an existing directory"
        }
        if !isDirectory.boolValue { return "\(dir) is not a directory: pass --db a path in a directory" }
        if FileManager.default.fileExists(atPath: path) {
            if access(path, R_OK) != 0 { return "calib may not read the file: give read permission, or pass another --db" }
        } else if access(dir, W_OK) != 0 {
            return "calib may not create files in \(dir): give write permission there, or pass --db a path elsewhere"
        }
        return "check that the path names a file calib may read and write, in a directory it may write"
    }
}
