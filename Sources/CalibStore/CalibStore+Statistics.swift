import CalibModel
import CalibSupport
import Foundation
import GRDB

extension CalibStore {
    /// Tensors of a session with their statistics (if any) and their encodings under `label`, in the
    /// order they were first seen (model order, as the batch files list them). Tensors without an
    /// encoding under `label` are left out.
    func fetchReports(session id: Int64, label: String, tensors filter: [String]) throws -> [TensorReport] {
        try readingRows(session: id) { db in
            let encodings = try Self.fetchEncodings(db, session: id, label: label)
            return try Self.fetchTensors(db, session: id).compactMap { tensor, stats in
                guard Glob.matchesAny(filter, tensor.name), let e = encodings[tensor.id] else { return nil }
                return TensorReport(tensor: tensor, stats: stats, encoding: e)
            }
        }
    }

    /// One tensor's report, by name (an indexed lookup: fast on sessions of any size).
    public func report(session id: Int64, tensor name: String, label: String = "default") throws -> TensorReport? {
        try readingRows(session: id) { db in
            guard let (tensor, stats) = try Self.fetchTensors(db, session: id, name: name).first,
                let e = try Self.fetchEncodings(db, session: id, label: label, tensor: tensor.id)[tensor.id]
            else { return nil }
            return TensorReport(tensor: tensor, stats: stats, encoding: e)
        }
    }

    /// Reads in one transaction, turning a value calib cannot read into an error that names the
    /// database, the session and the tensor (and says how to see every such value).
    func readingRows<T>(session id: Int64, _ body: (Database) throws -> T) throws -> T {
        try writer.read { db in
            do {
                return try body(db)
            } catch let bad as BadValue {
                let session = try String.fetchOne(db, sql: "SELECT name FROM sessions WHERE id = ?", arguments: [id]) ?? "#\(id)"
                throw StoreError.unreadable(path: path, session: bad.session ?? session, tensor: bad.tensor, bad.message)
            }
        }
    }

    /// A tensor and its statistics, by column index (`tensorRecord`, `tensorStats`).
    static let tensorRowsSQL = """
        SELECT t.id, t.name, t.role, t.dtype, t.shape, t.channel_axis, t.channels,
               s.observer, s.averaging_constant, s.batches, s.elements, s.nonfinite,
               s.min, s.max, s.min_array, s.max_array, s.digest, s.histogram
        FROM tensors t LEFT JOIN statistics s ON s.tensor_id = t.id
        """

    /// An encoding with its tensor's axis, channels and name, by column index (`encoding`).
    static let encodingRowsSQL = """
        SELECT e.tensor_id, e.convention, e.bitwidth, e.symmetric, e.signed, e.reduce_range,
               e.scale, e.offset, e.enc_min, e.enc_max, e.scale_array, e.offset_array, e.min_array, e.max_array,
               t.channel_axis, t.channels, t.name, e.digest, e.label
        FROM encodings e JOIN tensors t ON t.id = e.tensor_id
        """

    /// Rows are read through a cursor by column index, and BLOBs decoded where SQLite holds them
    /// (`withUnsafeData`): `Row.fetchAll` would copy every row, BLOBs included, before decoding.
    /// Every value is checked against its domain (`RowValues`, `validate`): a damaged row throws
    /// `BadValue` naming the tensor.
    static func fetchTensors(
        _ db: Database, session id: Int64, name: String? = nil
    ) throws -> [(tensor: TensorRecord, stats: TensorStats?)] {
        let rows = try Row.fetchCursor(
            db,
            sql: "\(tensorRowsSQL) WHERE t.session_id = ? \(name == nil ? "" : "AND t.name = ?") ORDER BY t.id",
            arguments: name.map { [id, $0] } ?? [id])
        var result: [(tensor: TensorRecord, stats: TensorStats?)] = []
        while let row = try rows.next() {
            let v = RowValues(row: row)
            let tensorName = (row[1] as DatabaseValue).storage.value as? String ?? "#\(row[0] as DatabaseValue)"
            do {
                let tensor = try tensorRecord(v)
                guard !(row[7] as DatabaseValue).isNull else {
                    result.append((tensor, nil))
                    continue
                }
                result.append((tensor, try tensorStats(v, tensor)))
            } catch var bad as BadValue {
                bad.tensor = tensorName
                throw bad
            }
        }
        return result
    }

    static func tensorRecord(_ v: RowValues) throws -> TensorRecord {
        let shapeText = try v.text(4)
        guard let dims = try? shape(shapeText), dims.allSatisfy({ $0 >= 0 }) else { throw v.bad(4, "a JSON list of sizes") }
        let axis = try v.optionalInt(5), channels = try v.int(6)
        let record = TensorRecord(
            id: Int64(try v.int(0)), name: try v.text(1), role: try v.name(2, TensorRole.self), dtype: try v.name(3, DType.self),
            shape: dims, channelAxis: axis, channels: channels)
        if let axis {
            // Imported per-channel tensors store their shape as `[channels]`.
            guard axis >= 0, (axis < dims.count && dims[axis] == channels) || dims == [channels], channels >= 1 else {
                throw BadValue(
                    message: "channel_axis \(axis) with \(channels) channels does not fit shape \(shapeText) "
                        + "(the axis must be below the rank and its size the channel count)")
            }
        } else if channels != 1 {
            throw v.bad(6, "1 (the tensor is per-tensor)")
        }
        return record
    }

    static func tensorStats(_ v: RowValues, _ tensor: TensorRecord) throws -> TensorStats {
        let kind = try v.name(7, ObserverKind.self)
        var constant: Float = 0.01
        if kind == .ema {
            guard let c = try v.float(8), c > 0 && c <= 1 else { throw v.bad(8, "an averaging constant in (0, 1]") }
            constant = c
        }
        let observer = ObserverConfig(kind: kind, averagingConstant: constant, channelAxis: tensor.channelAxis)
        let batches = try v.int(9), elements = try v.int(10), nonfinite = try v.int(11)
        for (i, n) in [(9, batches), (10, elements), (11, nonfinite)] where n < 0 { throw v.bad(i, "a count (>= 0)") }
        if nonfinite > elements { throw v.bad(11, "at most the \(elements) elements observed") }
        let lo: [Float], hi: [Float]
        if tensor.channelAxis != nil {
            guard let minArray = try v.floats(14, count: tensor.channels), let maxArray = try v.floats(15, count: tensor.channels)
            else { throw BadValue(message: "a per-channel tensor without min_array/max_array") }
            lo = minArray
            hi = maxArray
        } else {
            guard (v.row[14] as DatabaseValue).isNull, (v.row[15] as DatabaseValue).isNull else {
                throw BadValue(message: "a per-tensor tensor with min_array/max_array")
            }
            lo = [try v.float(12) ?? .infinity]
            hi = [try v.float(13) ?? -.infinity]
        }
        // A channel is a finite range, or never observed finite (+inf, -inf); NaN is never stored.
        for (a, b) in zip(lo, hi) where !((a.isFinite && b.isFinite && a <= b) || (a == .infinity && b == -.infinity)) {
            throw BadValue(message: "statistics range [\(a), \(b)] is not a range (min <= max, both finite, or never observed)")
        }
        // The histogram column (schema 7) is in the digest only when set: older rows keep theirs.
        let histogramBytes: Data?
        if case .blob(let data) = (v.row[17] as DatabaseValue).storage {
            histogramBytes = data
        } else if (v.row[17] as DatabaseValue).isNull {
            histogramBytes = nil
        } else {
            throw v.bad(17, "a BLOB (a histogram state) or NULL")
        }
        try verifyDigest(
            v, columns: [0, 5, 6] + Array(7...15) + (histogramBytes == nil ? [] : [17]), digest: 16, of: "statistics")
        guard let histogramBytes else {
            return TensorStats(observer: observer, min: lo, max: hi, batches: batches, elements: elements, nonfinite: nonfinite)
        }
        guard kind == .minmax else {
            throw BadValue(message: "a histogram state beside observer '\(kind.rawValue)' (histograms keep a minmax range)")
        }
        let histogram: HistogramState
        do {
            histogram = try HistogramState(serialized: histogramBytes)
        } catch {
            throw BadValue(
                message:
                    "column histogram holds a \(histogramBytes.count)-byte BLOB that is not a histogram state: \(error.description)"
            )
        }
        if case .aimet(let main, _, _) = histogram, main.count != tensor.channels {
            throw BadValue(message: "column histogram holds \(main.count) AIMET histograms for \(tensor.channels) channels")
        }
        if histogram.convention != .aimet && tensor.channelAxis != nil {
            throw BadValue(
                message: "column histogram holds a per-tensor \(histogram.rulesName) histogram for a per-channel tensor"
            )
        }
        return TensorStats(
            observer: ObserverConfig(kind: .histogram, channelAxis: tensor.channelAxis),
            state: .histogram(min: lo, max: hi, histogram), batches: batches, elements: elements, nonfinite: nonfinite)
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
        let values: [(any DatabaseValueConvertible)?] = [
            // A histogram observer's range is a running min/max; its histogram has a column of its own.
            (stats.observer.kind == .histogram ? ObserverKind.minmax : stats.observer.kind).rawValue,
            stats.observer.kind == .ema ? Double(stats.observer.averagingConstant) : nil,
            stats.batches, stats.elements, stats.nonfinite, scalarMin, scalarMax,
            perChannel ? ArrayCoding.encode(stats.min) : nil, perChannel ? ArrayCoding.encode(stats.max) : nil,
        ]
        let histogram = stats.histogram.map { Data($0.serialized()) }
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO statistics
                    (tensor_id, observer, averaging_constant, batches, elements, nonfinite, min, max, min_array, max_array,
                     digest, histogram)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: StatementArguments(
                [id] + values
                    + [
                        digest([id, stats.observer.channelAxis, stats.min.count] + values + (histogram.map { [$0] } ?? [])),
                        histogram,
                    ]))
    }

    static func saveEncoding(_ db: Database, tensor id: Int64, _ e: Encoding, label: String = "default") throws {
        let perChannel = e.channelAxis != nil
        let s = e.scheme
        let values: [(any DatabaseValueConvertible)?] = [
            s.convention.rawValue, s.bitwidth, s.symmetric, s.signed, s.reduceRange,
            perChannel ? nil : Double(e.scale[0]), perChannel ? nil : e.offset[0],
            perChannel ? nil : Double(e.min[0]), perChannel ? nil : Double(e.max[0]),
            perChannel ? ArrayCoding.encode(e.scale) : nil, perChannel ? ArrayCoding.encode(e.offset) : nil,
            perChannel ? ArrayCoding.encode(e.min) : nil, perChannel ? ArrayCoding.encode(e.max) : nil,
        ]
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO encodings
                    (tensor_id, label, convention, bitwidth, symmetric, signed, reduce_range,
                     scale, offset, enc_min, enc_max, scale_array, offset_array, min_array, max_array, digest)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: StatementArguments(
                [id, label] + values + [digest([id, e.channelAxis, e.scale.count, label] + values)]))
    }

    static func fetchEncodings(_ db: Database, session id: Int64, label: String, tensor: Int64? = nil) throws -> [Int64: Encoding]
    {
        var result: [Int64: Encoding] = [:]
        let rows = try Row.fetchCursor(
            db,
            sql: "\(encodingRowsSQL) WHERE t.session_id = ? AND e.label = ? \(tensor == nil ? "" : "AND t.id = ?")",
            arguments: tensor.map { [id, label, $0] } ?? [id, label])
        while let row = try rows.next() {
            do {
                result[row[0]] = try encoding(RowValues(row: row))
            } catch var bad as BadValue {
                bad.tensor = (row[16] as DatabaseValue).storage.value as? String ?? "#\(row[0] as DatabaseValue)"
                bad.message = "encoding '\(label)': \(bad.message)"
                throw bad
            }
        }
        return result
    }

    /// One encoding row. Non-finite floats were written as NULL (SQLite has no NaN) and read back
    /// as NaN, so such a row is readable and the export's coverage check names it.
    static func encoding(_ v: RowValues) throws -> Encoding {
        let scheme = QuantScheme(
            convention: try v.name(1, Convention.self), bitwidth: try v.int(2), symmetric: try v.bool(3), signed: try v.bool(4),
            reduceRange: try v.bool(5))
        do { try scheme.validate() } catch { throw BadValue(message: "\(error.description) (stored scheme)") }
        let axis = try v.optionalInt(14), channels = try v.int(15)
        let e: Encoding
        if axis != nil {
            guard let scales = try v.floats(10, count: channels), let offsets = try v.ints(11, count: channels),
                let lo = try v.floats(12, count: channels), let hi = try v.floats(13, count: channels)
            else { throw BadValue(message: "a per-channel encoding without scale/offset/min/max arrays") }
            e = Encoding(scheme: scheme, channelAxis: axis, scale: scales, offset: offsets, min: lo, max: hi)
        } else {
            e = Encoding(
                scheme: scheme, channelAxis: nil, scale: [try v.float(6) ?? .nan], offset: [try v.int(7)],
                min: [try v.float(8) ?? .nan], max: [try v.float(9) ?? .nan])
        }
        let (qmin, qmax) = scheme.quantRange
        if let c = e.offset.firstIndex(where: { -$0 < qmin || -$0 > qmax }) {
            throw BadValue(
                message: "offset \(e.offset[c])\(channels > 1 ? " of channel \(c)" : "") is off the \(scheme.bitwidth)-bit grid "
                    + "(zero point \(-e.offset[c]) outside \(qmin)...\(qmax))")
        }
        try verifyDigest(v, columns: [0, 14, 15, 18] + Array(1...13), digest: 17, of: "encoding")
        return e
    }

    /// The digest a row is written with: its values (`RowDigest`), led by its tensor's id, channel
    /// axis and channel count (and an encoding's label), so a row moved or re-shaped is found too.
    static func digest(_ values: [(any DatabaseValueConvertible)?]) -> Int64 {
        var d = RowDigest()
        d.add(values)
        return d.value
    }

    /// Throws when the row's `digest` column (at index `digest`) is not the digest of `columns`:
    /// a value was changed after calib wrote it. Rows from before schema 5 have no digest.
    static func verifyDigest(_ v: RowValues, columns: [Int], digest: Int, of what: String) throws {
        guard let stored = try v.optionalInt(digest) else { return }
        var d = RowDigest()
        for i in columns { d.add(v.row[i] as DatabaseValue) }
        guard d.value == Int64(stored) else {
            throw BadValue(
                message: "the \(what) row does not match its digest (a value was changed after calib wrote it)")
        }
    }
}
