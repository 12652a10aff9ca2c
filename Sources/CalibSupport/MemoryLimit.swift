#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How much memory calib can still take, and which limit says so: inputs that must be read into
/// memory (deflated npz members, stdin frames) are refused with this in the message before any of
/// it is allocated, instead of dying in malloc or at the hands of the OOM killer.
public struct MemoryLimit: Sendable, Equatable, CustomStringConvertible {
    public let bytes: Int
    /// What sets it, for messages: "this machine's memory", "the cgroup memory limit", …
    public let source: String

    public init(bytes: Int, source: String) {
        self.bytes = bytes
        self.source = source
    }

    public var description: String { "\(bytes) bytes, \(source)" }

    /// The hard ceilings: physical memory, the cgroup's limit, the address-space limit (`ulimit -v`).
    public static func ceiling() -> MemoryLimit {
        var limits = [MemoryLimit(bytes: physical, source: "this machine's memory")]
        if let cgroup = cgroup() { limits.append(MemoryLimit(bytes: cgroup.limit, source: "the cgroup memory limit")) }
        if let space = addressSpace() { limits.append(MemoryLimit(bytes: space, source: "the address-space limit (ulimit -v)")) }
        return limits.min { $0.bytes < $1.bytes }!
    }

    /// What is left now: the machine's available memory (MemAvailable), the cgroup's limit less its
    /// usage, the address-space limit less the process's size; never more than `ceiling()`.
    public static func available() -> MemoryLimit {
        var limits = [ceiling()]
        if let free = meminfoAvailable() {
            limits.append(MemoryLimit(bytes: free, source: "the memory available on this machine"))
        }
        if let cgroup = cgroup(), let usage = cgroup.usage {
            limits.append(MemoryLimit(bytes: Swift.max(0, cgroup.limit - usage), source: "what the cgroup memory limit leaves"))
        }
        if let space = addressSpace(), let size = processSize() {
            limits.append(
                MemoryLimit(bytes: Swift.max(0, space - size), source: "what the address-space limit (ulimit -v) leaves"))
        }
        return limits.min { $0.bytes < $1.bytes }!
    }

    static var physical: Int { Int(sysconf(Int32(_SC_PHYS_PAGES))) &* Int(sysconf(Int32(_SC_PAGESIZE))) }

    static func addressSpace() -> Int? {
        var limit = rlimit()
        #if canImport(Glibc)
        guard getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) == 0 else { return nil }
        #else
        guard getrlimit(RLIMIT_AS, &limit) == 0 else { return nil }
        #endif
        // RLIM_INFINITY is all ones.
        return limit.rlim_cur >= rlim_t(Int.max) ? nil : Int(limit.rlim_cur)
    }

    /// cgroup v2 (`memory.max`/`memory.current`) or v1 (`memory.limit_in_bytes`/`usage_in_bytes`) of
    /// the cgroup namespace root, which is the container's own cgroup.
    static func cgroup() -> (limit: Int, usage: Int?)? {
        for (limitFile, usageFile) in [
            ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
            ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
        ] {
            guard let text = contents(of: limitFile), let limit = Int(text) else { continue }
            if limit >= 1 << 62 { return nil }  // v1 writes "no limit" as a huge number, v2 as "max"
            return (limit, contents(of: usageFile).flatMap { Int($0) })
        }
        return nil
    }

    static func meminfoAvailable() -> Int? {
        guard let text = contents(of: "/proc/meminfo", maximum: 1 << 14) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ")
            if fields.count >= 2, let kib = Int(fields[1]) { return kib * 1024 }
        }
        return nil
    }

    /// The process's virtual size (what RLIMIT_AS counts), from /proc/self/statm.
    static func processSize() -> Int? {
        guard let text = contents(of: "/proc/self/statm"), let pages = text.split(separator: " ").first.flatMap({ Int($0) })
        else {
            return nil
        }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// A small text file's contents, trimmed; nil when it cannot be read.
    static func contents(of path: String, maximum: Int = 256) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: maximum)
        var total = 0
        while total < maximum {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + total, maximum - total) }
            if n <= 0 { break }
            total += n
        }
        let text = String(decoding: buffer[..<total], as: UTF8.self)
        return String(text.drop { $0 == " " || $0 == "\n" }.reversed().drop { $0 == " " || $0 == "\n" }.reversed())
    }
}
