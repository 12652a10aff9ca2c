import CalibModel
import CalibSupport
import Foundation
import GRDB

extension CalibStore {
    /// Stores `reports`' encodings under `label` (replacing a set of that name), in one transaction.
    public func saveEncodingSet(label: String, options: String, reports: [TensorReport], session: Session) throws {
        precondition(label != "default")
        try write { db in
            let batches = try Self.batchCount(db, session: session.id)
            try db.execute(
                sql: "DELETE FROM encodings WHERE label = ? AND tensor_id IN (SELECT id FROM tensors WHERE session_id = ?)",
                arguments: [label, session.id])
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO encoding_sets (session_id, label, options, batches, created_at)
                    VALUES (?, ?, ?, ?, ?)
                    """,
                arguments: [session.id, label, options, batches, Timestamp.now()])
            for r in reports { try Self.saveEncoding(db, tensor: r.tensor.id, r.encoding, label: label) }
        }
    }

    public func encodingSets(session id: Int64) throws -> [EncodingSet] {
        try readingRows(session: id) { db in
            try Row.fetchAll(
                db, sql: "SELECT label, options, batches, created_at FROM encoding_sets WHERE session_id = ? ORDER BY label",
                arguments: [id]
            ).map {
                let v = RowValues(row: $0)
                do {
                    return EncodingSet(
                        label: try v.text(0), options: try v.text(1), batches: try v.int(2), createdAt: try v.text(3))
                } catch var bad as BadValue {
                    bad.message = "encoding set: \(bad.message)"
                    throw bad
                }
            }
        }
    }

    /// Tensors of a session with their statistics (if any) and their encodings under `label`, in the
    /// order they were first seen (model order, as the batch files list them); `filter` globs select
    /// tensors. Throws when the session has no encoding set of that label.
    public func reports(session: Session, label: String = "default", tensors filter: [String] = []) throws -> [TensorReport] {
        if label != "default", try !encodingSets(session: session.id).contains(where: { $0.label == label }) {
            throw StoreError.incompatible(
                session: session.name, tensor: nil, "has no encoding set labelled '\(label)' (make one with `calib derive`)")
        }
        // One exact name: an indexed lookup, fast on sessions of any size.
        if filter.count == 1, Glob.isLiteral(filter[0]) {
            return try report(session: session.id, tensor: filter[0], label: label).map { [$0] } ?? []
        }
        return try fetchReports(session: session.id, label: label, tensors: filter)
    }
}
