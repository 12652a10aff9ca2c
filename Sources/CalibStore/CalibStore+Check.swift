import CalibModel
import CalibSupport
import GRDB

/// One inconsistency found by `calib check`.
public struct CheckFinding: Sendable, Equatable, CustomStringConvertible {
    public var session: String?
    public var message: String
    /// The tensor the finding is about, when it is about one.
    public var tensor: String? = nil
    public var description: String {
        let place = [session.map { "session '\($0)'" }, tensor.map { "tensor '\($0)'" }].compactMap { $0 }
        return place.isEmpty ? message : "\(place.joined(separator: ", ")): \(message)"
    }
}

extension CalibStore {
    /// SQLite's own checks, then the domain's: statistics agree with the batches, every tensor of a
    /// calibrated session has statistics and a default encoding, arrays have one value per channel,
    /// batch numbers run 0, 1, 2, …, batch hashes are digests of the session's algorithm. Returns
    /// nothing when all is well. A database whose schema is an older, complete prefix of the
    /// migrations is consistent; `schemaVersion` tells how far it is.
    public func check() throws -> [CheckFinding] {
        try writer.read { db in
            var findings: [CheckFinding] = []
            func add(_ session: String?, _ message: String) { findings.append(CheckFinding(session: session, message: message)) }
            for row in try String.fetchAll(db, sql: "PRAGMA integrity_check") where row != "ok" { add(nil, "integrity: \(row)") }
            for row in try Row.fetchAll(db, sql: "PRAGMA foreign_key_check") {
                add(
                    nil,
                    "foreign key: row \(row[1] as Int64? ?? -1) of \(row[0] as String? ?? "?") points to a missing \(row[2] as String? ?? "?")"
                )
            }
            let applied = try db.tableExists("grdb_migrations") ? try Schema.migrator.appliedIdentifiers(db) : []
            let unknown = applied.subtracting(Schema.migrationNames)
            if !unknown.isEmpty {
                add(nil, "schema has migrations this calib does not know: \(unknown.sorted().joined(separator: ", "))")
            }
            // Migrations apply in order, each in a transaction: a prefix is a consistent older schema
            // (e.g. a process killed while creating the file), upgraded by the next `calib run`.
            let prefix = Array(Schema.migrationNames.prefix(applied.count))
            if Set(prefix) != applied { add(nil, "applied migrations are not a prefix of \(Schema.migrationNames)") }
            guard applied.count == Schema.migrationNames.count else { return findings }

            for s in try Row.fetchAll(db, sql: "SELECT id, name, origin, batch_hash FROM sessions ORDER BY id") {
                let id: Int64 = s["id"], name: String = s["name"], calibrated = (s["origin"] as String) == "calibrated"
                let seqs = try Int.fetchAll(db, sql: "SELECT seq FROM batches WHERE session_id = ? ORDER BY seq", arguments: [id])
                if seqs != Array(0..<seqs.count) { add(name, "batch numbers are not 0...\(seqs.count - 1)") }
                // A batch identity of another algorithm would never match again: the batch could be counted twice.
                let algorithm: String = s["batch_hash"]
                let digits = algorithm == ContentHashAlgorithm.sha256.rawValue ? 64 : 32
                let badHashes = try Int.fetchAll(
                    db,
                    sql:
                        "SELECT seq FROM batches WHERE session_id = ? AND (length(content_hash) <> ? OR content_hash GLOB '*[^0-9a-f]*') ORDER BY seq",
                    arguments: [id, digits])
                if let first = badHashes.first {
                    add(
                        name,
                        "\(badHashes.count) batch\(badHashes.count == 1 ? "" : "es") (first: \(first)) without a \(algorithm) content hash"
                    )
                }
                let batchTensors =
                    try Int.fetchOne(
                        db, sql: "SELECT coalesce(sum(tensors), 0) FROM batches WHERE session_id = ?", arguments: [id]) ?? 0
                let batchElements =
                    try Int.fetchOne(
                        db, sql: "SELECT coalesce(sum(elements), 0) FROM batches WHERE session_id = ?", arguments: [id]) ?? 0
                let stats = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT coalesce(sum(s.batches), 0) AS b, coalesce(sum(s.elements), 0) AS e, max(s.batches) AS m
                        FROM statistics s JOIN tensors t ON t.id = s.tensor_id WHERE t.session_id = ?
                        """, arguments: [id])!
                if calibrated {
                    if stats["b"] as Int != batchTensors {
                        add(name, "statistics count \(stats["b"] as Int) tensor-batches but the batches hold \(batchTensors)")
                    }
                    if stats["e"] as Int != batchElements {
                        add(name, "statistics count \(stats["e"] as Int) elements but the batches hold \(batchElements)")
                    }
                    if let m = stats["m"] as Int?, m > seqs.count {
                        add(name, "a tensor counts \(m) batches, the session has \(seqs.count)")
                    }
                    for t in try String.fetchAll(
                        db, sql: "SELECT name FROM tensors WHERE session_id = ? AND id NOT IN (SELECT tensor_id FROM statistics)",
                        arguments: [id])
                    {
                        add(name, "tensor '\(t)' has no statistics")
                    }
                }
                for t in try String.fetchAll(
                    db,
                    sql:
                        "SELECT name FROM tensors WHERE session_id = ? AND id NOT IN (SELECT tensor_id FROM encodings WHERE label = 'default')",
                    arguments: [id])
                {
                    add(name, "tensor '\(t)' has no encoding")
                }
                for t in try String.fetchAll(
                    db,
                    sql: """
                        SELECT t.name FROM tensors t JOIN statistics s ON s.tensor_id = t.id
                        WHERE t.session_id = ? AND (
                            (t.channel_axis IS NULL AND s.min_array IS NOT NULL) OR
                            (t.channel_axis IS NOT NULL AND (length(s.min_array) <> 4 * t.channels OR length(s.max_array) <> 4 * t.channels)))
                        UNION
                        SELECT t.name FROM tensors t JOIN encodings e ON e.tensor_id = t.id
                        WHERE t.session_id = ? AND t.channel_axis IS NOT NULL AND (
                            length(e.scale_array) <> 4 * t.channels OR length(e.offset_array) <> 8 * t.channels)
                        """,
                    arguments: [id, id])
                {
                    add(name, "tensor '\(t)' has arrays that do not hold one value per channel")
                }
            }
            return findings
        }
    }
}
