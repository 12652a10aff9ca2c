import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The real `calib` executable, run as a user runs it: wall clock and the peak resident set of the
/// child alone, which an in-process measurement cannot give.
enum Subprocess {
    struct Result {
        var status: Int32
        var seconds: Double
        /// Peak resident set of the child (`ru_maxrss`), MiB.
        var peakMiB: Double
        var stderr: String
    }

    /// `calib`, next to this benchmark in the build directory.
    static var calib: String? {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let path = dir.appendingPathComponent("calib").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    /// GNU time (Debian package `time`) reports its child's peak RSS. Our own `wait4` cannot: posix_spawn
    /// starts the child in this process's address space (vfork), and Linux folds that address
    /// space's high-water mark into the child's `ru_maxrss` at exec, so a child of a benchmark holding
    /// 100 MiB would never show less. GNU time is small, so the same effect on its child is negligible.
    static let gnuTime = FileManager.default.isExecutableFile(atPath: "/usr/bin/time") ? "/usr/bin/time" : nil

    /// Runs `executable` with `arguments`, stdout to /dev/null, stderr captured to a file. `peakMiB`
    /// is NaN without GNU time.
    static func run(_ executable: String, _ arguments: [String]) throws -> Result {
        let tmp = FileManager.default.temporaryDirectory.path
        let errPath = tmp + "/calib-bench-stderr-\(getpid())", rssPath = tmp + "/calib-bench-rss-\(getpid())"
        defer {
            unlink(errPath)
            unlink(rssPath)
        }
        let (program, args) =
            gnuTime.map { ($0, ["-f", "%M", "-o", rssPath, executable] + arguments) } ?? (executable, arguments)
        let result = try spawn(program, args, stderr: errPath)
        guard gnuTime != nil else {
            return Result(status: result.status, seconds: result.seconds, peakMiB: .nan, stderr: result.stderr)
        }
        let text = (try? String(contentsOfFile: rssPath, encoding: .utf8)) ?? ""
        let kib = text.split(whereSeparator: \.isNewline).last.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) } ?? .nan
        return Result(status: result.status, seconds: result.seconds, peakMiB: kib / 1024, stderr: result.stderr)
    }

    private static func spawn(
        _ executable: String, _ arguments: [String], stderr errPath: String
    ) throws -> (status: Int32, seconds: Double, stderr: String) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let t = now()
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let seconds = now() - t
        let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exit, seconds, (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
