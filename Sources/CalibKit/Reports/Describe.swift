import Foundation

/// Short human phrases for settings and numbers, shared by the reports.
public enum Describe {
    public static func observer(_ o: ObserverConfig) -> String {
        let kind =
            switch o.kind {
            case .ema: "ema(\(JSONValue.shortFormat(o.averagingConstant)))"
            case .minmax, .histogram: o.kind.rawValue
            }
        return kind + (o.channelAxis.map { " axis \($0)" } ?? "")
    }

    public static func scheme(_ s: QuantScheme) -> String {
        "\(s.convention.rawValue) \(s.bitwidth)-bit \(s.symmetric ? "sym" : "asym") \(s.signed ? "signed" : "unsigned")"
            + (s.reduceRange ? " reduce-range" : "")
    }

    public static func number(_ f: Float) -> String {
        f.isFinite ? String(format: "%.6g", Double(f)) : (f.isNaN ? "nan" : (f > 0 ? "inf" : "-inf"))
    }

    /// One value, or the span of a per-channel array.
    public static func values(_ v: [Float]) -> String {
        guard v.count > 1 else { return number(v[0]) }
        return "\(number(v.min()!))..\(number(v.max()!))"
    }

    /// An observed bound per channel: the finite ones, "-" when no channel was observed finite
    /// (instead of the ±inf a range starts from).
    public static func observed(_ v: [Float]) -> String {
        let finite = v.filter(\.isFinite)
        return finite.isEmpty ? "-" : values(finite)
    }

    public static func ints(_ v: [Int]) -> String {
        guard v.count > 1 else { return String(v[0]) }
        let lo = v.min()!, hi = v.max()!
        return lo == hi ? String(lo) : "\(lo)..\(hi)"
    }

    public static func percent(_ d: Double) -> String {
        d.isFinite ? String(format: "%+.3f%%", d * 100) : "n/a"
    }

    /// `n thing` or `n things`.
    public static func count(_ n: Int, _ noun: String, plural: String? = nil) -> String {
        "\(n) \(n == 1 ? noun : plural ?? noun + "s")"
    }
}
