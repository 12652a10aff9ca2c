import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where output goes and how it may look: tables and colour only for a person at a terminal,
/// colour never when NO_COLOR is set.
struct Terminal {
    let fd: Int32

    static let standardOutput = Terminal(fd: 1)
    static let standardError = Terminal(fd: 2)

    var isInteractive: Bool { isatty(fd) == 1 }

    /// The terminal's width, when this is a terminal: its window size, else `COLUMNS`.
    var columns: Int? {
        guard isInteractive else { return nil }
        var size = winsize()
        if ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init)
    }

    var useColor: Bool {
        isInteractive && (ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty
    }

    /// The first error writing standard output (errno), which `reportingErrors` turns into a
    /// failure: a report lost to a full disk or a closed stdout must not exit 0.
    nonisolated(unsafe) static var outputError: Int32 = 0

    func write(_ text: String) {
        let data = Data(text.utf8)
        data.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = systemWrite(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 {
                    if fd == STDOUT_FILENO && Self.outputError == 0 { Self.outputError = n < 0 ? errno : EIO }
                    return
                }
                done += n
            }
        }
    }

    func bold(_ s: String) -> String { useColor ? "\u{1B}[1m\(s)\u{1B}[0m" : s }
    func warn(_ s: String) -> String { useColor ? "\u{1B}[33m\(s)\u{1B}[0m" : s }
}

private func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, p, n)
    #else
    Darwin.write(fd, p, n)
    #endif
}
