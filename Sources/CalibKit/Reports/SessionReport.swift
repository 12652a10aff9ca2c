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
            "\(s.statusText), " + (s.origin == .imported ? "imported from \(s.importedFrom ?? "?")" : "\(batches) batches")
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
        // On a narrow terminal: the quantized range, then the settings and counts, go before the
        // observed range, scale and offset (per-channel ranges make the table wide).
        table.optional = [10, 11, 1, 2, 4, 7]
        for r in reports {
            let e = r.encoding
            let nonfinite = r.stats?.nonfinite ?? 0
            // A tensor never observed finite has no range, and the encoding derived from none is not
            // one to read off (export refuses it; the notes say so).
            let observed = r.stats.map { s in zip(s.min, s.max).contains { $0.0 <= $0.1 } } ?? true
            func encoded(_ text: String) -> ReportTable.Cell { observed ? .init(text) : "-" }
            table.append([
                .init(r.tensor.name), .init(r.tensor.role.rawValue),
                // An imported file names no shape (calib stored the channel count in its place).
                .init(session.origin == .imported ? "-" : r.tensor.shape.map(String.init).joined(separator: "x")),
                .init(r.tensor.channelAxis.map { "\(r.tensor.channels)@\($0)" } ?? "-"),
                .init(r.stats.map { String($0.batches) } ?? "-"),
                .init(r.stats.map { Describe.observed($0.min) } ?? "-"), .init(r.stats.map { Describe.observed($0.max) } ?? "-"),
                .init(Describe.scheme(e.scheme)), encoded(Describe.values(e.scale)), encoded(Describe.ints(e.offset)),
                encoded(Describe.values(e.min)), encoded(Describe.values(e.max)),
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
    /// By session id: the schemes its tensors' encodings are derived with now (`CalibStore.currentSchemes`).
    public var schemes: [Int64: [QuantScheme]]
    /// By session id: the observers its tensors were observed with (`CalibStore.currentObservers`).
    public var observers: [Int64: [ObserverConfig]]

    public init(
        summaries: [SessionSummary], database: String, schemes: [Int64: [QuantScheme]] = [:],
        observers: [Int64: [ObserverConfig]] = [:]
    ) {
        self.summaries = summaries
        self.database = database
        self.schemes = schemes
        self.observers = observers
    }

    /// The OBSERVER column: the tensors' observers (a later run may have added tensors observed
    /// otherwise), or the session's own before it holds any.
    func observer(_ s: SessionSummary) -> String {
        let current = observers[s.session.id] ?? []
        if current.count > 1 { return "\(Describe.observer(current[0])) +\(current.count - 1) more" }
        return Describe.observer(current.first ?? s.session.observer)
    }

    /// The ENCODING column: the tensors' scheme now (a later run may have re-derived them), or
    /// the session's own before it holds any.
    func encoding(_ s: SessionSummary) -> String {
        let current = schemes[s.session.id] ?? []
        if current.count > 1 { return "\(Describe.scheme(current[0])) +\(current.count - 1) more" }
        return Describe.scheme(current.first ?? s.session.scheme)
    }

    public var table: ReportTable {
        var table = ReportTable(
            ["SESSION", "STATUS", "BATCHES", "TENSORS", "OBSERVER", "ENCODING", "UPDATED", "MODEL"], numeric: [2, 3])
        for s in summaries {
            table.append([
                .init(s.session.name), .init(s.session.statusText), .init(String(s.batches)), .init(String(s.tensors)),
                .init(observer(s)), .init(encoding(s)),
                .init(String(s.session.updatedAt.prefix(19)).replacing("T", with: " ")), .init(s.session.model ?? ""),
            ])
        }
        return table
    }

    public var notes: [ReportLine] { summaries.isEmpty ? [ReportLine("no sessions in \(database)")] : [] }

    public var json: JSONValue {
        .array(
            summaries.map { s in
                guard case .object(var members) = SessionJSON.summary(s) else { return SessionJSON.summary(s) }
                let current = schemes[s.session.id] ?? []
                members.append(("schemes", .array(current.map(SessionJSON.scheme))))
                members.append(
                    ("observers", .array((observers[s.session.id] ?? []).map { .string(Describe.observer($0)) })))
                return .object(members)
            })
    }
}

/// JSON views of sessions for `--json`.
public enum SessionJSON {
    public static func session(_ s: Session) -> [(String, JSONValue)] {
        [
            ("name", .string(s.name)), ("status", .string(s.shownStatus.rawValue)),
            // The process writing it; `writer_gone`: it ended without finishing (killed outright).
            ("writer_pid", s.status == .running ? s.writer.map { .int(Int($0.pid)) } ?? .null : .null),
            ("writer_gone", .bool(s.writerGone)),
            ("created_at", .string(s.createdAt)), ("updated_at", .string(s.updatedAt)),
            ("observer", .string(s.observer.kind.rawValue)),
            ("averaging_constant", s.observer.kind == .ema ? .shortFloat(s.observer.averagingConstant) : .null),
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

    /// A scheme as the session details spell its settings.
    public static func scheme(_ s: QuantScheme) -> JSONValue {
        .object([
            ("convention", .string(s.convention.rawValue)), ("bitwidth", .int(s.bitwidth)), ("symmetric", .bool(s.symmetric)),
            ("signed", .bool(s.signed)), ("reduce_range", .bool(s.reduceRange)),
        ])
    }

    public static func summary(_ s: SessionSummary) -> JSONValue {
        .object(
            session(s.session) + [("batches", .int(s.batches)), ("tensors", .int(s.tensors)), ("elements", .int(s.elements))])
    }
}
