import Foundation

/// The one-line summary `calib run` ends with.
public enum RunSummaryText {
    public static func line(_ s: CalibrationRunner.Summary) -> String {
        var text =
            "session '\(s.session)': \(Describe.count(s.added, "batch", plural: "batches")) added, \(s.skipped) skipped as duplicates, "
            + "\(s.totalBatches) in total; \(Describe.count(s.tensors, "tensor"))"
        // A run that only skipped read nothing worth a rate.
        guard s.bytes > 0 else { return text }
        text += "; \(Describe.bytes(s.bytes)) in \(String(format: "%.2f", s.seconds)) s"
        if let rate = Describe.rate(bytes: s.bytes, seconds: s.seconds) { text += " (\(rate))" }
        return text
    }
}

/// The progress line `calib run` keeps updating on a terminal: `[12/60] SOURCE  34 MB/s  0:21 left`
/// (no total or time left when reading standard input, whose length is unknown).
public enum RunProgressText {
    public static func line(done: Int, total: Int?, source: String, bytes: Int, elapsed: Double) -> String {
        var text = "[\(done)\(total.map { "/\($0)" } ?? "")] \(source)"
        if let rate = Describe.rate(bytes: bytes, seconds: elapsed) { text += "  \(rate)" }
        if let total, done > 0, total > done, elapsed > 0 {
            text += "  \(Describe.duration(elapsed / Double(done) * Double(total - done))) left"
        }
        return text
    }
}

extension Describe {
    /// `512 bytes`, `12.3 kB`, `45.6 MB`, `7.89 GB` (powers of 1000).
    public static func bytes(_ n: Int) -> String {
        let d = Double(n)
        if n < 1000 { return count(n, "byte") }
        if d < 1e6 { return String(format: "%.1f kB", d / 1e3) }
        if d < 1e9 { return String(format: "%.1f MB", d / 1e6) }
        return String(format: "%.2f GB", d / 1e9)
    }

    /// `340 MB/s`, `12 kB/s`, `512 bytes/s`; nil when nothing was read or no time passed.
    public static func rate(bytes: Int, seconds: Double) -> String? {
        guard bytes > 0, seconds > 0 else { return nil }
        let r = Double(bytes) / seconds
        if r >= 1e6 { return String(format: "%.0f MB/s", r / 1e6) }
        if r >= 1e3 { return String(format: "%.0f kB/s", r / 1e3) }
        return String(format: "%.0f bytes/s", r)
    }

    /// `0:07`, `12:34`, `1:02:03`.
    public static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded(.up))
        return s >= 3600
            ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
