import Foundation
import GRDB

/// What one batch changes in a session: the batch row, and the new statistics of each tensor it held.
public struct BatchCommit: Sendable {
    public var batch: BatchRecord
    /// Tensors to create (not yet in the store) or update; `record.id` is ignored for new ones.
    public var tensors: [(record: TensorRecord, stats: TensorStats, isNew: Bool)]

    public init(batch: BatchRecord, tensors: [(record: TensorRecord, stats: TensorStats, isNew: Bool)]) {
        self.batch = batch
        self.tensors = tensors
    }
}

extension CalibStore {
    /// Whether the session already holds a batch with this content hash.
    public func containsBatch(sha256: String, session id: Int64) throws -> BatchRecord? {
        try writer.read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM batches WHERE session_id = ? AND sha256 = ?", arguments: [id, sha256]
            ).map(Self.batch)
        }
    }

    /// The session's batches in order.
    public func batches(session id: Int64) throws -> [BatchRecord] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM batches WHERE session_id = ? ORDER BY seq", arguments: [id]).map(Self.batch)
        }
    }

    /// Commits one batch: its row, its tensors' statistics and re-derived encodings, in one
    /// transaction. Returns the tensor ids (new tensors get theirs here).
    @discardableResult
    public func commit(_ commit: BatchCommit, session: Session, expectedBatches: Int) throws -> [String: Int64] {
        try writer.write { db in
            // Statistics were computed from the state after `expectedBatches`; another writer in between
            // would make them stale, so refuse rather than lose its batches.
            let stored = try Int.fetchOne(db, sql: "SELECT count(*) FROM batches WHERE session_id = ?", arguments: [session.id]) ?? 0
            guard stored == expectedBatches else {
                throw StoreError.incompatible(
                    session: session.name, tensor: nil,
                    "another process added batches while this run was working; re-run the same command to resume")
            }
            let b = commit.batch
            try db.execute(
                sql: """
                    INSERT INTO batches (session_id, seq, source, sha256, tensors, elements, bytes, added_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [session.id, expectedBatches, b.source, b.sha256, b.tensors, b.elements, b.bytes, b.addedAt])
            var ids: [String: Int64] = [:]
            for (record, stats, isNew) in commit.tensors {
                var id = record.id
                if isNew {
                    try db.execute(
                        sql: """
                            INSERT INTO tensors (session_id, name, dtype, shape, channel_axis, channels)
                            VALUES (?, ?, ?, ?, ?, ?)
                            """,
                        arguments: [
                            session.id, record.name, record.dtype.rawValue, try Self.json(record.shape),
                            record.channelAxis, record.channels,
                        ])
                    id = db.lastInsertedRowID
                }
                ids[record.name] = id
                try Self.saveStats(db, tensor: id, stats)
                try Self.saveEncoding(db, tensor: id, stats.encoding(session.scheme, channelAxis: record.channelAxis))
            }
            try db.execute(
                sql: "UPDATE sessions SET updated_at = ?, status = 'running' WHERE id = ?",
                arguments: [Timestamp.now(), session.id])
            return ids
        }
    }

    static func batch(_ row: Row) -> BatchRecord {
        BatchRecord(
            seq: row["seq"], source: row["source"], sha256: row["sha256"], tensors: row["tensors"],
            elements: row["elements"], bytes: row["bytes"], addedAt: row["added_at"])
    }
}
