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

/// Where a streamed export goes: standard output, or a file that appears whole or not at all (the
/// bytes go to a temporary file beside it, renamed over it by `commit`), so a failed or interrupted
/// export never leaves half a file.
///
/// On Linux a file is written with `O_DIRECT` in 4 MiB blocks where the file system allows it: an
/// export of a gigabyte is read by another tool once, if at all, and filling the page cache with it
/// can cost more system time than rendering it (on the benchmark machine, a VM, 2.5 s for 900 MB of
/// new page-cache pages against 0.5 s straight to the disk).
public final class ExportOutput {
    private let path: String?
    private let temporary: String?
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
            temporary = nil
            fd = STDOUT_FILENO
            return
        }
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        var opened: (String, Int32)?
        for _ in 0..<16 {
            let candidate = "\(dir)/.\(url.lastPathComponent).\(getpid())-\(UInt32.random(in: 0...UInt32.max)).tmp"
            // 0666 less the umask, as any newly created file.
            let fd = Self.openNew(candidate)
            if fd >= 0 {
                opened = (candidate, fd)
                break
            }
            if errno != EEXIST { throw OutputError(path: path, errno: errno) }
        }
        guard let opened else { throw OutputError(path: path, reason: "no temporary file name free beside it") }
        (temporary, fd) = opened
        if let directFlag, fcntl(fd, F_GETFL) & directFlag != 0 {
            direct = true
            block = UnsafeMutableRawPointer.allocate(byteCount: Self.blockSize, alignment: Self.alignment)
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
        if let temporary, !committed {
            close(fd)
            unlink(temporary)
        }
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

    /// Puts the file in place (nothing to do for standard output).
    public func commit() throws {
        guard let path, let temporary, !committed else { return }
        try flushBlock(final: true)
        committed = true
        let closed = close(fd)
        guard closed == 0, rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw OutputError(path: path, errno: code)
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
