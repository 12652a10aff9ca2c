import CalibModel
import CalibSupport

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

    /// Feeds the whole file to `hasher`, releasing each window of pages once it is hashed.
    func feed(_ hasher: ContentHasher) {
        var offset = 0
        while offset < bytes.count {
            let window = UnsafeRawBufferPointer(rebasing: bytes[offset..<Swift.min(bytes.count, offset + MappedFile.hashWindow)])
            hasher.update(window)
            release(window)
            offset += window.count
        }
    }

    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
    /// Bytes hashed between two releases: large enough that madvise costs nothing, small enough to stay in L2.
    static let hashWindow = 1 << 20

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
