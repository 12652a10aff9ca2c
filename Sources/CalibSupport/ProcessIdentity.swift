import Foundation

/// Which process writes a session, precisely enough to tell later whether it is still alive.
///
/// A pid alone is reused; the pid with the process's start time (in clock ticks since boot) names
/// one process for the life of one boot of one host, and the pid namespace tells a container's pid
/// 7 from the host's. A `calib run` killed with SIGKILL cannot mark its session: readers compare the
/// stored identity with the live process table instead (`isGone`).
public struct ProcessIdentity: Sendable, Equatable, Codable {
    public var pid: Int32
    /// `/proc/PID/stat` field 22; 0 where /proc is absent.
    public var startTicks: UInt64
    public var host: String
    /// `/proc/sys/kernel/random/boot_id`.
    public var bootID: String
    /// The inode of `/proc/self/ns/pid`: pids are only comparable inside one namespace.
    public var pidNamespace: UInt64

    public init(pid: Int32, startTicks: UInt64, host: String, bootID: String, pidNamespace: UInt64) {
        self.pid = pid
        self.startTicks = startTicks
        self.host = host
        self.bootID = bootID
        self.pidNamespace = pidNamespace
    }

    enum CodingKeys: String, CodingKey {
        case pid, host
        case startTicks = "start_ticks"
        case bootID = "boot_id"
        case pidNamespace = "pid_namespace"
    }

    /// This process.
    public static let current: ProcessIdentity = {
        let pid = getpid()
        return ProcessIdentity(
            pid: pid, startTicks: startTicks(of: pid) ?? 0, host: ProcessInfo.processInfo.hostName, bootID: bootID(),
            pidNamespace: pidNamespace())
    }()

    /// True when this identity's process has certainly ended: same host, boot and pid namespace as
    /// this process, and no process with that pid and start time exists. False when alive, and when
    /// it cannot be told (another host or namespace, no /proc).
    public var isGone: Bool {
        let here = Self.current
        guard host == here.host, pidNamespace == here.pidNamespace, here.startTicks != 0 else { return false }
        if bootID != here.bootID { return !bootID.isEmpty && !here.bootID.isEmpty }  // rebooted since
        guard let ticks = Self.startTicks(of: pid) else { return true }
        return ticks != startTicks
    }

    static func startTicks(of pid: Int32) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")  // the command name may hold spaces and parentheses
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the name: state is field 3, so starttime (field 22) is the 20th.
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    static func bootID() -> String {
        ((try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func pidNamespace() -> UInt64 {
        var st = stat()
        return stat("/proc/self/ns/pid", &st) == 0 ? UInt64(st.st_ino) : 0
    }
}
