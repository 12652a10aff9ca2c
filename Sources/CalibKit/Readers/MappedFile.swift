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

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }

    static func lastError() -> String { String(cString: strerror(errno)) }
}
