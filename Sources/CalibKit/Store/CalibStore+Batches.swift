import Foundation
import GRDB

/// What one transaction adds to a session: one or more batch rows, in order, and the state of each
/// tensor they held after the last of them.
public struct BatchCommit: Sendable {
    public struct Tensor: Sendable {
        /// `id` is ignored when `isNew`.
        public var record: TensorRecord
        public var stats: TensorStats
        /// The scheme the tensor's default encoding is derived with.
        public var scheme: QuantScheme
        public var isNew: Bool

        public init(record: TensorRecord, stats: TensorStats, scheme: QuantScheme, isNew: Bool) {
            self.record = record
            self.stats = stats
            self.scheme = scheme
            self.isNew = isNew
        }
    }

    /// The batches, in order; their `seq` is assigned by the commit.
    public var batches: [BatchRecord]
    /// One entry per tensor, each named once: `isNew` when the first of these batches created it.
    public var tensors: [Tensor]

    public init(batches: [BatchRecord], tensors: [Tensor]) {
        self.batches = batches
        self.tensors = tensors
    }

    public init(batch: BatchRecord, tensors: [Tensor]) {
        self.init(batches: [batch], tensors: tensors)
    }

    /// Adds a later batch: its row, and its tensors' states replacing earlier ones (a tensor new in
    /// an earlier batch stays new: it is inserted by this commit).
    public mutating func append(_ later: BatchCommit) {
        batches += later.batches
        var index = Dictionary(uniqueKeysWithValues: tensors.enumerated().map { ($1.record.name, $0) })
        for var t in later.tensors {
            if let i = index[t.record.name] {
                t.isNew = t.isNew || tensors[i].isNew
                if tensors[i].isNew { t.record.id = 0 }
                tensors[i] = t
            } else {
                index[t.record.name] = tensors.count
                tensors.append(t)
            }
        }
    }
}

extension CalibStore {
    /// The stored batch with this content hash (under the session's `batchHash`), if the session holds one.
    public func containsBatch(contentHash: String, session id: Int64) throws -> BatchRecord? {
        try writer.read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM batches WHERE session_id = ? AND content_hash = ?", arguments: [id, contentHash]
            ).map(Self.batch)
        }
    }

    /// The session's batches in order.
    public func batches(session id: Int64) throws -> [BatchRecord] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM batches WHERE session_id = ? ORDER BY seq", arguments: [id]).map(Self.batch)
        }
    }

    public func batchCount(session id: Int64) throws -> Int {
        try writer.read { db in try Self.batchCount(db, session: id) }
    }

    /// Commits batches: their rows, their tensors' statistics and re-derived encodings, in one
    /// transaction. `expectedBatches` is the batch count the statistics were computed after; if
    /// another writer changed it meanwhile, nothing is written. Returns the tensor ids by name.
    @discardableResult
    public func commit(_ commit: BatchCommit, session: Session, expectedBatches: Int) throws -> [String: Int64] {
        try write { db in
            guard try Self.batchCount(db, session: session.id) == expectedBatches else {
                throw StoreError.incompatible(
                    session: session.name, tensor: nil,
                    "another process added batches while this run was working; re-run the same command to resume")
            }
            for (i, b) in commit.batches.enumerated() {
                try db.execute(
                    sql: """
                        INSERT INTO batches (session_id, seq, source, content_hash, tensors, elements, bytes, added_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [session.id, expectedBatches + i, b.source, b.contentHash, b.tensors, b.elements, b.bytes, b.addedAt])
            }
            var ids: [String: Int64] = [:]
            for t in commit.tensors {
                let id = try Self.saveTensor(db, session: session.id, t.record, isNew: t.isNew)
                ids[t.record.name] = id
                try Self.saveStats(db, tensor: id, t.stats)
                try Self.saveEncoding(db, tensor: id, t.stats.encoding(t.scheme, channelAxis: t.record.channelAxis))
            }
            try db.execute(
                sql: "UPDATE sessions SET updated_at = ?, status = 'running' WHERE id = ?",
                arguments: [Timestamp.now(), session.id])
            return ids
        }
    }

    /// Changes stored tensors' roles and encoding schemes (re-deriving their default encodings from
    /// their statistics), in one transaction.
    public func updateSettings(_ tensors: [BatchCommit.Tensor]) throws {
        try write { db in
            for t in tensors {
                try db.execute(sql: "UPDATE tensors SET role = ? WHERE id = ?", arguments: [t.record.role.rawValue, t.record.id])
                try Self.saveEncoding(db, tensor: t.record.id, t.stats.encoding(t.scheme, channelAxis: t.record.channelAxis))
            }
        }
    }

    static func batchCount(_ db: Database, session id: Int64) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT count(*) FROM batches WHERE session_id = ?", arguments: [id]) ?? 0
    }

    /// Inserts a new tensor or updates an existing one's role; returns its id.
    static func saveTensor(_ db: Database, session: Int64, _ record: TensorRecord, isNew: Bool) throws -> Int64 {
        guard isNew else {
            try db.execute(sql: "UPDATE tensors SET role = ? WHERE id = ?", arguments: [record.role.rawValue, record.id])
            return record.id
        }
        try db.execute(
            sql: """
                INSERT INTO tensors (session_id, name, role, dtype, shape, channel_axis, channels)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                session, record.name, record.role.rawValue, record.dtype.rawValue, try json(record.shape),
                record.channelAxis, record.channels,
            ])
        return db.lastInsertedRowID
    }

    static func batch(_ row: Row) -> BatchRecord {
        BatchRecord(
            seq: row["seq"], source: row["source"], contentHash: row["content_hash"], tensors: row["tensors"],
            elements: row["elements"], bytes: row["bytes"], addedAt: row["added_at"])
    }
}
