import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An export that could not be written.
public struct OutputError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public init(path: String, errno code: Int32) {
        self.init(path: path, reason: String(cString: strerror(code)) + FileErrors.writeAdvice(code, path: path))
    }

    public var description: String { "cannot write \(path): \(reason)" }
}

/// Where a streamed export goes: standard output; a node that is not a regular file (`/dev/null`,
/// `/dev/stdout`, a FIFO, a terminal), opened and written directly, so the node stays what it was;
/// or a regular file (new, or reached through symlinks, which stay links) that appears whole or not
/// at all: the bytes go to a temporary file beside the file (beside the link's target for a
/// symlink), renamed over it by `commit`, so a failed or interrupted export never leaves half a
/// file. The temporary file is removed on failure, on SIGINT/SIGTERM/SIGHUP (`SignalCleanup`),
/// and, should a process have been killed outright, by the next export to the same file
/// (`removeStaleTemporaries`).
///
/// On Linux a file is written with `O_DIRECT` in 4 MiB blocks where the file system allows it: an
/// export of a gigabyte is read by another tool once, if at all, and filling the page cache with it
/// can cost more system time than rendering it (on the benchmark machine, a VM, 2.5 s for 900 MB of
/// new page-cache pages against 0.5 s straight to the disk).
public final class ExportOutput {
    private let path: String?
    /// The regular file `commit` renames the temporary onto (the symlink's target for a symlink).
    private let target: String?
    private let temporary: String?
    private var cleanupSlot: Int?
    private var fd: Int32
    private var committed = false
    /// Aligned staging for direct writes; nil when writing through the page cache.
    private var block: UnsafeMutableRawPointer?
    /// Whether `fd` still has O_DIRECT.
    private var direct = false
    private var blockCount = 0
    private static let blockSize = 4 << 20
    private static let alignment = 4096

    /// `path` nil writes to standard output.
    public init(path: String?) throws {
        self.path = path
        guard let path else {
            (target, temporary) = (nil, nil)
            fd = STDOUT_FILENO
            return
        }
        switch try ExportTarget.resolve(path) {
        case .node:
            (target, temporary) = (nil, nil)
            fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY)
            if fd < 0 { throw OutputError(path: path, errno: errno) }
        case .descriptor(let n):
            (target, temporary) = (nil, nil)
            fd = fcntl(n, F_DUPFD_CLOEXEC, 0)
            if fd < 0 { throw OutputError(path: path, errno: errno) }
        case .file(let file, let mode):
            let (temporary, fd, slot) = try ExportTarget.createTemporary(beside: file, reportingAs: path, open: Self.openNew)
            (target, self.temporary, self.fd, cleanupSlot) = (file, temporary, fd, slot)
            // A replaced file keeps its permissions.
            if let mode { _ = fchmod(fd, mode) }
            if let directFlag, fcntl(fd, F_GETFL) & directFlag != 0 {
                direct = true
                block = UnsafeMutableRawPointer.allocate(byteCount: Self.blockSize, alignment: Self.alignment)
            }
        }
    }

    /// Opens with `O_DIRECT` where the file system accepts it, else without.
    private static func openNew(_ path: String) -> Int32 {
        let flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC
        if let directFlag {
            let fd = open(path, flags | directFlag, 0o666)
            if fd >= 0 || errno != EINVAL { return fd }
        }
        return open(path, flags, 0o666)
    }

    deinit {
        block?.deallocate()
        if !committed, path != nil {
            close(fd)
            if let temporary { unlink(temporary) }
        }
        if let cleanupSlot { SignalCleanup.unregister(cleanupSlot) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let block else { return try writeAll(bytes) }
        var rest = bytes
        while !rest.isEmpty {
            let n = min(rest.count, Self.blockSize - blockCount)
            (block + blockCount).copyMemory(from: rest.baseAddress!, byteCount: n)
            blockCount += n
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            if blockCount == Self.blockSize { try flushBlock() }
        }
    }

    /// Writes the staged bytes: whole aligned blocks directly, a last partial one through the page
    /// cache (direct writes must be multiples of the alignment).
    private func flushBlock(final: Bool = false) throws {
        guard let block, blockCount > 0 else { return }
        let aligned = blockCount / Self.alignment * Self.alignment
        try writeAll(UnsafeRawBufferPointer(start: block, count: aligned))
        let tail = blockCount - aligned
        if tail > 0 {
            precondition(final, "only the last block is partial")
            dropDirect()
            try writeAll(UnsafeRawBufferPointer(start: block + aligned, count: tail))
        }
        blockCount = 0
    }

    private func dropDirect() {
        guard direct, let directFlag else { return }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~directFlag)
        direct = false
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = systemWrite(fd, p, left)
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                // A file system that opened with O_DIRECT but refuses the write (or a short write left
                // the rest unaligned): the rest through the page cache.
                if code == EINVAL, direct {
                    dropDirect()
                    continue
                }
                throw OutputError(path: path ?? "standard output", errno: code)
            }
            p += n
            left -= n
        }
    }

    /// Puts the file in place (for a node, closes it; nothing to do for standard output).
    public func commit() throws {
        guard let path, !committed else { return }
        try flushBlock(final: true)
        committed = true
        let closed = close(fd)
        guard let temporary, let target else {
            if closed != 0 { throw OutputError(path: path, errno: errno) }
            return
        }
        guard closed == 0, rename(temporary, target) == 0 else {
            let code = errno
            unlink(temporary)
            throw OutputError(path: path, errno: code)
        }
        if let cleanupSlot { SignalCleanup.unregister(cleanupSlot) }
        cleanupSlot = nil
    }
}

/// What an export path names, and the temporary files and directories an export stages beside it.
public enum ExportTarget {
    public enum Kind: Equatable {
        /// A regular file to create or replace atomically: `path`, or the file a symlink (chain) points
        /// to, with the permissions of the file it replaces (nil for a new file).
        case file(String, mode: mode_t?)
        /// Not a regular file (a device, FIFO, socket, terminal): written in place.
        case node
        /// One of this process's open descriptors (`/dev/stdout`, `/dev/fd/N`, `/proc/self/fd/N`, or a
        /// link to one): written through a duplicate of it, so `-o /dev/stdout >> log` appends to the
        /// log as the shell opened it, and `> file` is not replaced under the shell.
        case descriptor(Int32)
    }

    /// The descriptor `path` (or a symlink in its chain) names, if it is one of the process's own.
    static func ownDescriptor(_ path: String) -> Int32? {
        var current = path
        for _ in 0..<40 {
            switch current {
            case "/dev/stdin": return 0
            case "/dev/stdout": return 1
            case "/dev/stderr": return 2
            default: break
            }
            for prefix in ["/dev/fd/", "/proc/self/fd/", "/proc/\(getpid())/fd/"] where current.hasPrefix(prefix) {
                if let n = Int32(current.dropFirst(prefix.count)) { return n }
            }
            var lst = stat()
            guard lstat(current, &lst) == 0, lst.st_mode & S_IFMT == S_IFLNK else { return nil }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(current, &buffer, buffer.count - 1)
            guard n > 0 else { return nil }
            let link = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            current = link.hasPrefix("/") ? link : directory(of: current) + "/" + link
        }
        return nil
    }

    /// Follows symlinks: an existing regular file or a dangling link resolve to the file to write, a
    /// directory is an error, anything else is a node.
    public static func resolve(_ path: String) throws -> Kind {
        if let n = ownDescriptor(path), fcntl(n, F_GETFD) >= 0 { return .descriptor(n) }
        var st = stat()
        if stat(path, &st) == 0 {
            switch st.st_mode & S_IFMT {
            case S_IFDIR: throw OutputError(path: path, reason: "it is a directory (pass a file name)")
            case S_IFREG:
                var lst = stat()
                let linked = lstat(path, &lst) == 0 && lst.st_mode & S_IFMT == S_IFLNK
                return .file(linked ? try realPath(path) : path, mode: st.st_mode & 0o7777)
            default: return .node
            }
        }
        guard errno == ENOENT else { throw OutputError(path: path, errno: errno) }
        // A dangling symlink: create the file it names, keeping the link.
        var current = path
        for _ in 0..<40 {
            var lst = stat()
            guard lstat(current, &lst) == 0, lst.st_mode & S_IFMT == S_IFLNK else { return .file(current, mode: nil) }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(current, &buffer, buffer.count - 1)
            guard n > 0 else { throw OutputError(path: path, errno: errno) }
            let link = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            current = link.hasPrefix("/") ? link : directory(of: current) + "/" + link
        }
        throw OutputError(path: path, errno: ELOOP)
    }

    static func realPath(_ path: String) throws -> String {
        guard let p = realpath(path, nil) else { throw OutputError(path: path, errno: errno) }
        defer { free(p) }
        return String(cString: p)
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func name(of path: String) -> String {
        path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
    }

    /// `.NAME.PID-N.tmp`: hidden, and naming the process that writes it.
    static func temporaryName(for name: String) -> String {
        ".\(name).\(getpid())-\(UInt32.random(in: 0...UInt32.max)).tmp"
    }

    /// Creates a new temporary file beside `file` with `open`, removes what killed exports left there
    /// first, holds an exclusive `flock` on it (how `removeStaleTemporaries` tells a live export from
    /// a dead one) and registers it for removal on a signal.
    static func createTemporary(
        beside file: String, reportingAs path: String, open: (String) -> Int32
    ) throws -> (path: String, fd: Int32, slot: Int) {
        let dir = directory(of: file), name = name(of: file)
        removeStaleTemporaries(in: dir, for: name)
        SignalCleanup.install()
        for _ in 0..<16 {
            let candidate = dir + "/" + temporaryName(for: name)
            // Registered before it exists, so a signal between open and registration leaves nothing.
            let slot = SignalCleanup.register(candidate)
            // 0666 less the umask, as any newly created file.
            let fd = open(candidate)
            if fd >= 0 {
                _ = flock(fd, LOCK_EX | LOCK_NB)
                return (candidate, fd, slot)
            }
            let code = errno
            SignalCleanup.unregister(slot)
            if code != EEXIST { throw OutputError(path: path, errno: code) }
        }
        throw OutputError(path: path, reason: "no temporary file name free beside it")
    }

    /// Removes `.NAME.PID-N.tmp` files and directories in `dir` that an export killed outright
    /// (SIGKILL, a crash, power loss) left behind: those whose process is gone and that no process
    /// holds a lock on. An export in progress (in this or another PID namespace) holds its lock.
    public static func removeStaleTemporaries(in dir: String, for name: String) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        let prefix = ".\(name)."
        for entry in entries where entry.hasPrefix(prefix) && entry.hasSuffix(".tmp") {
            let middle = entry.dropFirst(prefix.count).dropLast(4)
            let parts = middle.split(separator: "-")
            guard parts.count == 2, let pid = Int32(parts[0]), UInt32(parts[1]) != nil, pid != getpid() else { continue }
            guard kill(pid, 0) != 0, errno == ESRCH else { continue }
            let stale = dir + "/" + entry
            let fd = open(stale, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }
            var st = stat()
            guard fstat(fd, &st) == 0 else { continue }
            if st.st_mode & S_IFMT == S_IFDIR {
                try? FileManager.default.removeItem(atPath: stale)
            } else if st.st_mode & S_IFMT == S_IFREG {
                unlink(stale)
            }
        }
    }
}

/// Removes the temporary files and directories of exports in progress when the process is
/// interrupted (SIGINT, SIGTERM, SIGHUP), then dies of the signal as it would have. The handler
/// only calls `unlink`, `rmdir`, `signal` and `raise`, which are async-signal-safe.
public enum SignalCleanup {
    static let capacity = 64
    nonisolated(unsafe) static let slots: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let p = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: capacity)
        p.initialize(repeating: nil, count: capacity)
        return p
    }()
    static let lock = NSLock()
    nonisolated(unsafe) static var installed = false
    static let signals = [SIGINT, SIGTERM, SIGHUP]

    /// Installs the handler (once), except for a signal that is ignored (as SIGHUP under `nohup`).
    public static func install() {
        lock.lock()
        defer { lock.unlock() }
        guard !installed else { return }
        installed = true
        _ = slots
        // A process spawned from a thread that blocks signals (a libdispatch worker, say) inherits
        // that mask, and would then finish or hang uninterruptible: these three are unblocked.
        var set = sigset_t()
        sigemptyset(&set)
        for sig in signals { sigaddset(&set, sig) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        for sig in signals {
            let previous = signal(sig, signalCleanupHandler)
            // SIG_IGN is 1 on Linux and Darwin.
            if let previous, unsafeBitCast(previous, to: Int.self) == 1 { signal(sig, SIG_IGN) }
        }
    }

    /// Registers `path` (a file, or a directory that is removed once empty); returns its slot.
    /// Later registrations are removed first, so a directory's members go before it.
    public static func register(_ path: String) -> Int {
        lock.lock()
        defer { lock.unlock() }
        for i in 0..<capacity where slots[i] == nil {
            slots[i] = strdup(path)
            return i
        }
        return -1
    }

    public static func unregister(_ slot: Int) {
        guard slot >= 0 else { return }
        lock.lock()
        defer { lock.unlock() }
        let p = slots[slot]
        slots[slot] = nil
        free(p)
    }

    /// Signals held off while `body` runs (renaming the members of a directory export into place),
    /// delivered after it.
    public static func deferringSignals<T>(_ body: () throws -> T) rethrows -> T {
        var set = sigset_t(), old = sigset_t()
        sigemptyset(&set)
        for sig in signals { sigaddset(&set, sig) }
        pthread_sigmask(SIG_BLOCK, &set, &old)
        defer { pthread_sigmask(SIG_SETMASK, &old, nil) }
        return try body()
    }
}

/// Files first, then directories (once emptied), whatever their slots.
private func signalCleanupHandler(_ sig: Int32) {
    for pass in 0..<2 {
        for i in 0..<SignalCleanup.capacity {
            guard let p = SignalCleanup.slots[i] else { continue }
            if pass == 0 { unlink(p) } else { rmdir(p) }
        }
    }
    signal(sig, SIG_DFL)
    raise(sig)
}

/// A directory export (`onnxruntime`: calibration.json, .flatbuffers, .cache) written as a set.
///
/// - A directory that does not exist yet is built whole under a temporary name beside it and
///   renamed into place: other processes see all of the members or no directory.
/// - Into an existing directory, every member is first written whole into a temporary directory
///   inside it; only then are they renamed over the old ones, one after the other, with SIGINT,
///   SIGTERM and SIGHUP held off. A write error (a full disk), a refused member or a signal leaves
///   the old set as it was; only SIGKILL or a crash inside those few renames (microseconds) can
///   leave old and new members side by side. A reader that opens the members one by one while
///   an export renames them can see the same mix: ONNX Runtime reads one of them.
/// - A member that exists as a symlink or anything but a regular file is refused (replacing the
///   set cannot keep such a node), naming it.
public enum ExportDirectory {
    public static func write(_ members: [(name: String, data: Data)], to dir: String) throws {
        var st = stat()
        if stat(dir, &st) != 0 {
            guard errno == ENOENT else { throw OutputError(path: dir, errno: errno) }
            return try create(members, at: dir)
        }
        guard st.st_mode & S_IFMT == S_IFDIR else {
            throw OutputError(
                path: dir, reason: "it exists and is not a directory; this format writes a directory: pass -o a directory")
        }
        for (name, _) in members {
            let member = dir + "/" + name
            var lst = stat()
            if lstat(member, &lst) == 0, lst.st_mode & S_IFMT != S_IFREG {
                let what = lst.st_mode & S_IFMT == S_IFLNK ? "a symlink" : "not a regular file"
                throw OutputError(
                    path: member, reason: "it is \(what), and a directory export replaces its members as a set: remove it first")
            }
        }
        let (staging, guardFD, slot) = try makeStaging(in: dir, name: "calib-export", reportingAs: dir)
        defer {
            close(guardFD)
            try? FileManager.default.removeItem(atPath: staging)
            SignalCleanup.unregister(slot)
        }
        try writeMembers(members, into: staging)
        try SignalCleanup.deferringSignals {
            for (name, _) in members where rename(staging + "/" + name, dir + "/" + name) != 0 {
                throw OutputError(path: dir + "/" + name, errno: errno)
            }
        }
    }

    private static func create(_ members: [(name: String, data: Data)], at dir: String) throws {
        let parent = ExportTarget.directory(of: dir)
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        let (staging, guardFD, slot) = try makeStaging(in: parent, name: ExportTarget.name(of: dir), reportingAs: dir)
        var renamed = false
        defer {
            close(guardFD)
            if !renamed { try? FileManager.default.removeItem(atPath: staging) }
            SignalCleanup.unregister(slot)
        }
        try writeMembers(members, into: staging)
        // The directory gets the permissions a new one would have (mkdtemp-like staging is 0700).
        let mask = umask(0)
        umask(mask)
        _ = chmod(staging, 0o777 & ~mask)
        guard rename(staging, dir) == 0 else { throw OutputError(path: dir, errno: errno) }
        renamed = true
    }

    /// A new `.NAME.PID-N.tmp` directory in `dir`, locked (see `ExportTarget.removeStaleTemporaries`)
    /// and registered for removal on a signal.
    private static func makeStaging(in dir: String, name: String, reportingAs path: String) throws -> (String, Int32, Int) {
        ExportTarget.removeStaleTemporaries(in: dir, for: name)
        SignalCleanup.install()
        for _ in 0..<16 {
            let candidate = dir + "/" + ExportTarget.temporaryName(for: name)
            let slot = SignalCleanup.register(candidate)
            if mkdir(candidate, 0o700) == 0 {
                let fd = open(candidate, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                if fd >= 0 { _ = flock(fd, LOCK_EX | LOCK_NB) }
                return (candidate, fd, slot)
            }
            let code = errno
            SignalCleanup.unregister(slot)
            if code != EEXIST { throw OutputError(path: path, errno: code) }
        }
        throw OutputError(path: path, reason: "no temporary directory name free beside it")
    }

    private static func writeMembers(_ members: [(name: String, data: Data)], into staging: String) throws {
        for (name, data) in members {
            let member = staging + "/" + name
            let slot = SignalCleanup.register(member)
            defer { SignalCleanup.unregister(slot) }
            let fd = open(member, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            guard fd >= 0 else { throw OutputError(path: member, errno: errno) }
            var failure: Int32 = 0
            data.withUnsafeBytes { raw in
                var done = 0
                while done < raw.count {
                    let n = systemWrite(fd, raw.baseAddress! + done, raw.count - done)
                    if n < 0 {
                        if errno == EINTR { continue }
                        failure = errno
                        return
                    }
                    done += n
                }
            }
            if close(fd) != 0, failure == 0 { failure = errno }
            if failure != 0 { throw OutputError(path: member, errno: failure) }
        }
    }
}

/// Linux's `O_DIRECT`, which Glibc's Swift module leaves out (a GNU extension); its value depends on
/// the architecture, so other systems and architectures write through the page cache.
#if os(Linux) && arch(x86_64)
private let directFlag: Int32? = 0o40000
#elseif os(Linux) && arch(arm64)
private let directFlag: Int32? = 0o200000
#else
private let directFlag: Int32? = nil
#endif

private func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, p, n)
    #else
    Darwin.write(fd, p, n)
    #endif
}
