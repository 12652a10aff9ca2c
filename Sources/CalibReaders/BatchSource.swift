import CalibModel
import CalibSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One batch-to-be: what an input path expands to, before any of its bytes are read.
///
/// Expansion only lists directories, so a run over thousands of batch files starts at once and
/// reads each file when its turn comes.
enum BatchSource {
    case safetensors(path: String)
    case npy(path: String)
    case npz(path: String)
    /// A directory of .npy files and nothing else: one batch, one tensor per file (name order).
    case npyDirectory(path: String, files: [String])
    /// Safetensors frames on a file descriptor: one batch per frame.
    case stream(SafetensorsFrameStream)

    /// Expands one command-line input, in order: a batch file, `-` for standard input, or a directory.
    static func expand(input: String, standardInput: Int32) throws -> [BatchSource] {
        if input == "-" { return [.stream(SafetensorsFrameStream(fileDescriptor: standardInput))] }
        switch kind(of: input) {
        case nil:
            var info = stat()
            let missing = errno == ENOENT && lstat(input, &info) != 0
            throw InputError(file: input, missing ? "no such file or directory" : unreachable(input))
        case .directory(let id)?:
            let sources = try expand(directory: input, ancestors: [id])
            guard !sources.isEmpty else {
                throw InputError(file: input, "the directory holds no tensors (no .safetensors, .npy or .npz files)")
            }
            return sources
        case .file?:
            guard let source = file(input) else {
                throw InputError(
                    file: input,
                    "unknown input type: expected a .safetensors, .npy or .npz file, a directory, or - for standard input")
            }
            return [source]
        case .other?:
            throw InputError(file: input, "not a regular file or directory")
        }
    }

    /// A directory of only .npy files is one batch; any other expands to its batch files and
    /// subdirectories in byte-wise name order, recursively. Hidden entries and other files are skipped.
    /// `ancestors` are the directories being expanded, so a symbolic link back up the tree is skipped.
    /// An entry that cannot be reached (a dangling link, a link loop) or one named like a batch file
    /// that is not a regular file (a FIFO) is an error naming it, as it is when given directly.
    private static func expand(directory: String, ancestors: Set<DirectoryID>) throws -> [BatchSource] {
        // Batch files and subdirectories, interleaved in name order as a listing shows them.
        var entries: [(path: String, directory: DirectoryID?)] = []
        for name in try children(of: directory) {
            let path = join(directory, name)
            switch kind(of: path) {
            case .directory(let id)? where !ancestors.contains(id): entries.append((path, id))
            case .file? where file(path) != nil: entries.append((path, nil))
            case nil:
                // A link that leads nowhere may have been a batch file or directory: never drop it unseen.
                throw InputError(file: path, unreachable(path))
            case .other? where file(path) != nil:
                throw InputError(
                    file: path, "is named like a batch file but is \(nodeType(path)), not a regular file; remove or rename it")
            default: break
            }
        }
        if !entries.isEmpty && entries.allSatisfy({ $0.directory == nil && $0.path.hasSuffix(".npy") }) {
            return [.npyDirectory(path: directory, files: entries.map(\.path))]
        }
        return try entries.flatMap { entry in
            guard let id = entry.directory else { return file(entry.path).map { [$0] } ?? [] }
            return try expand(directory: entry.path, ancestors: ancestors.union([id]))
        }
    }

    /// The batch source for a file path with a known extension.
    private static func file(_ path: String) -> BatchSource? {
        if path.hasSuffix(".safetensors") { return .safetensors(path: path) }
        if path.hasSuffix(".npy") { return .npy(path: path) }
        if path.hasSuffix(".npz") { return .npz(path: path) }
        return nil
    }

    /// Non-hidden entry names in byte-wise order (not locale or Unicode order, so it is the same everywhere).
    private static func children(of directory: String) throws -> [String] {
        guard let handle = opendir(directory) else {
            throw InputError(file: directory, "cannot list the directory: \(MappedFile.lastError())")
        }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if !name.hasPrefix(".") { names.append(name) }
        }
        return names.sorted(by: byteOrder)
    }

    private static func byteOrder(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

    private static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// A directory's identity, whatever path (or link) reaches it.
    private struct DirectoryID: Hashable {
        let device: UInt64
        let inode: UInt64
    }

    private enum Kind {
        case file
        case directory(DirectoryID)
        case other
    }

    /// Why `path`, listed in a directory, cannot be reached (right after `kind(of:)` returned nil).
    private static func unreachable(_ path: String) -> String {
        let code = errno
        var info = stat()
        let isLink = lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK
        guard isLink else { return "cannot access: \(String(cString: strerror(code)))" }
        if code == ELOOP { return "is a symbolic link loop; remove the link or point it at a batch" }
        var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &target, target.count - 1)
        let to = n >= 0 ? " to '\(String(decoding: target[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self))'" : ""
        if code == ENOENT { return "is a dangling symbolic link\(to); remove it or restore its target" }
        return "is a symbolic link\(to) that cannot be followed: \(String(cString: strerror(code)))"
    }

    /// "a FIFO", "a socket", … for messages.
    private static func nodeType(_ path: String) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { return "not accessible" }
        switch info.st_mode & S_IFMT {
        case S_IFIFO: return "a FIFO"
        case S_IFSOCK: return "a socket"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFDIR: return "a directory"
        default: return "a special file"
        }
    }

    /// What `path` is, following symbolic links; nil when it does not exist.
    private static func kind(of path: String) -> Kind? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .directory(DirectoryID(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)))
        default: return .other
        }
    }
}
