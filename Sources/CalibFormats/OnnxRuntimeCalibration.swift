import CalibModel
import CalibSupport
import Foundation

/// ONNX Runtime's calibration files: what `onnxruntime.quantization.write_calibration_table` writes
/// (`calibration.json`, `calibration.flatbuffers`, `calibration.cache`, read by the TensorRT execution
/// provider and by people) and the JSON cache `quantize_static(calibration_cache_path=...)` reads.
///
/// These files carry ranges, not encodings: one `lowest`/`highest` pair per tensor. Exports write each
/// entry's range:
/// - its observed range when the entry has one (`observedMin`/`observedMax`), else its encoding's
///   representable range (`encoding.min`/`encoding.max`);
/// - per-tensor: a per-channel entry is written as the minimum of its channels' minimums and the
///   maximum of their maximums (ONNX Runtime's TensorRT table cannot hold more than one value; `calib
///   export` refuses such entries instead, see `EncodingFormat.unwritable`);
/// - non-finite values (a channel never observed) are left out; a tensor with no finite value is
///   written as 0 ... 0.
///
/// Imports give activation entries with `observedMin`/`observedMax` set and
/// `encoding = Encoding(observedMin:observedMax:scheme:channelAxis:)` under the scheme the caller picks.
public enum OnnxRuntimeCalibration {
    static let jsonFormat = "ONNX Runtime calibration JSON"
    static let flatBuffersFormat = "ONNX Runtime calibration flatbuffers"
    static let cacheFormat = "ONNX Runtime calibration cache"

    // MARK: - Export

    /// `calibration.json` as `write_calibration_table(compute_data())` writes it: the `TensorsData`
    /// (`{"CLS": "TensorsData", "data": {NAME: {"lowest": {"data": [f], "dtype": "float32", "CLS":
    /// "numpy.array"}, "highest": ..., "CLS": "TensorData"}}, "calibration_method": {"CLS":
    /// "CalibrationMethod", "value": "CalibrationMethod.MinMax"}}`), one line, `json.dumps` spacing and
    /// escaping, tensors in table order, no trailing newline.
    public static func calibrationJSON(_ table: EncodingTable) -> String {
        tensorsData(table, smoothQuant: nil).pythonJSON(indent: nil)
    }

    /// The calibration cache `quantize_static(calibration_cache_path=PATH)` loads instead of calibrating
    /// (`save_tensors_data`): the `calibrationJSON` layout plus `"smooth_quant": false`, which must match
    /// the run's `extra_options["SmoothQuant"]` (default false) or ONNX Runtime recalibrates. Load it with
    /// `calibrate_method=CalibrationMethod.MinMax`.
    public static func quantizeStaticCache(_ table: EncodingTable) -> String {
        tensorsData(table, smoothQuant: false).pythonJSON(indent: nil)
    }

    /// `calibration.flatbuffers`: `TrtTable { dict: [KeyValue] }`, `KeyValue { key: string; value: string }`,
    /// value the decimal `max(highest, lowest)`, built as ONNX Runtime builds it (so the bytes are the
    /// same): key/value pairs created in sorted key order, the dict vector therefore in reverse sorted
    /// order.
    public static func flatbuffers(_ table: EncodingTable) -> Data {
        var builder = FlatBufferBuilder()
        var pairs: [FlatBufferBuilder.Offset] = []
        for (name, value) in cacheValues(table) {
            let key = builder.createString(name)
            let text = builder.createString(value)
            builder.startTable(fieldCount: 2)
            builder.addOffsetField(0, key)
            builder.addOffsetField(1, text)
            pairs.append(builder.endTable())
        }
        builder.startOffsetVector(count: pairs.count)
        for pair in pairs { builder.prependOffset(pair) }
        let dict = builder.endVector()
        builder.startTable(fieldCount: 1)
        builder.addOffsetField(0, dict)
        let root = builder.endTable()
        return builder.finish(root: root)
    }

    /// `calibration.cache`: one `NAME VALUE` line per tensor in sorted name order, VALUE Python's
    /// `str(max(highest, lowest))` (that is `highest`, not the absolute maximum), each line ending in "\n".
    public static func cache(_ table: EncodingTable) -> String {
        cacheValues(table).map { "\($0.0) \($0.1)\n" }.joined()
    }

    /// The per-tensor range written for an entry (see the type's documentation).
    static func range(_ entry: EncodingTable.Entry) -> (lowest: Float, highest: Float) {
        let lows = entry.observedMin ?? entry.encoding.min
        let highs = entry.observedMax ?? entry.encoding.max
        let lowest = lows.filter(\.isFinite).min() ?? 0
        let highest = highs.filter(\.isFinite).max() ?? 0
        return (lowest, highest)
    }

    private static func tensorsData(_ table: EncodingTable, smoothQuant: Bool?) -> JSONValue {
        func array(_ f: Float) -> JSONValue {
            .object([("data", .array([.float(f)])), ("dtype", .string("float32")), ("CLS", .string("numpy.array"))])
        }
        var members: [(String, JSONValue)] = [
            ("CLS", .string("TensorsData")),
            (
                "data",
                .object(
                    table.entries.map { entry in
                        let (lowest, highest) = range(entry)
                        return (
                            entry.name,
                            .object([("lowest", array(lowest)), ("highest", array(highest)), ("CLS", .string("TensorData"))])
                        )
                    })
            ),
            (
                "calibration_method",
                .object([("CLS", .string("CalibrationMethod")), ("value", .string("CalibrationMethod.MinMax"))])
            ),
        ]
        if let smoothQuant { members.append(("smooth_quant", .bool(smoothQuant))) }
        return .object(members)
    }

    /// `(name, str(max(highest, lowest)))` in Python's `sorted` order (by code point).
    private static func cacheValues(_ table: EncodingTable) -> [(String, String)] {
        table.entries
            .map { entry -> (String, String) in
                let (lowest, highest) = range(entry)
                // Python's max([highest, lowest]) keeps `highest` unless `lowest` compares greater.
                return (entry.name, pythonStr(lowest > highest ? lowest : highest))
            }
            .sorted { $0.0.unicodeScalars.lexicographicallyPrecedes($1.0.unicodeScalars) }
    }

    /// Python's `str(float(x))` of a float32.
    static func pythonStr(_ f: Float) -> String {
        if f.isNaN { return "nan" }
        if f.isInfinite { return f < 0 ? "-inf" : "inf" }
        return JSONValue.format(f)
    }

    // MARK: - Import

    /// Reads a `calibration.json` or `quantize_static` cache: the `TensorsData` layout, or a bare
    /// `{NAME: TensorData}` object (what `write_calibration_table(tensors.data)` writes), or older
    /// `{NAME: [lowest, highest]}` pairs. `lowest`/`highest` may be `numpy.array` objects or plain numbers
    /// (Python's `NaN`/`Infinity` accepted). Other `TensorData` members (`hist`, `bins`, `avg`, ...) are
    /// ignored. A `data` list of several values (the per-channel calibrater) gives a per-channel entry on
    /// channel axis 1, the axis ONNX Runtime keeps.
    public static func parseCalibrationJSON(_ data: Data, derive: RangeEncoder) throws -> EncodingTable {
        func fail(_ m: String) -> FormatError { FormatError(format: jsonFormat, m) }
        let root: JSONValue
        do {
            root = try JSONValue.parse(data, allowNonFinite: true)
        } catch let e as FormatError {
            throw fail("invalid JSON: \(e.message)")
        }
        guard case .object = root else { throw fail("the document must be a JSON object, found \(root.kind)") }
        var tensors = root
        if root.member("CLS") != nil || root.member("data") != nil {
            guard root.member("CLS")?.stringValue == "TensorsData" else { throw fail("CLS must be \"TensorsData\"") }
            guard let d = root.member("data"), case .object = d else { throw fail("data must be an object of tensors") }
            tensors = d
        }
        var entries: [EncodingTable.Entry] = []
        var names: Set<ExactName> = []
        for (name, value) in tensors.objectValue ?? [] {
            guard names.insert(ExactName(name)).inserted else { throw fail("tensor '\(name)' appears twice") }
            let lows: [Float], highs: [Float]
            switch value {
            case .array(let pair):
                guard pair.count == 2, let lo = values(pair[0]), let hi = values(pair[1]) else {
                    throw fail("tensor '\(name)' must be a TensorData object or a [lowest, highest] pair")
                }
                (lows, highs) = (lo, hi)
            case .object:
                if let cls = value.member("CLS"), cls.stringValue != "TensorData" {
                    throw fail("tensor '\(name)': CLS must be \"TensorData\"")
                }
                guard let lo = value.member("lowest"), let hi = value.member("highest") else {
                    throw fail("tensor '\(name)' has no lowest/highest range")
                }
                guard let l = values(lo) else {
                    throw fail("tensor '\(name)': lowest must be a number or a numpy.array of float32")
                }
                guard let h = values(hi) else {
                    throw fail("tensor '\(name)': highest must be a number or a numpy.array of float32")
                }
                (lows, highs) = (l, h)
            default:
                throw fail("tensor '\(name)' must be a TensorData object, found \(value.kind)")
            }
            guard !lows.isEmpty, lows.count == highs.count else {
                throw fail("tensor '\(name)': \(lows.count) lowest values but \(highs.count) highest values")
            }
            entries.append(entry(name, lows, highs, derive: derive, channelAxis: lows.count > 1 ? 1 : nil))
        }
        return try EncodingTable(entries: entries).validated(format: jsonFormat)
    }

    /// A number, or a `{"data": number or [numbers], "dtype": "float32"|"float16", "CLS": "numpy.array"}`.
    private static func values(_ v: JSONValue) -> [Float]? {
        if let f = v.floatValue { return [f] }
        guard case .object = v, let data = v.member("data") else { return nil }
        if let cls = v.member("CLS"), cls.stringValue != "numpy.array" { return nil }
        if let f = data.floatValue { return [f] }
        guard let items = data.arrayValue else { return nil }
        var out: [Float] = []
        for item in items {
            guard let f = item.floatValue else { return nil }
            out.append(f)
        }
        return out
    }

    /// Reads `calibration.flatbuffers`. It holds one value per tensor, `max(highest, lowest)`, which the
    /// TensorRT execution provider uses as the dynamic range ±value: the import assumes the range
    /// `-|value| ... |value|`.
    public static func parseFlatbuffers(_ data: Data, derive: RangeEncoder) throws -> EncodingTable {
        let reader = FlatBufferReader(data, format: flatBuffersFormat)
        let root = try reader.rootTable()
        guard let dictField = try reader.field(0, ofTable: root, "TrtTable") else {
            throw FormatError(format: flatBuffersFormat, "the file holds no encodings")
        }
        let dict = try reader.target(ofOffsetAt: dictField, "TrtTable.dict")
        var pairs: [(String, String)] = []
        for (i, slot) in try reader.offsetVector(at: dict, "TrtTable.dict").enumerated() {
            let what = "TrtTable.dict[\(i)]"
            let kv = try reader.target(ofOffsetAt: slot, what)
            guard let keyField = try reader.field(0, ofTable: kv, what) else {
                throw FormatError(format: flatBuffersFormat, "\(what) has no key")
            }
            guard let valueField = try reader.field(1, ofTable: kv, what) else {
                throw FormatError(format: flatBuffersFormat, "\(what) has no value")
            }
            let key = try reader.string(at: try reader.target(ofOffsetAt: keyField, "\(what).key"), "\(what).key")
            let value = try reader.string(at: try reader.target(ofOffsetAt: valueField, "\(what).value"), "\(what).value")
            pairs.append((key, value))
        }
        // The file lists pairs in reverse sorted order; the table lists them sorted, as the cache does.
        pairs.sort { $0.0.unicodeScalars.lexicographicallyPrecedes($1.0.unicodeScalars) }
        return try valueTable(pairs, derive: derive, format: flatBuffersFormat)
    }

    /// Reads `calibration.cache`: `NAME VALUE` lines (split at the last space, so names may contain
    /// spaces); blank lines are skipped. Like the flatbuffers table it holds `max(highest, lowest)` only:
    /// the import assumes the range `-|value| ... |value|`.
    public static func parseCache(_ data: Data, derive: RangeEncoder) throws -> EncodingTable {
        guard let text = String(validatingUTF8Bytes: [UInt8](data)) else {
            throw FormatError(format: cacheFormat, "the file is not UTF-8 text")
        }
        var pairs: [(String, String)] = []
        for (n, line) in lines(of: text).enumerated() {
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            guard let space = line.lastIndex(of: " "), space != line.startIndex else {
                throw FormatError(format: cacheFormat, "line \(n + 1): expected 'NAME VALUE', found '\(line.prefix(80))'")
            }
            pairs.append((String(line[..<space]), String(line[line.index(after: space)...])))
        }
        return try valueTable(pairs, derive: derive, format: cacheFormat)
    }

    /// The lines of a text split at LF, a trailing CR removed from each (by scalars: Swift's
    /// `Character` would keep CR LF together).
    static func lines(of text: String) -> [String] {
        text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { scalars in
            var line = String.UnicodeScalarView(scalars)
            if line.last == "\r" { line.removeLast() }
            return String(line)
        }
    }

    private static func valueTable(_ pairs: [(String, String)], derive: RangeEncoder, format: String) throws -> EncodingTable {
        var names: Set<ExactName> = []
        var entries: [EncodingTable.Entry] = []
        for (name, text) in pairs {
            guard names.insert(ExactName(name)).inserted else {
                throw FormatError(format: format, "tensor '\(name)' appears twice")
            }
            guard let d = Double(text) else {
                throw FormatError(format: format, "tensor '\(name)': value '\(text.prefix(40))' is not a number")
            }
            let amax = abs(Float(d))
            entries.append(entry(name, [-amax], [amax], derive: derive, channelAxis: nil))
        }
        return try EncodingTable(entries: entries).validated(format: format)
    }

    /// An imported entry. The encoding is derived from the range with NaN read as 0 and ±infinity as
    /// the largest finite float32 (the observed range keeps them as the file has them), so no value in
    /// a file can make a convention's arithmetic trap.
    static func entry(
        _ name: String, _ lows: [Float], _ highs: [Float], derive: RangeEncoder, channelAxis: Int?
    ) -> EncodingTable.Entry {
        func finite(_ x: Float) -> Float {
            x.isNaN ? 0 : Swift.min(Swift.max(x, -.greatestFiniteMagnitude), .greatestFiniteMagnitude)
        }
        return EncodingTable.Entry(
            name: name, role: .activation,
            encoding: derive(lows.map(finite), highs.map(finite), channelAxis),
            observedMin: lows, observedMax: highs)
    }
}
