import CalibKit
import Foundation

/// Short human phrases for settings and numbers, shared by the table views.
enum Describe {
    static func observer(_ o: ObserverConfig) -> String {
        let kind = o.kind == .ema ? "ema(\(JSONValue.format(o.averagingConstant)))" : "minmax"
        return kind + (o.channelAxis.map { " axis \($0)" } ?? "")
    }

    static func scheme(_ s: QuantScheme) -> String {
        "\(s.convention.rawValue) \(s.bitwidth)-bit \(s.symmetric ? "sym" : "asym") \(s.signed ? "signed" : "unsigned")"
            + (s.reduceRange ? " reduce-range" : "")
    }

    static func override(_ o: SettingsOverride) -> String {
        var parts: [String] = []
        if let c = o.convention { parts.append("--convention \(c.rawValue)") }
        if let b = o.bitwidth { parts.append("--bitwidth \(b)") }
        if let s = o.symmetric { parts.append(s ? "--symmetric" : "--asymmetric") }
        if let s = o.signed { parts.append(s ? "--signed" : "--unsigned") }
        if o.reduceRange == true { parts.append("--reduce-range") }
        return parts.joined(separator: " ")
    }

    static func number(_ f: Float) -> String {
        f.isFinite ? String(format: "%.6g", Double(f)) : (f.isNaN ? "nan" : (f > 0 ? "inf" : "-inf"))
    }

    /// One value, or the span of a per-channel array.
    static func values(_ v: [Float]) -> String {
        guard v.count > 1 else { return number(v[0]) }
        return "\(number(v.min()!))..\(number(v.max()!))"
    }

    static func ints(_ v: [Int]) -> String {
        guard v.count > 1 else { return String(v[0]) }
        let lo = v.min()!, hi = v.max()!
        return lo == hi ? String(lo) : "\(lo)..\(hi)"
    }
}

/// JSON views of sessions for `--json`.
enum SessionJSON {
    static func session(_ s: Session) -> [(String, JSONValue)] {
        [
            ("name", .string(s.name)), ("status", .string(s.status.rawValue)),
            ("created_at", .string(s.createdAt)), ("updated_at", .string(s.updatedAt)),
            ("observer", .string(s.observer.kind.rawValue)),
            ("averaging_constant", s.observer.kind == .ema ? .float(s.observer.averagingConstant) : .null),
            ("per_channel_axis", s.observer.channelAxis.map(JSONValue.int) ?? .null),
            ("tensor_filter", .array(s.tensorFilter.map(JSONValue.string))),
            ("convention", .string(s.scheme.convention.rawValue)), ("bitwidth", .int(s.scheme.bitwidth)),
            ("symmetric", .bool(s.scheme.symmetric)), ("signed", .bool(s.scheme.signed)),
            ("reduce_range", .bool(s.scheme.reduceRange)), ("tool_version", .string(s.toolVersion)),
            ("model", s.model.map(JSONValue.string) ?? .null), ("dataset", s.dataset.map(JSONValue.string) ?? .null),
            ("notes", s.notes.map(JSONValue.string) ?? .null),
            ("origin", .string(s.origin.rawValue)), ("imported_from", s.importedFrom.map(JSONValue.string) ?? .null),
        ]
    }

    static func summary(_ s: SessionSummary) -> JSONValue {
        .object(session(s.session) + [("batches", .int(s.batches)), ("tensors", .int(s.tensors)), ("elements", .int(s.elements))])
    }
}
