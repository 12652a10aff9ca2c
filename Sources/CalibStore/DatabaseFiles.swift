import CalibModel
import CalibSupport
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The three files of a WAL-mode SQLite database, and the hazard they share: SQLite finds a
/// database's `-wal` and `-shm` by name, so a process that opens the database after they were
/// deleted creates new ones and works on its own copy, while processes that had it open go on with
/// the deleted ones. Each side's commits then overwrite the other's when checkpointed: work that was
/// reported as committed disappears (issue 13, finding 2).
///
/// calib guards both sides. Before opening, it refuses to create a new `-wal`/`-shm` while another
/// process still holds the database open (SQLite keeps a shared lock on the main file for as long as
/// a WAL-mode connection is open). After every write transaction, it checks that the `-wal` and
/// `-shm` at those names are still the files it opened; when they are not, the write is reported as
/// failed, and what it committed is checkpointed into the main file while this process still can.
struct DatabaseFiles: Sendable {
    let path: String
    /// The identities of `-wal` and `-shm` right after opening; nil where there was none.
    private let wal: FileIdentity?
    private let shm: FileIdentity?

    var walPath: String { path + "-wal" }
    var shmPath: String { path + "-shm" }
    /// The database and its companions, as paths.
    var all: [String] { [path, walPath, shmPath] }

    /// Refuses to open `path` when its `-wal` or `-shm` is missing while another process has the
    /// database open. Waits briefly first: a process opening a new database holds the lock a moment
    /// before SQLite creates the two files.
    static func checkBeforeOpening(_ path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        for attempt in 0..<20 {
            let missing = [path + "-wal", path + "-shm"].filter { !FileManager.default.fileExists(atPath: $0) }
            guard !missing.isEmpty, let holder = lockHolder(path) else { return }
            if attempt == 19 {
                throw StoreError.companionsMissing(path: path, missing: missing, holder: holder)
            }
            usleep(50_000)
        }
    }

    /// Records the identities of the companions SQLite has just opened.
    init(openedAt path: String) {
        self.path = path
        wal = FileIdentity(path: path + "-wal")
        shm = FileIdentity(path: path + "-shm")
    }

    /// Throws when `-wal` or `-shm` is no longer the file this process opened.
    func verify() throws {
        for (name, opened) in [(walPath, wal), (shmPath, shm)] {
            guard let opened else { continue }
            let now = FileIdentity(path: name)
            if now != opened { throw StoreError.companionReplaced(path: path, file: name, deleted: now == nil) }
        }
    }

    /// True when `candidate` is the database or one of its companions (as files, not as strings).
    func contains(_ candidate: String) -> Bool {
        guard let id = FileIdentity(path: candidate) else { return false }
        return all.contains { FileIdentity(path: $0) == id }
    }

    /// The pid of a process holding SQLite's shared lock on the main file, if any (this process's own
    /// locks are not reported: they cannot conflict with it).
    ///
    /// The probe opens and closes the file, and closing any descriptor of a file drops every POSIX
    /// lock this process holds on it, SQLite's included; so it runs only when a companion is missing,
    /// which no open connection of this process allows.
    private static func lockHolder(_ path: String) -> pid_t? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        // SQLite's lock bytes (os_unix.c): PENDING_BYTE at 1 GiB, RESERVED after it, then the 510
        // bytes of the SHARED range.
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = 0x4000_0000 + 2
        lock.l_len = 510
        guard fcntl(fd, F_GETLK, &lock) == 0, lock.l_type != Int16(F_UNLCK) else { return nil }
        return lock.l_pid
    }
}
