import Foundation

/// What `calib show` prints: the session's heading and details, one row per tensor, and the notes
/// below (NaN/Inf counts, tensors that cannot be exported); `json` is `--json`.
public struct SessionReport: Sendable {
    public var session: Session
    public var batches: Int
    public var label: String
    public var reports: [TensorReport]
    /// True when tensor globs were given (an empty result then reads "no tensors match").
    public var filtered: Bool

    public init(session: Session, batches: Int, label: String = "default", reports: [TensorReport], filtered: Bool = false) {
        self.session = session
        self.batches = batches
        self.label = label
        self.reports = reports
        self.filtered = filtered
    }

    public var heading: [ReportLine] {
        let s = session
        var first =
            "\(s.status.rawValue), " + (s.origin == .imported ? "imported from \(s.importedFrom ?? "?")" : "\(batches) batches")
        if label != "default" { first += ", encoding set '\(label)'" }
        var lines = [ReportLine("  " + first, heading: "session \(s.name)")]
        for (key, value) in [("model", s.model), ("dataset", s.dataset), ("notes", s.notes)] {
            if let value { lines.append(ReportLine("\(key) \(value)")) }
        }
        return lines
    }

    public var table: ReportTable {
        var table = ReportTable(
            [
                "TENSOR", "ROLE", "SHAPE", "CH", "BATCHES", "OBS MIN", "OBS MAX", "ENCODING", "SCALE", "OFFSET", "MIN", "MAX",
                "NONFINITE",
            ],
            numeric: [3, 4, 5, 6, 8, 9, 10, 11, 12])
        for r in reports {
            let e = r.encoding
            let nonfinite = r.stats?.nonfinite ?? 0
            table.append([
                .init(r.tensor.name), .init(r.tensor.role.rawValue),
                .init(r.tensor.shape.map(String.init).joined(separator: "x")),
                .init(r.tensor.channelAxis.map { "\(r.tensor.channels)@\($0)" } ?? "-"),
                .init(r.stats.map { String($0.batches) } ?? "-"),
                .init(r.stats.map { Describe.values($0.min) } ?? "-"), .init(r.stats.map { Describe.values($0.max) } ?? "-"),
                .init(Describe.scheme(e.scheme)), .init(Describe.values(e.scale)), .init(Describe.ints(e.offset)),
                .init(Describe.values(e.min)), .init(Describe.values(e.max)),
                nonfinite > 0 ? .init("\(nonfinite) !", warning: true) : "0",
            ])
        }
        return table
    }

    /// What the table leaves unsaid.
    public var notes: [ReportLine] {
        if reports.isEmpty { return [] }
        var lines: [ReportLine] = []
        let flagged = reports.filter { ($0.stats?.nonfinite ?? 0) > 0 }.count
        if flagged > 0 {
            lines.append(
                ReportLine("\(Describe.count(flagged, "tensor")) had NaN/Inf values (left out of the ranges)", warning: true))
        }
        let problems = CoverageProblem.find(in: reports)
        if !problems.isEmpty {
            lines.append(ReportLine("not exportable: \(problems.map(\.description).joined(separator: "; "))", warning: true))
        }
        return lines
    }

    /// The export layout with the session's details as its third member.
    public var json: JSONValue {
        let export = EncodingsJSON.document(session: session, reports: reports)
        guard case .object(var members) = export else { return export }
        members.insert(("details", .object(SessionJSON.session(session))), at: 2)
        return .object(members)
    }
}

/// What `calib sessions` prints.
public struct SessionListReport: Sendable {
    public var summaries: [SessionSummary]
    public var database: String

    public init(summaries: [SessionSummary], database: String) {
        self.summaries = summaries
        self.database = database
    }

    public var table: ReportTable {
        var table = ReportTable(
            ["SESSION", "STATUS", "BATCHES", "TENSORS", "OBSERVER", "ENCODING", "UPDATED", "MODEL"], numeric: [2, 3])
        for s in summaries {
            table.append([
                .init(s.session.name), .init(s.session.status.rawValue), .init(String(s.batches)), .init(String(s.tensors)),
                .init(Describe.observer(s.session.observer)), .init(Describe.scheme(s.session.scheme)),
                .init(String(s.session.updatedAt.prefix(19)).replacing("T", with: " ")), .init(s.session.model ?? ""),
            ])
        }
        return table
    }

    public var notes: [ReportLine] { summaries.isEmpty ? [ReportLine("no sessions in \(database)")] : [] }

    public var json: JSONValue { .array(summaries.map(SessionJSON.summary)) }
}

/// JSON views of sessions for `--json`.
public enum SessionJSON {
    public static func session(_ s: Session) -> [(String, JSONValue)] {
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

    public static func summary(_ s: SessionSummary) -> JSONValue {
        .object(
            session(s.session) + [("batches", .int(s.batches)), ("tensors", .int(s.tensors)), ("elements", .int(s.elements))])
    }
}
