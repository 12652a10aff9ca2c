import CalibModel
import CalibSupport
import Foundation
import GRDB

extension CalibStore {
    /// Each batch's origin (`PATH:SESSION` of the shard `calib merge` took it from), in `seq` order;
    /// nil for a batch a run observed itself.
    public func batchOrigins(session id: Int64) throws -> [String?] {
        try writer.read { db in
            try String?.fetchAll(db, sql: "SELECT origin FROM batches WHERE session_id = ? ORDER BY seq", arguments: [id])
        }
    }

    /// Writes a merge in one transaction: the batches it adds (with their origins), every touched
    /// tensor's merged statistics and re-derived encodings, and the session marked ready. Refused,
    /// with nothing written, when another process changed the session's batch count meanwhile.
    @discardableResult
    public func commitMerge(
        _ commit: BatchCommit, origins: [String], session: Session, expectedBatches: Int, creating draft: SessionDraft?
    ) throws -> CommittedBatches {
        precondition(origins.count == commit.batches.count, "one origin per merged batch")
        return try write { db in
            let stored = try Self.insert(
                commit, db, session: session, expectedBatches: expectedBatches, creating: draft, origins: origins)
            try db.execute(
                sql: "UPDATE sessions SET status = 'ready', updated_at = ?, writer = NULL WHERE id = ?",
                arguments: [Timestamp.now(), stored.session.id])
            return stored
        }
    }
}
