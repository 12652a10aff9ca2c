import CalibModel
import CalibSupport
import Foundation
import GRDB

/// One session as `check` read it back: the rows the readers could read, for the re-derivation in
/// CalibKit (the store derives nothing).
public struct CheckedSession: Sendable {
    /// One encoding set: "default" (re-derived with every batch) or a `calib derive` label.
    public struct Label: Sendable {
        public var label: String
        /// The session's batch count when a derived set was made; nil for "default".
        public var derivedAt: Int?
        public var reports: [TensorReport]
        /// The histogram methods a derived set was made with (`calib derive --method`, or the one
        /// every histogram of a tool stored), per tool; a tool without one follows each
        /// histogram's stored method.
        public var methods: [HistogramMethod] = []
        /// Per tensor, what a `calib derive --method best` set chose; such a tensor ignores `methods`.
        public var choices: [String: TensorMethodChoice] = [:]

        /// The method recorded for `convention`'s histograms, if any.
        public func method(for convention: Convention?) -> HistogramMethod? {
            methods.first { $0.convention == convention }
        }
    }

    public var session: Session
    public var batches: Int
    /// The encoding sets given at once (`checkValues` gives one at a time).
    public var labels: [Label]
}

extension CheckFinding {
    public init(session: String?, tensor: String?, message: String) {
        self.init(session: session, message: message)
        self.tensor = tensor
    }
}

extension CalibStore {
    /// What to do about a stored value that is not what calib wrote.
    public static let damagedAdvice =
        "the database is damaged or was edited: restore it from a backup, or re-run the session's batches into a new session"

    /// Every stored value through the readers' domain checks (types, counts, ranges, grids, array
    /// lengths, JSON), row by row, so that each bad row is a finding naming its session and tensor
    /// (a reader stops at the first). `visit` is given each readable session with its readable rows
    /// (one encoding set at a time) and returns more findings: CalibKit re-derives the encodings there. A database whose schema
    /// is not complete is not read (the structural check reports how far it is).
    public func checkValues(_ visit: (CheckedSession) throws -> [CheckFinding]) throws -> [CheckFinding] {
        guard try appliedMigrations().count == Self.schemaVersion else { return [] }
        return try writer.read { db in
            var findings: [CheckFinding] = []
            func add(_ session: String?, _ tensor: String?, _ message: String) {
                findings.append(CheckFinding(session: session, tensor: tensor, message: "\(message); \(Self.damagedAdvice)"))
            }
            let sessions = try Row.fetchCursor(db, sql: "SELECT * FROM sessions ORDER BY id")
            while let row = try sessions.next() {
                guard case .int64(let id) = (row["id"] as DatabaseValue).storage else { continue }
                let name = (row["name"] as DatabaseValue).storage.value as? String ?? "#\(id)"
                var session: Session?
                do { session = try Self.session(row) } catch let bad as BadValue { add(name, nil, bad.message) }
                let batches = try checkBatches(db, session: id) { add(name, nil, $0) }

                var tensors: [(TensorRecord, TensorStats?)] = []
                let rows = try Row.fetchCursor(
                    db, sql: "\(Self.tensorRowsSQL) WHERE t.session_id = ? ORDER BY t.id", arguments: [id])
                while let r = try rows.next() {
                    let v = RowValues(row: r)
                    let tensor = (r[1] as DatabaseValue).storage.value as? String ?? "#\(r[0] as DatabaseValue)"
                    do {
                        let record = try Self.tensorRecord(v)
                        tensors.append((record, (r[7] as DatabaseValue).isNull ? nil : try Self.tensorStats(v, record)))
                    } catch let bad as BadValue {
                        add(name, tensor, bad.message)
                    }
                }

                var labels: [(String, Int?, [HistogramMethod], [String: TensorMethodChoice])] = [("default", nil, [], [:])]
                let sets = try Row.fetchCursor(
                    db, sql: "SELECT label, options, batches FROM encoding_sets WHERE session_id = ? ORDER BY label",
                    arguments: [id])
                while let r = try sets.next() {
                    let v = RowValues(row: r)
                    do {
                        let label = try v.text(0), options = try v.text(1), count = try v.int(2)
                        guard let json = try? JSONValue.parse(Data(options.utf8)) else { throw v.bad(1, "the JSON calib writes") }
                        guard count >= 0 else { throw v.bad(2, "a batch count (>= 0)") }
                        var methods: [HistogramMethod] = []
                        for convention in [Convention.aimet, .onnxruntime] {
                            let key = "\(convention.rawValue)_method"
                            guard let m = json.member(key) else { continue }
                            guard let read = HistogramMethod(json: m, convention: convention) else {
                                throw v.bad(1, "the JSON calib writes (\(key))")
                            }
                            methods.append(read)
                        }
                        var choices: [String: TensorMethodChoice] = [:]
                        if let best = json.member("best_methods") {
                            guard case .object(let members) = best else { throw v.bad(1, "the JSON calib writes (best_methods)") }
                            for (tensor, value) in members {
                                guard let c = TensorMethodChoice(json: value) else {
                                    throw v.bad(1, "the JSON calib writes (best_methods of '\(tensor)')")
                                }
                                choices[tensor] = c
                            }
                        }
                        labels.append((label, count, methods, choices))
                    } catch let bad as BadValue {
                        add(name, nil, "encoding set: \(bad.message)")
                    }
                }
                let known = labels.map(\.0)
                for orphan in try String.fetchAll(
                    db,
                    sql: """
                        SELECT DISTINCT e.label FROM encodings e JOIN tensors t ON t.id = e.tensor_id
                        WHERE t.session_id = ? ORDER BY e.label
                        """, arguments: [id]
                ) where !known.contains(orphan) {
                    add(name, nil, "encodings labelled '\(orphan)' belong to no encoding set")
                }

                // One label at a time: a large session's encodings are held once, not once per label.
                for (label, derivedAt, method, choices) in labels {
                    var encodings: [Int64: Encoding] = [:]
                    let rows = try Row.fetchCursor(
                        db, sql: "\(Self.encodingRowsSQL) WHERE t.session_id = ? AND e.label = ?", arguments: [id, label])
                    while let r = try rows.next() {
                        let tensor = (r[16] as DatabaseValue).storage.value as? String ?? "#\(r[0] as DatabaseValue)"
                        do {
                            encodings[r[0]] = try Self.encoding(RowValues(row: r))
                        } catch let bad as BadValue {
                            add(name, tensor, "encoding '\(label)': \(bad.message)")
                        }
                    }
                    let reports = tensors.compactMap { t, stats in
                        encodings[t.id].map { TensorReport(tensor: t, stats: stats, encoding: $0) }
                    }
                    if let session, let batches {
                        let set = CheckedSession.Label(
                            label: label, derivedAt: derivedAt, reports: reports, methods: method, choices: choices)
                        findings += try visit(CheckedSession(session: session, batches: batches, labels: [set]))
                    }
                }
            }
            return findings
        }
    }

    /// Each batch row through `batch(_:)`; the batch count, or nil when a row cannot be read.
    private func checkBatches(_ db: Database, session id: Int64, _ report: (String) -> Void) throws -> Int? {
        var count = 0, readable = true
        let rows = try Row.fetchCursor(db, sql: "SELECT * FROM batches WHERE session_id = ? ORDER BY seq", arguments: [id])
        while let row = try rows.next() {
            do {
                let b = try Self.batch(row)
                for (column, n) in [("tensors", b.tensors), ("elements", b.elements), ("bytes", b.bytes)] where n < 0 {
                    report("batch \(b.seq): column \(column) holds \(n), not a count (>= 0)")
                    readable = false
                }
            } catch let bad as BadValue {
                report("batch row \(row["id"] as DatabaseValue): \(bad.message)")
                readable = false
            }
            count += 1
        }
        return readable ? count : nil
    }
}
