import CalibModel
import CalibSupport
import Foundation
import GRDB

/// What `removeSessions` deleted.
public struct RemovedSession: Sendable, Equatable {
    public var name: String
    public var batches: Int
    public var tensors: Int
    public var labels: Int
}

/// An encoding set as `calib derive --list` shows it: its listing, how many encodings it holds, and
/// how many batches the session has now (more than `set.batches` means the set is older than them).
public struct EncodingSetSummary: Sendable, Equatable {
    public var set: EncodingSet
    public var encodings: Int
    public var sessionBatches: Int
}

extension CalibStore {
    /// Deletes the named sessions and everything they hold (batches, tensors, statistics, encodings,
    /// encoding sets), all in one transaction: when one name is missing, nothing is deleted. A run
    /// still writing to a removed session fails at its next commit.
    @discardableResult
    public func removeSessions(_ names: [String]) throws -> [RemovedSession] {
        try write { db in
            var removed: [RemovedSession] = []
            for name in names where !removed.contains(where: { ExactName($0.name) == ExactName(name) }) {
                guard let id = try Int64.fetchOne(db, sql: "SELECT id FROM sessions WHERE name = ?", arguments: [name]) else {
                    throw StoreError.noSuchSession(name)
                }
                func count(_ sql: String) throws -> Int { try Int.fetchOne(db, sql: sql, arguments: [id]) ?? 0 }
                removed.append(
                    RemovedSession(
                        name: name, batches: try count("SELECT count(*) FROM batches WHERE session_id = ?"),
                        tensors: try count("SELECT count(*) FROM tensors WHERE session_id = ?"),
                        labels: try count("SELECT count(*) FROM encoding_sets WHERE session_id = ?")))
                // The foreign keys cascade, but only where they are enforced: delete explicitly, so a
                // database opened without them (an older SQLite, a hand-made copy) keeps no orphan.
                for sql in [
                    "DELETE FROM encodings WHERE tensor_id IN (SELECT id FROM tensors WHERE session_id = ?)",
                    "DELETE FROM statistics WHERE tensor_id IN (SELECT id FROM tensors WHERE session_id = ?)",
                    "DELETE FROM tensors WHERE session_id = ?", "DELETE FROM batches WHERE session_id = ?",
                    "DELETE FROM encoding_sets WHERE session_id = ?", "DELETE FROM sessions WHERE id = ?",
                ] {
                    try db.execute(sql: sql, arguments: [id])
                }
            }
            return removed
        }
    }

    /// Renames a session, in one transaction. The new name must be free and a valid session name
    /// (`Names.sessionProblem`); everything the session holds keeps pointing at it (by id).
    @discardableResult
    public func renameSession(_ old: String, to new: String) throws -> Session {
        if let problem = Names.sessionProblem(new) { throw NameError(problem) }
        return try write { db in
            guard let session = try Self.fetchSession(db, name: old) else { throw StoreError.noSuchSession(old) }
            if ExactName(old) == ExactName(new) { return session }
            if try Self.fetchSession(db, name: new) != nil { throw StoreError.sessionExists(new) }
            try db.execute(
                sql: "UPDATE sessions SET name = ?, updated_at = ? WHERE id = ?", arguments: [new, Timestamp.now(), session.id])
            return try Self.fetchSession(db, name: new)!
        }
    }

    /// The session's encoding sets with their encoding counts, by label.
    public func encodingSetSummaries(session: Session) throws -> [EncodingSetSummary] {
        try writer.read { db in
            let batches = try Self.batchCount(db, session: session.id)
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT s.*, (SELECT count(*) FROM encodings e JOIN tensors t ON t.id = e.tensor_id
                                 WHERE t.session_id = s.session_id AND e.label = s.label) AS n_encodings
                    FROM encoding_sets s WHERE s.session_id = ? ORDER BY s.label
                    """, arguments: [session.id]
            ).map {
                EncodingSetSummary(
                    set: EncodingSet(
                        label: $0["label"], options: $0["options"], batches: $0["batches"], createdAt: $0["created_at"]),
                    encodings: $0["n_encodings"], sessionBatches: batches)
            }
        }
    }

    /// Deletes the session's encoding sets `labels` (their listing and their encodings), all in one
    /// transaction; a label the session does not have deletes nothing and throws. Returns the number
    /// of encodings deleted.
    @discardableResult
    public func deleteEncodingSets(_ labels: [String], session: Session) throws -> Int {
        try write { db in
            var deleted = 0
            for label in labels {
                if label == "default" {
                    throw StoreError.incompatible(
                        session: session.name, tensor: nil,
                        "'default' is the encoding set each run derives and cannot be deleted (`calib rm` removes the session)")
                }
                guard
                    try Int.fetchOne(
                        db, sql: "SELECT count(*) FROM encoding_sets WHERE session_id = ? AND label = ?",
                        arguments: [session.id, label]) == 1
                else {
                    throw StoreError.incompatible(
                        session: session.name, tensor: nil, "has no encoding set labelled '\(label)' (see `calib derive --list`)")
                }
                try db.execute(
                    sql: "DELETE FROM encodings WHERE label = ? AND tensor_id IN (SELECT id FROM tensors WHERE session_id = ?)",
                    arguments: [label, session.id])
                deleted += db.changesCount
                try db.execute(
                    sql: "DELETE FROM encoding_sets WHERE session_id = ? AND label = ?", arguments: [session.id, label])
            }
            return deleted
        }
    }
}

extension CalibStore {
    /// The encoding schemes the session's tensors are derived with now (their default encodings),
    /// distinct, most common first: what `calib sessions` shows, since a later run's settings may
    /// have re-derived tensors away from the scheme the session was created with.
    public func currentSchemes(session id: Int64) throws -> [QuantScheme] {
        try naming {
            try writer.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT e.convention, e.bitwidth, e.symmetric, e.signed, e.reduce_range, count(*) AS n
                        FROM encodings e JOIN tensors t ON t.id = e.tensor_id
                        WHERE t.session_id = ? AND e.label = 'default'
                        GROUP BY 1, 2, 3, 4, 5 ORDER BY n DESC, 1, 2, 3, 4, 5
                        """, arguments: [id]
                ).map { row in
                    let v = RowValues(row: row)
                    do {
                        return QuantScheme(
                            convention: try v.name(0, Convention.self), bitwidth: try v.int(1), symmetric: try v.bool(2),
                            signed: try v.bool(3), reduceRange: try v.bool(4))
                    } catch var bad as BadValue {
                        bad.session = try Self.sessionName(db, id)
                        throw bad
                    }
                }
            }
        }
    }

    /// The observers the session's tensors were observed with (distinct, most common first): a later
    /// run can add tensors observed otherwise than the run that created the session, which is all
    /// `sessions.stats_config` records.
    public func currentObservers(session id: Int64) throws -> [ObserverConfig] {
        try naming {
            try writer.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT s.observer, s.averaging_constant, t.channel_axis, s.histogram IS NOT NULL, count(*) AS n
                        FROM statistics s JOIN tensors t ON t.id = s.tensor_id
                        WHERE t.session_id = ?
                        GROUP BY 1, 2, 3, 4 ORDER BY n DESC, 1, 2, 3, 4
                        """, arguments: [id]
                ).map { row in
                    let v = RowValues(row: row)
                    do {
                        let kind = try v.bool(3) ? ObserverKind.histogram : try v.name(0, ObserverKind.self)
                        let axis = (row[2] as DatabaseValue).isNull ? nil : try v.int(2)
                        return ObserverConfig(kind: kind, averagingConstant: try v.float(1) ?? 0.01, channelAxis: axis)
                    } catch var bad as BadValue {
                        bad.session = try Self.sessionName(db, id)
                        throw bad
                    }
                }
            }
        }
    }

    private static func sessionName(_ db: Database, _ id: Int64) throws -> String {
        try String.fetchOne(db, sql: "SELECT name FROM sessions WHERE id = ?", arguments: [id]) ?? "#\(id)"
    }
}
