import CalibSupport

/// Named encodings as deployment files carry them: what exporters write and importers read.
///
/// Formats know nothing of sessions or SQLite; the store builds a table from a session, and an
/// import turns a table into a session.
public struct EncodingTable: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var role: TensorRole
        /// Scale, offset (AIMET sign), representable range, scheme and channel axis.
        public var encoding: Encoding
        /// The observed (calibrated) range per channel, when known: ONNX Runtime tables carry ranges,
        /// not encodings.
        public var observedMin: [Float]?
        public var observedMax: [Float]?

        public init(name: String, role: TensorRole, encoding: Encoding, observedMin: [Float]? = nil, observedMax: [Float]? = nil)
        {
            self.name = name
            self.role = role
            self.encoding = encoding
            self.observedMin = observedMin
            self.observedMax = observedMax
        }
    }

    public var entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }

    public var activations: [Entry] { entries.filter { $0.role == .activation } }
    public var params: [Entry] { entries.filter { $0.role == .param } }
}

extension EncodingTable {
    /// The table, if every entry is usable: a scheme its convention supports (bitwidth included), a
    /// positive finite scale, a zero point on the bitwidth's grid and a finite range per channel,
    /// one offset per scale, calibrated ranges with `min <= max`. Importers return only validated
    /// tables, so no file can put an infinite scale, an off-grid offset or a NaN range into the store.
    public func validated(format: String) throws -> EncodingTable {
        guard !entries.isEmpty else { throw FormatError(format: format, "the file holds no encodings") }
        for entry in entries {
            let e = entry.encoding
            func bad(_ what: String) -> FormatError { FormatError(format: format, "tensor '\(entry.name)': \(what)") }
            if let problem = Names.tensorProblem(entry.name) {
                throw FormatError(format: format, "tensor '\(Names.printable(entry.name))': \(problem)")
            }
            guard !e.scale.isEmpty, e.offset.count == e.scale.count, e.min.count == e.scale.count, e.max.count == e.scale.count
            else {
                throw bad("scale, offset and range counts differ")
            }
            do { try e.scheme.validate() } catch { throw bad(error.description) }
            if let c = e.offset.firstIndex(where: { !e.scheme.isOnGrid(offset: $0) }) {
                let (qmin, qmax) = e.scheme.quantRange
                throw bad(
                    "offset \(e.offset[c])\(e.scale.count > 1 ? " of channel \(c)" : "") (zero point \(0 &- e.offset[c])) is off "
                        + "the \(e.scheme.bitwidth)-bit grid \(qmin)...\(qmax)")
            }
            if let c = e.scale.firstIndex(where: { !($0.isFinite && $0 > 0) }) {
                throw bad("scale \(e.scale[c]) is not a positive finite number")
            }
            if zip(e.min, e.max).contains(where: { !($0.0.isFinite && $0.1.isFinite) }) {
                throw bad("the representable range is not finite")
            }
            for range in [entry.observedMin, entry.observedMax] {
                if let range, range.count != e.scale.count || range.contains(where: { !$0.isFinite }) {
                    throw bad("the calibrated range is not finite")
                }
            }
            if let lo = entry.observedMin, let hi = entry.observedMax, let c = lo.indices.first(where: { lo[$0] > hi[$0] }) {
                throw bad("the calibrated range has lowest \(lo[c]) above highest \(hi[c])")
            }
            if let axis = e.channelAxis, axis < 0 {
                throw bad("negative channel axis \(axis) (the tensor's rank is unknown here)")
            }
        }
        return self
    }
}

extension EncodingTable {
    /// The table of a session's reports, in their order.
    public init(_ reports: [TensorReport]) {
        self.init(
            entries: reports.map {
                Entry(
                    name: $0.tensor.name, role: $0.tensor.role, encoding: $0.encoding, observedMin: $0.stats?.min,
                    observedMax: $0.stats?.max)
            })
    }
}

/// Turns calibrated ranges (one pair per channel) into an encoding. Importers of files that carry
/// ranges only (ONNX Runtime tables) are given one, so formats never run the encoding math.
public typealias RangeEncoder = (_ min: [Float], _ max: [Float], _ channelAxis: Int?) -> Encoding
