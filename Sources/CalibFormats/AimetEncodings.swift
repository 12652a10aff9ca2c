import CalibModel
import CalibSupport
import Foundation

/// AIMET encodings files (`.encodings`), the format QNN and SNPE converters read: written byte for byte
/// as aimet-torch 2.42.0's `QuantizationSimModel.onnx.export` writes them, and read in every layout
/// AIMET writes.
///
/// Offsets in 0.6.1 and 1.0.0 files are on the unsigned grid: `file offset = offset - 2^(b-1)` for a
/// signed encoding, `offset` for an unsigned one (so `min = scale * file offset` either way). 2.0.0
/// files carry ONNX zero points (`y_zero_point = -offset`).
public enum AimetEncodings {
    static let formatName = "AIMET encodings"

    /// The `producer` written into every file: aimet-torch's, since calib writes exactly what
    /// aimet-torch 2.42.0 writes and converters may check it.
    public static let producerPackage = "aimet-torch"
    public static let producerVersion = "2.42.0"

    // MARK: - Export

    /// The encodings file of `version` for `table`, as aimet-torch 2.42.0 writes it: `json.dump(indent=2)`
    /// key order and escaping, floats as `repr(float(x))`, no trailing newline.
    ///
    /// - 0.6.1 / 1.0.0: activations and params in their sections, in table order; per-channel entries
    ///   (a channel axis and more than one channel) as one 0.6.1 entry per channel / `PER_CHANNEL`;
    ///   0.6.1 `min`/`max` are the encoding's range as stored; `excluded_layers` empty;
    ///   `quantizer_args` as given, or derived from the table (`AimetQuantizerArgs(table:)`).
    /// - 2.0.0: one list in table order. Activations are written unsigned, as `onnx.export`'s default
    ///   `force_activation_as="unsigned"` does (`uint<b>`, zero point shifted by `2^(b-1)` for a signed
    ///   encoding, the same range); params keep their grid (`int<b>` when signed). `y_zero_point` is
    ///   left out when every channel's is 0; `axis` is the channel axis of per-channel entries.
    ///
    /// An encoding with one channel is written per-tensor, as AIMET does. Grids that the AIMET layout
    /// cannot express (PyTorch's reduce_range, ONNX Runtime's and TensorRT's -127..127) keep their zero
    /// point and scale; the bitwidth is the scheme's.
    public static func export(_ table: EncodingTable, version: AimetVersion, quantizerArgs: AimetQuantizerArgs? = nil) -> String {
        var root: [(String, JSONValue)] = [
            ("producer", .object([("package", .string(producerPackage)), ("version", .string(producerVersion))])),
            ("version", .string(version.rawValue)),
        ]
        let args = (quantizerArgs ?? AimetQuantizerArgs(table: table)).json
        switch version {
        case .v0_6_1:
            root.append(("activation_encodings", .object(table.activations.map { ($0.name, legacyEntries($0.encoding)) })))
            root.append(("param_encodings", .object(table.params.map { ($0.name, legacyEntries($0.encoding)) })))
            root.append(("excluded_layers", .array([])))
            root.append(("quantizer_args", args))
        case .v1_0_0:
            root.append(("activation_encodings", .array(table.activations.map(v1Entry))))
            root.append(("param_encodings", .array(table.params.map(v1Entry))))
            root.append(("excluded_layers", .array([])))
            root.append(("quantizer_args", args))
        case .v2_0_0:
            root.append(("encodings", .array(table.entries.map(v2Entry))))
        }
        return JSONValue.object(root).pythonJSON(indent: 2)
    }

    /// The module-keyed `<prefix>_torch.encodings` that aimet-torch 2.42's `sim.export` writes and
    /// every one of its loaders reads (`sim.load_encodings`, `load_encodings_to_sim`,
    /// `load_and_freeze_encodings`): `json.dump(sort_keys=True, indent=4)`, no trailing newline.
    ///
    /// Activations are keyed by module: a tensor named `MODULE.input.N` or `MODULE.output.N` becomes
    /// `activation_encodings[MODULE]["input"|"output"]["N"]`, one 0.6.1-style entry; params keep their
    /// name (`MODULE.PARAM`) with one entry per channel. `version` is "1.0.0", as aimet-torch writes it.
    ///
    /// - Throws: `FormatError` naming a tensor the layout cannot hold: an activation not named
    ///   `MODULE.input.N`/`MODULE.output.N`, a per-channel activation, or a name given twice.
    public static func exportTorch(_ table: EncodingTable, quantizerArgs: AimetQuantizerArgs? = nil) throws -> String {
        let format = "aimet-torch encodings"
        var modules: NameMap<[String: [(String, JSONValue)]]> = [:]
        for entry in table.activations {
            let parts = entry.name.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count >= 3, ["input", "output"].contains(parts[parts.count - 2]), let index = Int(parts.last!),
                index >= 0,
                String(index) == parts.last!, !parts.dropLast(2).contains(where: \.isEmpty)
            else {
                throw FormatError(
                    format: format,
                    "tensor '\(entry.name)': aimet-torch keys activations by module; name it MODULE.input.N or MODULE.output.N")
            }
            guard entry.encoding.channelCount == 1 else {
                throw FormatError(format: format, "tensor '\(entry.name)': aimet-torch activation encodings are per-tensor")
            }
            let module = parts.dropLast(2).joined(separator: ".")
            let side = String(parts[parts.count - 2])
            if modules[module, default: [:]][side, default: []].contains(where: { $0.0 == String(index) }) {
                throw FormatError(format: format, "tensor '\(entry.name)' appears twice")
            }
            modules[module, default: [:]][side, default: []].append(
                (String(index), sorted(legacyEntry(entry.encoding, channel: 0))))
        }
        var params: [(String, JSONValue)] = []
        for entry in table.params {
            if params.contains(where: { ExactName($0.0) == ExactName(entry.name) }) {
                throw FormatError(format: format, "tensor '\(entry.name)' appears twice")
            }
            params.append(
                (entry.name, .array(entry.encoding.scale.indices.map { sorted(legacyEntry(entry.encoding, channel: $0)) })))
        }
        let activations: [(String, JSONValue)] = modules.map { module, sides in
            (module, sorted(.object(sides.map { side, entries in (side, sorted(.object(entries))) })))
        }
        let args = (quantizerArgs ?? AimetQuantizerArgs(table: table)).json
        let root: JSONValue = .object([
            ("activation_encodings", sorted(.object(activations))),
            ("excluded_layers", .array([])),
            ("param_encodings", sorted(.object(params))),
            ("producer", .object([("package", .string(producerPackage)), ("version", .string(producerVersion))])),
            ("quantizer_args", sorted(args)),
            ("version", .string(AimetVersion.v1_0_0.rawValue)),
        ])
        return root.pythonJSON(indent: 4)
    }

    /// An object's members in the order Python's `sort_keys` gives: by code point, which is UTF-8 byte order.
    private static func sorted(_ value: JSONValue) -> JSONValue {
        guard case .object(let members) = value else { return value }
        return .object(members.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) })
    }

    /// The offset AIMET writes in 0.6.1 and 1.0.0 files: on the unsigned grid.
    static func fileOffset(_ offset: Int, scheme: QuantScheme) -> Int {
        scheme.signed ? offset - (1 << (scheme.bitwidth - 1)) : offset
    }

    private static func legacyEntries(_ e: Encoding) -> JSONValue {
        .array(e.scale.indices.map { legacyEntry(e, channel: $0) })
    }

    /// One channel's 0.6.1 entry.
    private static func legacyEntry(_ e: Encoding, channel c: Int) -> JSONValue {
        .object([
            ("min", .float(e.min[c])),
            ("max", .float(e.max[c])),
            ("scale", .float(e.scale[c])),
            ("offset", .int(fileOffset(e.offset[c], scheme: e.scheme))),
            ("bitwidth", .int(e.scheme.bitwidth)),
            ("dtype", .string("int")),
            ("is_symmetric", .string(e.scheme.symmetric ? "True" : "False")),
        ])
    }

    private static func v1Entry(_ entry: EncodingTable.Entry) -> JSONValue {
        let e = entry.encoding
        return .object([
            ("name", .string(entry.name)),
            ("dtype", .string("INT")),
            ("bw", .int(e.scheme.bitwidth)),
            ("is_sym", .bool(e.scheme.symmetric)),
            ("scale", .array(e.scale.map(JSONValue.float))),
            ("offset", .array(e.offset.map { .int(fileOffset($0, scheme: e.scheme)) })),
            ("enc_type", .string(e.channelCount == 1 ? "PER_TENSOR" : "PER_CHANNEL")),
        ])
    }

    private static func v2Entry(_ entry: EncodingTable.Entry) -> JSONValue {
        let e = entry.encoding, b = e.scheme.bitwidth
        let unsigned = entry.role == .activation || !e.scheme.signed
        let shift = entry.role == .activation && e.scheme.signed ? 1 << (b - 1) : 0
        let zeroPoints = e.offset.map { shift - $0 }
        var members: [(String, JSONValue)] = [
            ("name", .string(entry.name)),
            ("output_dtype", .string("\(unsigned ? "uint" : "int")\(b)")),
        ]
        if e.channelCount == 1 {
            members.append(("y_scale", .float(e.scale[0])))
            if zeroPoints[0] != 0 { members.append(("y_zero_point", .int(zeroPoints[0]))) }
        } else {
            members.append(("y_scale", .array(e.scale.map(JSONValue.float))))
            if zeroPoints.contains(where: { $0 != 0 }) { members.append(("y_zero_point", .array(zeroPoints.map(JSONValue.int)))) }
            members.append(("axis", .int(e.channelAxis ?? 0)))
        }
        return .object(members)
    }

    // MARK: - Import

    /// Reads an AIMET encodings file of any version: 0.6.1, 1.0.0, 2.0.0 (2.1.0 without LPBQ entries),
    /// and the module-keyed `<prefix>_torch.encodings` variant. The layout is recognised from the
    /// document's structure; `version`, when present, must be one of those.
    ///
    /// Every entry becomes an encoding with convention `.aimet`, in file order (activations, then params,
    /// for 0.6.1 and 1.0.0):
    /// - 0.6.1 / 1.0.0 keep no grid signedness: a symmetric entry is taken as signed and an asymmetric one
    ///   as unsigned, and the offset is moved onto that grid, so the representable range
    ///   `scale * (offset + qmin) ... scale * (offset + qmax)` is the file's. `min`/`max` are recomputed from
    ///   scale and offset in float32, as `Encoding` does; a 0.6.1 `min`/`max` must agree with them
    ///   within half a step.
    /// - Several 0.6.1 entries for one tensor, or `PER_CHANNEL`, make a per-channel encoding on channel
    ///   axis 0: AIMET's axis for params, and, since these layouts do not record one, also for activations.
    /// - 2.0.0: signedness from `output_dtype`, `offset = -y_zero_point`; symmetric when signed with every
    ///   zero point 0 (AIMET's own reading); `axis` as written (0 when a multi-value `y_scale` has none).
    ///   2.0.0 has no roles: an entry is a param when its name's last component is `weight` or `bias` or
    ///   its `output_dtype` is `int32` (bias), an activation otherwise.
    /// - `_torch.encodings` activations are keyed by module: they are named `MODULE.input.N` and
    ///   `MODULE.output.N`.
    ///
    /// - Throws: `FormatError` naming the tensor and field: invalid JSON, a missing or mistyped field, a
    ///   bitwidth AIMET's convention does not have (2...16, 32), a negative or non-finite scale, an offset
    ///   off the bitwidth's grid, `is_sym` with an asymmetric offset, float or block (`PER_BLOCK`, `LPBQ`)
    ///   encodings, channels that disagree, a tensor named twice.
    public static func parse(_ data: Data) throws -> EncodingTable {
        let root = try document(data)
        var reader = Reader()
        if let list = root.member("encodings") {
            guard let items = list.arrayValue else { throw fail("encodings must be a list, found \(list.kind)") }
            for (i, item) in items.enumerated() { try reader.add(v2Entry(item, index: i)) }
            return try EncodingTable(entries: reader.entries).validated(format: formatName)
        }
        let sections = [("activation_encodings", TensorRole.activation), ("param_encodings", TensorRole.param)]
        guard sections.contains(where: { root.member($0.0) != nil }) else {
            throw fail("no activation_encodings, param_encodings or encodings found")
        }
        for (section, role) in sections {
            switch root.member(section) {
            case nil, .null?:
                continue
            case .array(let items)?:
                for (i, item) in items.enumerated() { try reader.add(v1Entry(item, section: section, index: i, role: role)) }
            case .object(let members)?:
                for (name, value) in members {
                    if value.objectValue != nil, value.member("bitwidth") == nil, value.member("scale") == nil {
                        // `_torch.encodings`: MODULE -> input/output -> index -> entry (or entries).
                        for (io, byIndex) in value.objectValue! {
                            guard let indices = byIndex.objectValue else {
                                throw fail("\(section).\(name).\(io) must be an object of indices, found \(byIndex.kind)")
                            }
                            for (index, entry) in indices {
                                let tensor = "\(name).\(io).\(index)"
                                try reader.add(legacyTensor(tensor, entry, section: section, role: role))
                            }
                        }
                    } else {
                        try reader.add(legacyTensor(name, value, section: section, role: role))
                    }
                }
            case let other?:
                throw fail("\(section) must be an object or a list, found \(other.kind)")
            }
        }
        return try EncodingTable(entries: reader.entries).validated(format: formatName)
    }

    /// The file's `quantizer_args`, nil when it has none (2.0.0 files never do).
    public static func parseQuantizerArgs(_ data: Data) throws -> AimetQuantizerArgs? {
        try document(data).member("quantizer_args").map(AimetQuantizerArgs.init(json:))
    }

    private static func document(_ data: Data) throws -> JSONValue {
        let root: JSONValue
        do {
            root = try JSONValue.parse(data)
        } catch let e as FormatError {
            throw fail("invalid JSON: \(e.message)")
        }
        guard case .object = root else { throw fail("the document must be a JSON object, found \(root.kind)") }
        if let v = root.member("version") {
            guard let s = v.stringValue else { throw fail("version must be a string, found \(v.kind)") }
            guard ["0.6.1", "1.0.0", "2.0.0", "2.1.0"].contains(s) else {
                throw fail("unsupported version '\(s)' (calib reads 0.6.1, 1.0.0 and 2.0.0)")
            }
        }
        return root
    }

    private static func fail(_ message: String) -> FormatError { FormatError(format: formatName, message) }

    /// Collects entries, refusing a tensor named twice.
    private struct Reader {
        var entries: [EncodingTable.Entry] = []
        var names: Set<ExactName> = []

        mutating func add(_ entry: EncodingTable.Entry) throws {
            guard names.insert(ExactName(entry.name)).inserted else {
                throw AimetEncodings.fail("tensor '\(entry.name)' appears twice")
            }
            entries.append(entry)
        }
    }

    /// A required or optional member of an entry, converted, with the entry's description in errors.
    private struct Fields {
        let value: JSONValue
        let context: String

        func optional<T>(_ key: String, _ what: String, _ get: (JSONValue) -> T?) throws -> T? {
            guard let v = value.member(key) else { return nil }
            guard let t = get(v) else { throw fail("\(context): \(key) must be \(what), found \(v.kind)") }
            return t
        }

        func required<T>(_ key: String, _ what: String, _ get: (JSONValue) -> T?) throws -> T {
            guard let t = try optional(key, what, get) else { throw fail("\(context): missing \(key)") }
            return t
        }

        /// `"True"`/`"False"` (0.6.1) or a JSON boolean (1.0.0); false when absent.
        func symmetric(_ key: String) throws -> Bool {
            try optional(key, "\"True\", \"False\" or a boolean") { v -> Bool? in
                if let b = v.boolValue { return b }
                switch v.stringValue {
                case "True"?: return true
                case "False"?: return false
                default: return nil
                }
            } ?? false
        }
    }

    private static func legacyTensor(
        _ name: String, _ value: JSONValue, section: String, role: TensorRole
    ) throws -> EncodingTable.Entry {
        let context = "tensor '\(name)' (\(section))"
        let items: [JSONValue]
        switch value {
        case .array(let a): items = a
        case .object: items = [value]
        default: throw fail("\(context) must be a list of encodings, found \(value.kind)")
        }
        guard !items.isEmpty else { throw fail("\(context) has no encoding") }
        var bitwidth = 0, symmetric = false
        var scales: [Float] = [], fileOffsets: [Int] = []
        var ranges: [(min: Float, max: Float)?] = []
        for (c, item) in items.enumerated() {
            let where_ = items.count > 1 ? "\(context) channel \(c)" : context
            guard case .object = item else { throw fail("\(where_) must be an object, found \(item.kind)") }
            let f = Fields(value: item, context: where_)
            let dtype = try f.optional("dtype", "a string", \.stringValue) ?? "int"
            guard dtype == "int" else {
                throw fail("\(where_): dtype '\(dtype)' is not supported (calib reads integer encodings)")
            }
            let bw = try f.required("bitwidth", "an integer", \.intValue)
            let sym = try f.symmetric("is_symmetric")
            if c == 0 {
                bitwidth = bw
                symmetric = sym
            } else if bw != bitwidth || sym != symmetric {
                throw fail("\(context): channels disagree on bitwidth or is_symmetric (channel \(c))")
            }
            scales.append(try f.required("scale", "a number", \.floatValue))
            fileOffsets.append(try f.required("offset", "an integer", \.intValue))
            let lo = try f.optional("min", "a number", \.floatValue), hi = try f.optional("max", "a number", \.floatValue)
            ranges.append(lo.flatMap { lo in hi.map { (lo, $0) } })
        }
        let encoding = try unsignedGridEncoding(
            context: context, bitwidth: bitwidth, symmetric: symmetric, scales: scales, fileOffsets: fileOffsets,
            channelAxis: items.count > 1 ? 0 : nil)
        // The file's min/max are redundant with scale and offset; ones that disagree by more than
        // half a step (or are reversed) mean the entry was not written by AIMET, or was edited.
        for (c, range) in ranges.enumerated() {
            guard let (lo, hi) = range else { continue }
            let where_ = items.count > 1 ? "\(context) channel \(c)" : context
            guard lo <= hi else { throw fail("\(where_): min \(lo) is above max \(hi)") }
            let step = Double(encoding.scale[c]) / 2
            if abs(Double(lo) - Double(encoding.min[c])) > step || abs(Double(hi) - Double(encoding.max[c])) > step {
                throw fail(
                    "\(where_): min/max [\(lo), \(hi)] disagree with scale and offset, which give "
                        + "[\(encoding.min[c]), \(encoding.max[c])]")
            }
        }
        return EncodingTable.Entry(name: name, role: role, encoding: encoding)
    }

    private static func v1Entry(_ item: JSONValue, section: String, index: Int, role: TensorRole) throws -> EncodingTable.Entry {
        var context = "\(section)[\(index)]"
        guard case .object = item else { throw fail("\(context) must be an object, found \(item.kind)") }
        let name = try Fields(value: item, context: context).required("name", "a string", \.stringValue)
        context = "tensor '\(name)' (\(section))"
        let f = Fields(value: item, context: context)
        let dtype = try f.optional("dtype", "a string", \.stringValue) ?? "INT"
        guard dtype == "INT" else { throw fail("\(context): dtype '\(dtype)' is not supported (calib reads INT encodings)") }
        let bw = try f.required("bw", "an integer", \.intValue)
        let symmetric = try f.symmetric("is_sym")
        let scales = try f.required("scale", "a list of numbers") { v in
            v.arrayValue.flatMap { a in all(a, \.floatValue) } ?? v.floatValue.map { [$0] }
        }
        let offsets = try f.required("offset", "a list of integers") { v in
            v.arrayValue.flatMap { a in all(a, \.intValue) } ?? v.intValue.map { [$0] }
        }
        guard !scales.isEmpty else { throw fail("\(context): scale is empty") }
        guard offsets.count == scales.count else {
            throw fail("\(context): \(scales.count) scales but \(offsets.count) offsets")
        }
        let encType = try f.optional("enc_type", "a string", \.stringValue) ?? (scales.count == 1 ? "PER_TENSOR" : "PER_CHANNEL")
        let channelAxis: Int?
        switch encType {
        case "PER_TENSOR":
            guard scales.count == 1 else { throw fail("\(context): PER_TENSOR with \(scales.count) scales") }
            channelAxis = nil
        case "PER_CHANNEL":
            channelAxis = 0
        default:
            throw fail("\(context): enc_type '\(encType)' is not supported (calib reads PER_TENSOR and PER_CHANNEL)")
        }
        let encoding = try unsignedGridEncoding(
            context: context, bitwidth: bw, symmetric: symmetric, scales: scales, fileOffsets: offsets, channelAxis: channelAxis)
        return EncodingTable.Entry(name: name, role: role, encoding: encoding)
    }

    private static func v2Entry(_ item: JSONValue, index: Int) throws -> EncodingTable.Entry {
        var context = "encodings[\(index)]"
        guard case .object = item else { throw fail("\(context) must be an object, found \(item.kind)") }
        let name = try Fields(value: item, context: context).required("name", "a string", \.stringValue)
        context = "tensor '\(name)'"
        let f = Fields(value: item, context: context)
        for key in ["block_size", "per_block_int_scale", "per_channel_float_scale"] where item.member(key) != nil {
            throw fail(
                "\(context): block encodings (\(key)) are not supported (calib reads per-tensor and per-channel encodings)")
        }
        let dtype = try f.required("output_dtype", "a string", \.stringValue)
        let unsigned = dtype.hasPrefix("uint")
        let digits = dtype.dropFirst(unsigned ? 4 : 3)
        guard dtype.hasPrefix(unsigned ? "uint" : "int"), !digits.isEmpty, digits.count <= 3,
            digits.allSatisfy({ $0.isASCII && $0.isNumber }), let bw = Int(digits)
        else {
            throw fail("\(context): output_dtype '\(dtype)' is not supported (calib reads intN and uintN encodings)")
        }
        let scaleValue = try f.required("y_scale", "a number or a list of numbers") { v in
            v.floatValue.map { (values: [$0], isArray: false) }
                ?? v.arrayValue.flatMap { a in all(a, \.floatValue).map { (values: $0, isArray: true) } }
        }
        let scales = scaleValue.values
        guard !scales.isEmpty else { throw fail("\(context): y_scale is empty") }
        let zeroPoints =
            try f.optional("y_zero_point", "an integer or a list of integers") { v in
                v.intValue.map { [Int](repeating: $0, count: scales.count) } ?? v.arrayValue.flatMap { a in all(a, \.intValue) }
            } ?? [Int](repeating: 0, count: scales.count)
        guard zeroPoints.count == scales.count else {
            throw fail("\(context): \(scales.count) y_scale values but \(zeroPoints.count) y_zero_point values")
        }
        let axis = try f.optional("axis", "an integer", \.intValue)
        let channelAxis = axis ?? (scaleValue.isArray && scales.count > 1 ? 0 : nil)
        guard channelAxis != nil || scales.count == 1 else { throw fail("\(context): several y_scale values without an axis") }
        let signed = !unsigned
        let symmetric = signed && zeroPoints.allSatisfy { $0 == 0 }
        let lastComponent = name.split(separator: ".").last.map(String.init) ?? name
        let role: TensorRole = dtype == "int32" || lastComponent == "weight" || lastComponent == "bias" ? .param : .activation
        let encoding = try makeEncoding(
            context: context, bitwidth: bw, symmetric: symmetric, signed: signed, scales: scales,
            offsets: zeroPoints.map { z -> Int in 0 &- z }, channelAxis: channelAxis)
        return EncodingTable.Entry(name: name, role: role, encoding: encoding)
    }

    private static func all<T>(_ items: [JSONValue], _ get: (JSONValue) -> T?) -> [T]? {
        var out: [T] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let t = get(item) else { return nil }
            out.append(t)
        }
        return out
    }

    /// A 0.6.1 / 1.0.0 encoding: symmetric entries on the signed grid, asymmetric ones on the unsigned.
    private static func unsignedGridEncoding(
        context: String, bitwidth: Int, symmetric: Bool, scales: [Float], fileOffsets: [Int], channelAxis: Int?
    ) throws -> Encoding {
        try checkBitwidth(bitwidth, context: context)
        try checkOffsets(fileOffsets, context: context)
        let shift = symmetric ? 1 << (bitwidth - 1) : 0
        // Symmetric: -2^(b-1) on the unsigned grid (signed, or AIMET's unsigned symmetric), or 0
        // (the legacy unsigned form); anything else is an asymmetric encoding marked symmetric.
        if symmetric, let bad = fileOffsets.first(where: { $0 != -shift && $0 != 0 }) {
            throw fail(
                "\(context): offset \(bad) with is_sym true is not symmetric (a symmetric \(bitwidth)-bit offset is \(-shift), "
                    + "or 0 in the legacy unsigned form)")
        }
        return try makeEncoding(
            context: context, bitwidth: bitwidth, symmetric: symmetric, signed: symmetric, scales: scales,
            offsets: fileOffsets.map { $0 + shift }, channelAxis: channelAxis)
    }

    private static func checkBitwidth(_ bitwidth: Int, context: String) throws {
        let supported = Convention.aimet.bitwidths
        guard supported.contains(bitwidth) else { throw fail("\(context): bitwidth \(bitwidth) is outside 2...16 and 32") }
    }

    private static func checkOffsets(_ offsets: [Int], context: String) throws {
        if let bad = offsets.first(where: { $0.magnitude > 1 << 40 }) { throw fail("\(context): offset \(bad) is out of range") }
    }

    /// The encoding with convention `.aimet`, its range recomputed as `Encoding` computes it.
    static func makeEncoding(
        context: String, bitwidth: Int, symmetric: Bool, signed: Bool, scales: [Float], offsets: [Int], channelAxis: Int?
    ) throws -> Encoding {
        try checkBitwidth(bitwidth, context: context)
        try checkOffsets(offsets, context: context)
        if let bad = scales.first(where: { !$0.isFinite || $0 < 0 }) {
            throw fail("\(context): scale \(bad) is not a finite non-negative number")
        }
        let scheme = QuantScheme(convention: .aimet, bitwidth: bitwidth, symmetric: symmetric, signed: signed)
        let (qmin, qmax) = scheme.quantRange
        if let bad = offsets.first(where: { !scheme.isOnGrid(offset: $0) }) {
            throw fail(
                "\(context): offset \(bad) (zero point \(0 &- bad)) is off the \(signed ? "signed" : "unsigned") \(bitwidth)-bit "
                    + "grid \(qmin)...\(qmax)")
        }
        return Encoding(
            scheme: scheme, channelAxis: channelAxis, scale: scales, offset: offsets,
            min: zip(scales, offsets).map { $0 * Float($1 + qmin) },
            max: zip(scales, offsets).map { $0 * Float($1 + qmax) })
    }
}
