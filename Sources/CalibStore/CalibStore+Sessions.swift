import CalibModel
import CalibSupport
import Foundation
import GRDB

extension CalibStore {
    /// All sessions with their counts, oldest first.
    public func sessions() throws -> [SessionSummary] {
        try naming { try readSessions() }
    }

    private func readSessions() throws -> [SessionSummary] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT s.*,
                        (SELECT count(*) FROM batches b WHERE b.session_id = s.id) AS n_batches,
                        (SELECT count(*) FROM tensors t WHERE t.session_id = s.id) AS n_tensors,
                        (SELECT coalesce(sum(elements), 0) FROM batches b WHERE b.session_id = s.id) AS n_elements
                    FROM sessions s ORDER BY s.created_at, s.id
                    """
            ).map { row in
                SessionSummary(
                    session: try Self.session(row), batches: row["n_batches"], tensors: row["n_tensors"],
                    elements: row["n_elements"])
            }
        }
    }

    /// The session named `name`, or nil.
    public func session(named name: String) throws -> Session? {
        try naming { try writer.read { db in try Self.fetchSession(db, name: name) } }
    }

    /// The session named `name`; throws `noSuchSession` when missing.
    public func requireSession(_ name: String) throws -> Session {
        guard let session = try session(named: name) else { throw StoreError.noSuchSession(name) }
        return session
    }

    /// Creates a new, empty session.
    @discardableResult
    public func createSession(
        name: String, observer: ObserverConfig, tensorFilter: [String] = [], scheme: QuantScheme,
        model: String? = nil, dataset: String? = nil, notes: String? = nil, importedFrom: String? = nil
    ) throws -> Session {
        let draft = SessionDraft(
            name: name, observer: observer, tensorFilter: tensorFilter, scheme: scheme, model: model, dataset: dataset,
            notes: notes, importedFrom: importedFrom)
        try draft.validate()
        return try write { db in try Self.insertSession(db, draft, status: .empty) }
    }

    /// Inserts `draft`'s row; refuses a name that exists.
    static func insertSession(_ db: Database, _ draft: SessionDraft, status: Session.Status) throws -> Session {
        if try fetchSession(db, name: draft.name) != nil { throw StoreError.sessionExists(draft.name) }
        let now = Timestamp.now()
        try db.execute(
            sql: """
                INSERT INTO sessions (name, created_at, updated_at, status, stats_config, encoding_config,
                                      tool_version, model, dataset, notes, origin, imported_from, batch_hash, writer)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                draft.name, now, now, status.rawValue, try json(StatsConfig(draft.observer, draft.tensorFilter)),
                try json(draft.scheme), CalibVersion.current, draft.model, draft.dataset, draft.notes,
                draft.importedFrom == nil ? "calibrated" : "imported", draft.importedFrom, ContentHashAlgorithm.current.rawValue,
                status == .running ? try writerJSON() : nil,
            ])
        return try fetchSession(db, name: draft.name)!
    }

    /// Changes a session's provenance fields (nil leaves a field as it is).
    public func updateSession(_ name: String, model: String?, dataset: String?, notes: String?) throws {
        try write { db in
            try db.execute(
                sql: """
                    UPDATE sessions SET model = coalesce(?, model), dataset = coalesce(?, dataset),
                        notes = coalesce(?, notes), updated_at = ? WHERE name = ?
                    """,
                arguments: [model, dataset, notes, Timestamp.now(), name])
        }
    }

    /// Sets the session's status (e.g. `running` at the start of a run, `ready` at its end). `running`
    /// records this process as the writer; any other status clears it.
    public func setStatus(_ status: Session.Status, session id: Int64) throws {
        try write { db in
            try db.execute(
                sql: "UPDATE sessions SET status = ?, updated_at = ?, writer = ? WHERE id = ?",
                arguments: [status.rawValue, Timestamp.now(), status == .running ? try Self.writerJSON() : nil, id])
        }
    }

    /// This process as `sessions.writer` holds it.
    static func writerJSON() throws -> String { try json(ProcessIdentity.current) }

    /// Records the encoding settings the latest run asked for (the session's default for new activations).
    public func setDefaultScheme(_ scheme: QuantScheme, session id: Int64) throws {
        try write { db in
            try db.execute(
                sql: "UPDATE sessions SET encoding_config = ?, updated_at = ? WHERE id = ?",
                arguments: [try Self.json(scheme), Timestamp.now(), id])
        }
    }

    /// Deletes a session and everything it holds.
    /// - Parameter onlyIfEmpty: leave it when it holds a batch (a run removing the session it created
    ///   and could not fill, while another process may have filled it since).
    public func deleteSession(_ name: String, onlyIfEmpty: Bool = false) throws {
        try write { db in
            guard let session = try Self.fetchSession(db, name: name) else { throw StoreError.noSuchSession(name) }
            if onlyIfEmpty, try Self.batchCount(db, session: session.id) > 0 { return }
            try db.execute(sql: "DELETE FROM sessions WHERE name = ?", arguments: [name])
        }
    }

    static func fetchSession(_ db: Database, name: String) throws -> Session? {
        try Row.fetchOne(db, sql: "SELECT * FROM sessions WHERE name = ?", arguments: [name]).map(session)
    }

    /// A session row; a value calib cannot read throws `BadValue` naming the session.
    static func session(_ row: Row) throws -> Session {
        let name = (row["name"] as DatabaseValue).storage.value as? String ?? "#\(row["id"] as DatabaseValue)"
        let names = Array(row.columnNames)
        func column(_ key: String) -> Int { names.firstIndex(of: key)! }
        let v = RowValues(row: row)
        do {
            let statsText = try v.text(column("stats_config")), schemeText = try v.text(column("encoding_config"))
            let stats: StatsConfig, scheme: QuantScheme
            do {
                stats = try JSONDecoder().decode(StatsConfig.self, from: Data(statsText.utf8))
                scheme = try JSONDecoder().decode(QuantScheme.self, from: Data(schemeText.utf8))
            } catch {
                throw BadValue(message: "stats_config or encoding_config is not the JSON calib writes")
            }
            func optionalText(_ key: String) throws -> String? {
                (row[key] as DatabaseValue).isNull ? nil : try v.text(column(key))
            }
            func known<T: RawRepresentable<String>>(_ key: String, _ type: T.Type, _ names: String) throws -> T {
                guard let value = T(rawValue: try v.text(column(key))) else { throw v.bad(column(key), names) }
                return value
            }
            return Session(
                id: Int64(try v.int(column("id"))), name: try v.text(column("name")), createdAt: try v.text(column("created_at")),
                updatedAt: try v.text(column("updated_at")),
                status: try known("status", Session.Status.self, "'empty', 'running', 'ready' or 'interrupted'"),
                observer: ObserverConfig(
                    kind: stats.observer, averagingConstant: stats.averagingConstant, channelAxis: stats.perChannelAxis),
                tensorFilter: stats.tensors, scheme: scheme, toolVersion: try v.text(column("tool_version")),
                model: try optionalText("model"), dataset: try optionalText("dataset"), notes: try optionalText("notes"),
                origin: try known("origin", Session.Origin.self, "'calibrated' or 'imported'"),
                importedFrom: try optionalText("imported_from"),
                batchHash: try known("batch_hash", ContentHashAlgorithm.self, "'xxh3-128' or 'sha256'"),
                writer: writer(row))
        } catch var bad as BadValue {
            bad.session = name
            throw bad
        }
    }

    /// `sessions.writer`; nil when absent (older schema, no run writing) or not the JSON calib writes
    /// (advisory only: `calib check` reports it, readers go on).
    static func writer(_ row: Row) -> ProcessIdentity? {
        guard row.hasColumn("writer"), case .string(let text) = (row["writer"] as DatabaseValue).storage else { return nil }
        return try? JSONDecoder().decode(ProcessIdentity.self, from: Data(text.utf8))
    }

    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// A session not stored yet. A run creates its session in the transaction of its first batch, so a
/// run that stores nothing (refused, killed, empty input) leaves no empty session behind.
public struct SessionDraft: Sendable {
    public var name: String
    public var observer: ObserverConfig
    public var tensorFilter: [String]
    public var scheme: QuantScheme
    public var model: String?
    public var dataset: String?
    public var notes: String?
    public var importedFrom: String?

    public init(
        name: String, observer: ObserverConfig, tensorFilter: [String] = [], scheme: QuantScheme, model: String? = nil,
        dataset: String? = nil, notes: String? = nil, importedFrom: String? = nil
    ) {
        self.name = name
        self.observer = observer
        self.tensorFilter = tensorFilter
        self.scheme = scheme
        self.model = model
        self.dataset = dataset
        self.notes = notes
        self.importedFrom = importedFrom
    }

    /// Refuses a name the store cannot hold unambiguously.
    public func validate() throws {
        if let problem = Names.sessionProblem(name) { throw NameError(problem) }
    }
}

/// The JSON in `sessions.stats_config`.
struct StatsConfig: Codable {
    var observer: ObserverKind
    var averagingConstant: Float
    var perChannelAxis: Int?
    var tensors: [String]

    init(_ config: ObserverConfig, _ tensors: [String]) {
        observer = config.kind
        averagingConstant = config.averagingConstant
        perChannelAxis = config.channelAxis
        self.tensors = tensors
    }

    enum CodingKeys: String, CodingKey {
        case observer, tensors
        case averagingConstant = "averaging_constant"
        case perChannelAxis = "per_channel_axis"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(observer, forKey: .observer)
        try c.encode(averagingConstant, forKey: .averagingConstant)
        try c.encode(perChannelAxis, forKey: .perChannelAxis)  // explicit null: per-tensor
        try c.encode(tensors, forKey: .tensors)
    }
}
