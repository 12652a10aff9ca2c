import CalibKit
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Monotonic seconds.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// The fastest of `reps` runs of `body`, after one warm-up run. A body slower than `slow` seconds
/// is run once only (its first run is the figure).
func best(_ reps: Int, slow: Double = .infinity, _ body: () throws -> Void) rethrows -> Double {
    let t0 = now()
    try body()
    let first = now() - t0
    if first > slow { return first }
    var fastest = Double.infinity
    for _ in 0..<reps {
        let t = now()
        try body()
        fastest = min(fastest, now() - t)
    }
    return fastest
}

/// Keeps results alive so no measured call can be optimised away.
nonisolated(unsafe) var sink: [Float] = []

/// Anonymous memory, touched once so no page fault is timed; with transparent huge pages requested
/// for it (numpy does the same for large arrays) or with plain 4 KiB pages (torch's allocator, file
/// mappings).
final class Buffer: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let count: Int
    let hugePages: Bool

    init(bytes: Int, hugePages wanted: Bool = true) {
        count = bytes
        let mapped = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let mapped, mapped != MAP_FAILED else { fatalError("mmap of \(bytes) bytes failed") }
        base = mapped
        #if os(Linux)
        hugePages = wanted && madvise(base, bytes, 14) == 0  // MADV_HUGEPAGE
        #else
        hugePages = false
        #endif
        memset(base, 0, bytes)
    }

    deinit { munmap(base, count) }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    func tensor(_ dtype: DType, shape: [Int], name: String = "x") -> TensorData {
        let n = shape.reduce(1, *) * dtype.size
        precondition(n <= count)
        return TensorData(
            name: name, dtype: dtype, shape: shape, bytes: UnsafeRawBufferPointer(start: base, count: n), storage: self)
    }

    /// Fills with float32 activations-like values: uniform in [-8, 8), or [0, 8) when `nonNegative`.
    func fillFloat32(seed: UInt64, nonNegative: Bool = false) {
        let p = base.assumingMemoryBound(to: Float.self)
        var s = seed | 1
        for i in 0..<(count / 4) {
            s ^= s << 13
            s ^= s >> 7
            s ^= s << 17
            let u = Float(s >> 40) * 0x1p-24  // [0, 1)
            p[i] = nonNegative ? u * 8 : u * 16 - 8
        }
    }

    /// Fills with 16-bit floats in (-8, 8): bfloat16 (the high half of a float32), or float16 built
    /// from its fields (Float16 is not available on every platform Swift supports).
    func fill16(seed: UInt64, bfloat: Bool) {
        let p = base.assumingMemoryBound(to: UInt16.self)
        var s = seed | 1
        for i in 0..<(count / 2) {
            s ^= s << 13
            s ^= s >> 7
            s ^= s << 17
            if bfloat {
                let f = Float(s >> 40) * 0x1p-24 * 16 - 8
                p[i] = UInt16(truncatingIfNeeded: f.bitPattern >> 16)
            } else {
                // sign, exponent 5...17 (2^-10 ... 4, so below 8), any mantissa
                let exponent = UInt16(5 + (s >> 20) % 13)
                p[i] = UInt16(truncatingIfNeeded: s >> 63) << 15 | exponent << 10 | UInt16(truncatingIfNeeded: s) & 0x3FF
            }
        }
    }
}

/// Resident-set figures of this process (Linux /proc): current and peak, in MiB.
enum Memory {
    static func status(_ key: String) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            let kb = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Double($0) }
            return kb.map { $0 / 1024 }
        }
        return nil
    }

    static var residentMiB: Double? { status("VmRSS") }
    static var peakMiB: Double? { status("VmHWM") }

    /// Resets the peak (VmHWM) to the current resident set, so a phase's own peak can be read.
    static func resetPeak() -> Bool {
        guard let f = fopen("/proc/self/clear_refs", "w") else { return false }
        defer { fclose(f) }
        return fputs("5", f) >= 0
    }
}

/// The machine line: CPU model, cores, the kernels' instruction set, huge-page policy.
func machineLine() -> String {
    var model = "unknown CPU"
    if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
        let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
        let colon = line.firstIndex(of: ":")
    {
        model = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    var flags: [String] = []
    if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
        let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
    {
        let all = Set(line.split(separator: " ").map(String.init))
        flags = ["avx2", "fma", "f16c", "avx512f"].filter(all.contains)
    }
    let thp =
        (try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8))?
        .trimmingCharacters(in: .whitespacesAndNewlines) ?? "n/a"
    var u = utsname()
    uname(&u)
    let machine = withUnsafeBytes(of: &u.machine) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    // A busy machine (other builds, fuzzers) shares its memory bandwidth: say so next to the figures.
    let load =
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ")
        ?? "n/a"
    return
        "machine: \(model), \(ProcessInfo.processInfo.activeProcessorCount) cores (\(machine); \(flags.joined(separator: " "))), "
        + "kernels: \(RangeKernel.instructionSet), THP: \(thp), load average at start: \(load)"
}

/// Fixed-width text table.
struct Table {
    var header: [String]
    var rows: [[String]] = []
    var rightAligned: Set<Int> = []

    mutating func add(_ row: [String]) { rows.append(row) }

    func render() -> String {
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in
                let pad = String(repeating: " ", count: max(0, widths[i] - c.count))
                return rightAligned.contains(i) ? pad + c : c + pad
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        return ([line(header), line(widths.map { String(repeating: "-", count: $0) })] + rows.map(line)).joined(separator: "\n")
    }
}

func gbps(_ bytes: Int, _ seconds: Double) -> Double { Double(bytes) / seconds / 1e9 }
func f2(_ x: Double) -> String { String(format: "%.2f", x) }
func f1(_ x: Double) -> String { String(format: "%.1f", x) }
