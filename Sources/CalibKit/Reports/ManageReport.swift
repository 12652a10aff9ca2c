import Foundation

/// What `calib derive --list` prints: a session's encoding sets, each with the options it was derived
/// with and whether batches were added since (a set is a snapshot).
public struct EncodingSetListReport: Sendable {
    public var session: Session
    public var sets: [EncodingSetSummary]

    public init(session: Session, sets: [EncodingSetSummary]) {
        self.session = session
        self.sets = sets
    }

    public var table: ReportTable {
        var table = ReportTable(["LABEL", "ENCODINGS", "BATCHES", "CREATED", "OPTIONS"], numeric: [1, 2])
        for s in sets {
            let stale = s.sessionBatches != s.set.batches
            table.append([
                .init(s.set.label), .init(String(s.encodings)),
                .init(stale ? "\(s.set.batches) of \(s.sessionBatches)" : String(s.set.batches), warning: stale),
                .init(String(s.set.createdAt.prefix(19)).replacing("T", with: " ")), .init(s.set.options),
            ])
        }
        return table
    }

    public var notes: [ReportLine] {
        if sets.isEmpty {
            return [
                ReportLine(
                    "session '\(session.name)' has no encoding sets (make one with `calib derive \(session.name) --label L`)")
            ]
        }
        let stale = sets.filter { $0.sessionBatches != $0.set.batches }.count
        guard stale > 0 else { return [] }
        return [
            ReportLine(
                "\(Describe.count(stale, "set")) derived before the session's latest batches: derive again to include them",
                warning: true)
        ]
    }

    public var json: JSONValue {
        .array(
            sets.map { s in
                .object([
                    ("label", .string(s.set.label)), ("encodings", .int(s.encodings)), ("batches", .int(s.set.batches)),
                    ("session_batches", .int(s.sessionBatches)), ("created_at", .string(s.set.createdAt)),
                    ("options", (try? JSONValue.parse(Data(s.set.options.utf8))) ?? .string(s.set.options)),
                ])
            })
    }
}
