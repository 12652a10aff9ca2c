import CalibModel
import CalibSupport
import Foundation
import GRDB

/// What a commit stored.
public struct CommittedBatches: Sendable {
    /// The batch rows, with the `seq` each was given.
    public var batches: [BatchRecord]
    public var tensorIDs: NameMap<Int64>
    /// The session as stored after the commit (created by it when `creating` was given).
    public var session: Session
}

extension CalibStore {
    /// The stored batch with this content hash (under the session's `batchHash`), if the session holds one.
    public func batch(withContentHash contentHash: String, session id: Int64) throws -> BatchRecord? {
        try readingRows(session: id) { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM batches WHERE session_id = ? AND content_hash = ?", arguments: [id, contentHash]
            ).map(Self.batch)
        }
    }

    /// The session's batches in order.
    public func batches(session id: Int64) throws -> [BatchRecord] {
        try readingRows(session: id) { db in
            try Row.fetchAll(db, sql: "SELECT * FROM batches WHERE session_id = ? ORDER BY seq", arguments: [id]).map(Self.batch)
        }
    }

    public func batchCount(session id: Int64) throws -> Int {
        try writer.read { db in try Self.batchCount(db, session: id) }
    }

    /// Commits batches: their rows, their tensors' statistics and the encodings derived from them, in
    /// one transaction. The store derives nothing; it writes the rows it is given. `expectedBatches`
    /// is the batch count the statistics were computed after; if another writer changed it meanwhile,
    /// nothing is written. Returns the batch rows as stored (with their `seq`) and the tensor ids by name.
    ///
    /// With `creating`, the session does not exist yet: it is inserted by this transaction (refused
    /// when another process created one of that name meanwhile), so it never exists without a batch.
    @discardableResult
    public func commit(
        _ commit: BatchCommit, session: Session, expectedBatches: Int, creating draft: SessionDraft? = nil
    ) throws -> CommittedBatches {
        try write { db in try Self.insert(commit, db, session: session, expectedBatches: expectedBatches, creating: draft) }
    }

    /// `commit`'s writes, inside the caller's transaction; `origins` (one per batch) fills the batch
    /// rows' `origin` column (merged batches), nil leaves it NULL.
    static func insert(
        _ commit: BatchCommit, _ db: Database, session: Session, expectedBatches: Int, creating draft: SessionDraft?,
        origins: [String?]? = nil
    ) throws -> CommittedBatches {
        var session = session
        if let draft {
            guard try Self.fetchSession(db, name: draft.name) == nil else {
                throw StoreError.incompatible(
                    session: draft.name, tensor: nil,
                    "was created by another process while this run was reading; nothing was stored: re-run the same "
                        + "command to add to it")
            }
            session = try Self.insertSession(db, draft, status: .running)
        }
        guard
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM sessions WHERE id = ?)", arguments: [session.id]) == true
        else {
            throw StoreError.incompatible(
                session: session.name, tensor: nil,
                "was removed (or replaced) by another process while this run was writing; nothing more was stored")
        }
        guard try Self.batchCount(db, session: session.id) == expectedBatches else {
            throw StoreError.incompatible(
                session: session.name, tensor: nil,
                "another process added batches while this run was working; re-run the same command to resume")
        }
        var batches = commit.batches
        for i in batches.indices {
            batches[i].seq = expectedBatches + i
            let b = batches[i]
            try db.execute(
                sql: """
                    INSERT INTO batches (session_id, seq, source, content_hash, tensors, elements, bytes, added_at, origin)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    session.id, b.seq, b.source, b.contentHash, b.tensors, b.elements, b.bytes, b.addedAt, origins?[i] ?? nil,
                ])
        }
        var ids: NameMap<Int64> = [:]
        for t in commit.tensors {
            let id = try Self.saveTensor(db, session: session.id, t.record, isNew: t.isNew)
            ids[t.record.name] = id
            try Self.saveStats(db, tensor: id, t.stats)
            try Self.saveEncoding(db, tensor: id, t.encoding)
        }
        try db.execute(
            sql: "UPDATE sessions SET updated_at = ?, status = 'running', writer = ? WHERE id = ?",
            arguments: [Timestamp.now(), try Self.writerJSON(), session.id])
        return CommittedBatches(batches: batches, tensorIDs: ids, session: try Self.fetchSession(db, name: session.name)!)
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

    /// A batch row (`SELECT *`); a value calib cannot read throws `BadValue` instead of trapping.
    static func batch(_ row: Row) throws -> BatchRecord {
        let v = RowValues(row: row), names = Array(row.columnNames)
        func at(_ name: String) throws -> Int {
            guard let i = names.firstIndex(of: name) else { throw BadValue(message: "batches has no column \(name)") }
            return i
        }
        return BatchRecord(
            seq: try v.int(at("seq")), source: try v.text(at("source")), contentHash: try v.text(at("content_hash")),
            tensors: try v.int(at("tensors")), elements: try v.int(at("elements")), bytes: try v.int(at("bytes")),
            addedAt: try v.text(at("added_at")))
    }
}
