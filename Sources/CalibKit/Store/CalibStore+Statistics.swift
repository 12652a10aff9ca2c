import Foundation
import GRDB

extension CalibStore {
    /// Tensors of a session with their statistics (if any) and their encodings under `label`, in the
    /// order they were first seen (model order, as the batch files list them). Tensors without an
    /// encoding under `label` are left out.
    public func reports(session id: Int64, label: String = "default", tensors filter: [String] = []) throws -> [TensorReport] {
        try writer.read { db in
            let encodings = try Self.fetchEncodings(db, session: id, label: label)
            return try Self.fetchTensors(db, session: id).compactMap { tensor, stats in
                guard Glob.matchesAny(filter, tensor.name), let e = encodings[tensor.id] else { return nil }
                return TensorReport(tensor: tensor, stats: stats, encoding: e)
            }
        }
    }

    /// One tensor's report, by name (an indexed lookup: fast on sessions of any size).
    public func report(session id: Int64, tensor name: String, label: String = "default") throws -> TensorReport? {
        try writer.read { db in
            guard let (tensor, stats) = try Self.fetchTensors(db, session: id, name: name).first,
                let e = try Self.fetchEncodings(db, session: id, label: label, tensor: tensor.id)[tensor.id]
            else { return nil }
            return TensorReport(tensor: tensor, stats: stats, encoding: e)
        }
    }

    static func fetchTensors(_ db: Database, session id: Int64, name: String? = nil) throws -> [(tensor: TensorRecord, stats: TensorStats?)] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT t.id, t.name, t.role, t.dtype, t.shape, t.channel_axis, t.channels,
                       s.observer, s.averaging_constant, s.batches, s.elements, s.nonfinite,
                       s.min, s.max, s.min_array, s.max_array
                FROM tensors t LEFT JOIN statistics s ON s.tensor_id = t.id
                WHERE t.session_id = ? \(name == nil ? "" : "AND t.name = ?") ORDER BY t.id
                """,
            arguments: name.map { [id, $0] } ?? [id]
        ).map { row in
            let axis: Int? = row["channel_axis"]
            let tensor = TensorRecord(
                id: row["id"], name: row["name"], role: TensorRole(rawValue: row["role"]) ?? .activation,
                dtype: DType(rawValue: row["dtype"]) ?? .float32,
                shape: try JSONDecoder().decode([Int].self, from: Data((row["shape"] as String).utf8)),
                channelAxis: axis, channels: row["channels"])
            guard let kind = (row["observer"] as String?).flatMap(ObserverKind.init) else { return (tensor, nil) }
            let observer = ObserverConfig(
                kind: kind, averagingConstant: (row["averaging_constant"] as Double?).map(Float.init) ?? 0.01,
                channelAxis: axis)
            let lo: [Float], hi: [Float]
            if let minArray = row["min_array"] as Data?, let maxArray = row["max_array"] as Data? {
                lo = ArrayCoding.floats(minArray)
                hi = ArrayCoding.floats(maxArray)
            } else {
                lo = [(row["min"] as Double?).map(Float.init) ?? .infinity]
                hi = [(row["max"] as Double?).map(Float.init) ?? -.infinity]
            }
            let stats = TensorStats(
                observer: observer, min: lo, max: hi, batches: row["batches"], elements: row["elements"],
                nonfinite: row["nonfinite"])
            return (tensor, stats)
        }
    }

    static func saveStats(_ db: Database, tensor id: Int64, _ stats: TensorStats) throws {
        let perChannel = stats.observer.channelAxis != nil
        // Scalars: a range never seen finite is stored as NULL (SQLite REAL has no NaN, and ±Inf reads badly).
        let scalarMin: Double? = perChannel || !stats.min[0].isFinite ? nil : Double(stats.min[0])
        let scalarMax: Double? = perChannel || !stats.max[0].isFinite ? nil : Double(stats.max[0])
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO statistics
                    (tensor_id, observer, averaging_constant, batches, elements, nonfinite, min, max, min_array, max_array)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                id, stats.observer.kind.rawValue,
                stats.observer.kind == .ema ? Double(stats.observer.averagingConstant) : nil,
                stats.batches, stats.elements, stats.nonfinite, scalarMin, scalarMax,
                perChannel ? ArrayCoding.encode(stats.min) : nil, perChannel ? ArrayCoding.encode(stats.max) : nil,
            ])
    }

    static func saveEncoding(_ db: Database, tensor id: Int64, _ e: Encoding, label: String = "default") throws {
        let perChannel = e.channelAxis != nil
        let s = e.scheme
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO encodings
                    (tensor_id, label, convention, bitwidth, symmetric, signed, reduce_range,
                     scale, offset, enc_min, enc_max, scale_array, offset_array, min_array, max_array)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                id, label, s.convention.rawValue, s.bitwidth, s.symmetric, s.signed, s.reduceRange,
                perChannel ? nil : Double(e.scale[0]), perChannel ? nil : e.offset[0],
                perChannel ? nil : Double(e.min[0]), perChannel ? nil : Double(e.max[0]),
                perChannel ? ArrayCoding.encode(e.scale) : nil, perChannel ? ArrayCoding.encode(e.offset) : nil,
                perChannel ? ArrayCoding.encode(e.min) : nil, perChannel ? ArrayCoding.encode(e.max) : nil,
            ])
    }

    static func fetchEncodings(_ db: Database, session id: Int64, label: String, tensor: Int64? = nil) throws -> [Int64: Encoding] {
        var result: [Int64: Encoding] = [:]
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT e.*, t.channel_axis FROM encodings e JOIN tensors t ON t.id = e.tensor_id
                WHERE t.session_id = ? AND e.label = ? \(tensor == nil ? "" : "AND t.id = ?")
                """,
            arguments: tensor.map { [id, label, $0] } ?? [id, label])
        for row in rows {
            let scheme = QuantScheme(
                convention: Convention(rawValue: row["convention"]) ?? .aimet, bitwidth: row["bitwidth"],
                symmetric: row["symmetric"], signed: row["signed"], reduceRange: row["reduce_range"])
            let encoding: Encoding
            if let scales = row["scale_array"] as Data? {
                encoding = Encoding(
                    scheme: scheme, channelAxis: row["channel_axis"], scale: ArrayCoding.floats(scales),
                    offset: ArrayCoding.ints(row["offset_array"]), min: ArrayCoding.floats(row["min_array"]),
                    max: ArrayCoding.floats(row["max_array"]))
            } else {
                encoding = Encoding(
                    scheme: scheme, channelAxis: nil, scale: [Float(row["scale"] as Double)], offset: [row["offset"]],
                    min: [Float(row["enc_min"] as Double)], max: [Float(row["enc_max"] as Double)])
            }
            result[row["tensor_id"]] = encoding
        }
        return result
    }
}
