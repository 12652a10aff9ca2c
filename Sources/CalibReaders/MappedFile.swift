import CalibModel
import CalibSupport

#if canImport(CKernels)
import CKernels  // the SIGBUS guard (the fuzz build, without the C kernels, has a stub)
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory.
///
/// Tensors read from a file point straight into the mapping (the file is the storage of their
/// `TensorData`), so a batch of many gigabytes costs page-cache pages, not heap copies. The
/// mapping lives as long as any tensor that keeps this object alive.
final class MappedFile: @unchecked Sendable {
    let path: String
    /// The file's bytes; empty (with a nil base address) for an empty file, which mmap refuses.
    let bytes: UnsafeRawBufferPointer

    /// The file as it was when mapped, before any byte was read: `checkUnchanged()` compares with it.
    let snapshot: Snapshot

    init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw InputError(file: path, "cannot open: \(MappedFile.lastError())") }
        defer { close(fd) }

        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw InputError(file: path, "cannot stat: \(MappedFile.lastError())")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw InputError(file: path, "not a regular file")
        }
        // File times advance in clock ticks (a few ms): a write in the tick the file was last
        // changed in would leave them as they are. Wait until that tick is past, then look again.
        let wait = Snapshot(info).untilSettled
        if wait > 0 {
            usleep(UInt32(wait / 1000))
            guard fstat(fd, &info) == 0 else { throw InputError(file: path, "cannot stat: \(MappedFile.lastError())") }
        }
        snapshot = Snapshot(info)
        let size = Int(info.st_size)
        guard size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let address, address != MAP_FAILED else {
            throw InputError(file: path, "cannot map \(size) bytes: \(MappedFile.lastError())")
        }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    /// Drops the pages that lie wholly inside `range` from this process's resident set. The page
    /// cache keeps them, and the next read faults them back in unchanged (the mapping is read-only),
    /// so a run's memory holds what it is reading now rather than every page of every batch it has
    /// touched. Pages shared with a neighbouring range are kept.
    func release(_ range: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, let start = range.baseAddress, !range.isEmpty else { return }
        let page = MappedFile.pageSize
        let lo = (Int(bitPattern: start) + page - 1) / page * page
        let hi = (Int(bitPattern: start) + range.count) / page * page
        let fileEnd = Int(bitPattern: base) + bytes.count
        // The file's last partial page is wholly ours too.
        let end = Int(bitPattern: start) + range.count == fileEnd ? (fileEnd + page - 1) / page * page : hi
        guard end > lo else { return }
        _ = madvise(UnsafeMutableRawPointer(bitPattern: lo), end - lo, MADV_DONTNEED)
    }

    /// Feeds the whole file to `hasher`, releasing the pages behind it as it goes.
    func feed(_ hasher: ContentHasher) {
        var offset = 0, released = 0
        while offset < bytes.count {
            let window = UnsafeRawBufferPointer(rebasing: bytes[offset..<Swift.min(bytes.count, offset + MappedFile.hashWindow)])
            hasher.update(window)
            offset += window.count
            released = releaseBlocks(from: released, to: offset)
        }
    }

    /// Releases the file's bytes from offset `from` (returned by the previous call, 0 at first) up
    /// to `to`, in whole 2 MiB blocks of address space and at least `releaseBatch` bytes at a time
    /// (all of the rest once `to` is the end): the page cache maps large folios with 2 MiB pages,
    /// and dropping part of one splits it (a page-table rewrite and a TLB flush on every core), which
    /// cost more than the hashing. Returns where the released bytes end.
    func releaseBlocks(from: Int, to: Int) -> Int {
        guard let base = bytes.baseAddress, to > from else { return from }
        var end = to
        if to < bytes.count {
            let address = Int(bitPattern: base) + to
            end = address / MappedFile.hugePage * MappedFile.hugePage - Int(bitPattern: base)
            guard end - from >= MappedFile.releaseBatch else { return from }
        }
        release(UnsafeRawBufferPointer(rebasing: bytes[from..<end]))
        return end
    }

    /// What identifies the file's content without reading it: a write, truncation or replacement
    /// changes at least one field.
    struct Snapshot: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modified: Int64
        var changed: Int64

        /// Nanoseconds of the coarsest file-time granularity we allow for (jiffies at HZ=100 are 10 ms).
        static let tick: Int64 = 20_000_000

        init(_ info: stat) {
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
            size = Int64(info.st_size)
            #if canImport(Darwin)
            modified = Int64(info.st_mtimespec.tv_sec) * 1_000_000_000 + Int64(info.st_mtimespec.tv_nsec)
            changed = Int64(info.st_ctimespec.tv_sec) * 1_000_000_000 + Int64(info.st_ctimespec.tv_nsec)
            #else
            modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
            changed = Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
            #endif
        }

        /// Nanoseconds until a tick has passed since the file last changed (0 when it has; at most
        /// one tick, also for times in the future): a write before then might not move the times.
        var untilSettled: Int64 {
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            let t = Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
            return Swift.min(Self.tick, Swift.max(0, Swift.max(modified, changed) + Self.tick - t))
        }
    }

    /// Throws, naming the file, when it is no longer what was mapped: then the bytes hashed and the
    /// bytes observed may differ, and the batch must not be stored under either.
    func checkUnchanged() throws {
        var info = stat()
        let now = stat(path, &info) == 0 ? Snapshot(info) : nil
        guard now != snapshot else { return }
        let what: String
        if let now {
            if now.device != snapshot.device || now.inode != snapshot.inode {
                what = "was replaced by another file"
            } else if now.size != snapshot.size {
                what = "\(now.size < snapshot.size ? "shrank" : "grew") from \(snapshot.size) to \(now.size) bytes"
            } else {
                what = "was written to"
            }
        } else {
            what = "was removed"
        }
        throw InputError(
            file: path,
            "changed while it was read (it \(what)); nothing from it was stored. Run again once the file is complete")
    }

    /// Runs `body`, which reads this mapping, so that a truncation of the file by another process
    /// meanwhile (a read beyond its new end raises SIGBUS) becomes an error naming the file instead
    /// of killing the process.
    func guarded<T>(_ body: () throws -> T) throws -> T {
        let saved = ck_guard_begin(bytes.baseAddress, bytes.count)
        let result = Result { try body() }
        if ck_guard_end(saved) != 0 {
            try checkUnchanged()
            throw InputError(file: path, "changed while it was read (it shrank); nothing from it was stored")
        }
        return try result.get()
    }

    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
    /// Bytes hashed between two releases: large enough that madvise costs nothing, small enough to stay in L2.
    static let hashWindow = 1 << 20
    /// The page size of a PMD mapping (x86-64 and arm64 with 4 KiB base pages).
    static let hugePage = 2 << 20
    /// The fewest bytes released at once: each release flushes the TLB of every core running the process.
    static let releaseBatch = 8 << 20

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }

    static func lastError() -> String { String(cString: strerror(errno)) }
}

extension TensorData {
    /// Drops `bytes` (part of this tensor) from the process's resident set when they lie in a file
    /// mapping; heap storage (stdin frames, inflated npz members) is kept as it is.
    public func releasePages(_ bytes: UnsafeRawBufferPointer) {
        (storage as? MappedFile)?.release(bytes)
    }
}
