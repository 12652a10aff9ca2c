import CalibModel
import CalibSupport
import Foundation
import GRDB

extension CalibStore {
    /// Creates an encodings-only session from another tool's file, in one transaction. Entries that
    /// carry ranges (ONNX Runtime tables) also get statistics, so they can be re-derived.
    @discardableResult
    public func importTable(_ table: EncodingTable, session name: String, source: String, notes: String? = nil) throws -> Session
    {
        if let problem = Names.sessionProblem(name) { throw NameError(problem) }
        guard !table.entries.isEmpty else {
            throw StoreError.incompatible(session: name, tensor: nil, "the file holds no encodings")
        }
        return try write { db in
            if try Self.fetchSession(db, name: name) != nil { throw StoreError.sessionExists(name) }
            let first = table.entries[0].encoding.scheme
            let now = Timestamp.now()
            try db.execute(
                sql: """
                    INSERT INTO sessions (name, created_at, updated_at, status, stats_config, encoding_config,
                                          tool_version, notes, origin, imported_from)
                    VALUES (?, ?, ?, 'ready', ?, ?, ?, ?, 'imported', ?)
                    """,
                arguments: [
                    name, now, now, try Self.json(StatsConfig(ObserverConfig(), [])), try Self.json(first),
                    CalibVersion.current, notes, source,
                ])
            let session = try Self.fetchSession(db, name: name)!
            var seen = Set<ExactName>()
            for entry in table.entries {
                guard seen.insert(ExactName(entry.name)).inserted else {
                    throw StoreError.incompatible(session: name, tensor: entry.name, "appears twice in the file")
                }
                let e = entry.encoding
                let record = TensorRecord(
                    id: 0, name: entry.name, role: entry.role, dtype: .float32,
                    shape: e.channelAxis == nil ? [] : [e.channelCount],
                    channelAxis: e.channelAxis, channels: e.channelCount)
                let id = try Self.saveTensor(db, session: session.id, record, isNew: true)
                if let lo = entry.observedMin, let hi = entry.observedMax {
                    let stats = TensorStats(
                        observer: ObserverConfig(channelAxis: e.channelAxis), min: lo, max: hi, batches: 0, elements: 0,
                        nonfinite: 0)
                    try Self.saveStats(db, tensor: id, stats)
                }
                try Self.saveEncoding(db, tensor: id, e)
            }
            return session
        }
    }
}
