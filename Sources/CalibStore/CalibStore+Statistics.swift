import CalibModel
import CalibSupport
import Foundation
import GRDB

extension CalibStore {
    /// Tensors of a session with their statistics (if any) and their encodings under `label`, in the
    /// order they were first seen (model order, as the batch files list them). Tensors without an
    /// encoding under `label` are left out.
    func fetchReports(session id: Int64, label: String, tensors filter: [String]) throws -> [TensorReport] {
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

    /// Rows are read through a cursor by column index, and BLOBs decoded where SQLite holds them
    /// (`withUnsafeData`): `Row.fetchAll` would copy every row, BLOBs included, before decoding.
    static func fetchTensors(
        _ db: Database, session id: Int64, name: String? = nil
    ) throws -> [(tensor: TensorRecord, stats: TensorStats?)] {
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT t.id, t.name, t.role, t.dtype, t.shape, t.channel_axis, t.channels,
                       s.observer, s.averaging_constant, s.batches, s.elements, s.nonfinite,
                       s.min, s.max, s.min_array, s.max_array
                FROM tensors t LEFT JOIN statistics s ON s.tensor_id = t.id
                WHERE t.session_id = ? \(name == nil ? "" : "AND t.name = ?") ORDER BY t.id
                """,
            arguments: name.map { [id, $0] } ?? [id])
        var result: [(tensor: TensorRecord, stats: TensorStats?)] = []
        while let row = try rows.next() {
            let axis: Int? = row[5]
            let tensor = TensorRecord(
                id: row[0], name: row[1], role: TensorRole(rawValue: row[2]) ?? .activation,
                dtype: DType(rawValue: row[3]) ?? .float32, shape: try shape(row[4]), channelAxis: axis, channels: row[6])
            guard let kind = (row[7] as String?).flatMap(ObserverKind.init) else {
                result.append((tensor, nil))
                continue
            }
            let observer = ObserverConfig(
                kind: kind, averagingConstant: (row[8] as Double?).map(Float.init) ?? 0.01, channelAxis: axis)
            let lo: [Float], hi: [Float]
            if let minArray = try floats(row, 14), let maxArray = try floats(row, 15) {
                lo = minArray
                hi = maxArray
            } else {
                lo = [(row[12] as Double?).map(Float.init) ?? .infinity]
                hi = [(row[13] as Double?).map(Float.init) ?? -.infinity]
            }
            let stats = TensorStats(observer: observer, min: lo, max: hi, batches: row[9], elements: row[10], nonfinite: row[11])
            result.append((tensor, stats))
        }
        return result
    }

    /// A float32 BLOB column, decoded where SQLite holds it; nil when NULL.
    private static func floats(_ row: Row, _ index: Int) throws -> [Float]? {
        try row.withUnsafeData(atIndex: index) { $0.map(ArrayCoding.floats) }
    }

    /// An int64 BLOB column, nil when NULL.
    private static func ints(_ row: Row, _ index: Int) throws -> [Int]? {
        try row.withUnsafeData(atIndex: index) { $0.map(ArrayCoding.ints) }
    }

    /// The `shape` column, `[d0, d1, ...]` as calib writes it, without a JSONDecoder per row (any
    /// other spelling still goes through one).
    static func shape(_ text: String) throws -> [Int] {
        if text.hasPrefix("["), text.hasSuffix("]") {
            let inner = text.dropFirst().dropLast()
            if inner.allSatisfy({ $0 == " " }) { return [] }
            let dims = inner.split(separator: ",", omittingEmptySubsequences: false).map {
                Int($0.trimmingCharacters(in: .whitespaces))
            }
            if dims.allSatisfy({ $0 != nil }) { return dims.map { $0! } }
        }
        return try JSONDecoder().decode([Int].self, from: Data(text.utf8))
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

    static func fetchEncodings(_ db: Database, session id: Int64, label: String, tensor: Int64? = nil) throws -> [Int64: Encoding]
    {
        var result: [Int64: Encoding] = [:]
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT e.tensor_id, e.convention, e.bitwidth, e.symmetric, e.signed, e.reduce_range,
                       e.scale, e.offset, e.enc_min, e.enc_max, e.scale_array, e.offset_array, e.min_array, e.max_array,
                       t.channel_axis
                FROM encodings e JOIN tensors t ON t.id = e.tensor_id
                WHERE t.session_id = ? AND e.label = ? \(tensor == nil ? "" : "AND t.id = ?")
                """,
            arguments: tensor.map { [id, label, $0] } ?? [id, label])
        while let row = try rows.next() {
            let scheme = QuantScheme(
                convention: Convention(rawValue: row[1]) ?? .aimet, bitwidth: row[2],
                symmetric: row[3], signed: row[4], reduceRange: row[5])
            let encoding: Encoding
            if let scales = try floats(row, 10) {
                encoding = Encoding(
                    scheme: scheme, channelAxis: row[14], scale: scales, offset: try ints(row, 11) ?? [],
                    min: try floats(row, 12) ?? [], max: try floats(row, 13) ?? [])
            } else {
                encoding = Encoding(
                    scheme: scheme, channelAxis: nil, scale: [Float(row[6] as Double)], offset: [row[7]],
                    min: [Float(row[8] as Double)], max: [Float(row[9] as Double)])
            }
            result[row[0]] = encoding
        }
        return result
    }
}
