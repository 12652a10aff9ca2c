import CalibDerivation
import CalibFormats
import CalibModel
import CalibObservers
import CalibReaders
import CalibStore
import CalibSupport

/// What changed between two sessions' encodings, tensor by tensor (`calib diff A B`).
public struct SessionDiff: Sendable, Equatable {
    /// One tensor present on both sides.
    public struct TensorChange: Sendable, Equatable {
        public var name: String
        /// Channels compared (1 when per-tensor).
        public var channels: Int
        /// `scale_B / scale_A` at the worst channel (the one whose scale changed most).
        public var scaleRatio: Double
        /// `|scale_B / scale_A - 1|` at the worst channel, as a fraction (0.05 = 5 %).
        public var scaleChange: Double
        /// Relative change of the encoding range `(max - min)`, at the channel where it changed most.
        public var rangeChange: Double
        /// Largest offset change in absolute value, signed, compared on the unsigned grid
        /// (`offset + qmin`, as AIMET files write it) so that signed and unsigned encodings of the
        /// same range compare equal.
        public var offsetChange: Int
        /// The worst channel by scale change; nil when per-tensor.
        public var worstChannel: Int?
        /// Set when the two sides cannot be compared channel by channel (e.g. 1 vs 384 channels).
        public var mismatch: String?
        public var a: Encoding
        public var b: Encoding
    }

    public enum SortKey: String, Sendable, CaseIterable {
        case scale, range, offset, name
    }

    public var changes: [TensorChange]
    public var onlyInA: [String]
    public var onlyInB: [String]

    /// Compares `b` against `a` (the baseline).
    public init(a: [TensorReport], b: [TensorReport], sort: SortKey = .scale) {
        var byName: NameMap<TensorReport> = [:]
        for r in b where byName[r.tensor.name] == nil { byName[r.tensor.name] = r }
        let namesA = Set(a.map { ExactName($0.tensor.name) })
        changes = a.compactMap { ra in byName[ra.tensor.name].map { Self.compare(ra.encoding, $0.encoding, name: ra.tensor.name) }
        }
        onlyInA = a.map(\.tensor.name).filter { byName[$0] == nil }.sorted(by: Self.byteOrder)
        onlyInB = b.map(\.tensor.name).filter { !namesA.contains(ExactName($0)) }.sorted(by: Self.byteOrder)
        sortChanges(by: sort)
    }

    /// Refuses a comparison of no tensor: a drift gate (`--fail-above`) over nothing would pass
    /// silently, so sessions with no tensor in common are an error, not an empty table.
    public func requireCommonTensors(a: String, b: String) throws {
        guard changes.isEmpty else { return }
        throw SchemeError(
            "sessions '\(a)' (\(onlyInA.count) tensor\(onlyInA.count == 1 ? "" : "s")) and '\(b)' (\(onlyInB.count) "
                + "tensor\(onlyInB.count == 1 ? "" : "s")) have no tensor in common: nothing to compare "
                + "(check the session names, or compare sessions of the same model)")
    }

    public mutating func sortChanges(by key: SortKey) {
        changes.sort { x, y in
            func k(_ c: TensorChange) -> Double {
                if c.mismatch != nil { return .infinity }
                switch key {
                case .scale: return c.scaleChange
                case .range: return abs(c.rangeChange)
                case .offset: return Double(abs(c.offsetChange))
                case .name: return 0
                }
            }
            return key == .name || k(x) == k(y) ? Self.byteOrder(x.name, y.name) : k(x) > k(y)
        }
    }

    /// Names in the order of their UTF-8 bytes (code point order), which tells NFC and NFD spellings apart.
    static func byteOrder(_ x: String, _ y: String) -> Bool { x.utf8.lexicographicallyPrecedes(y.utf8) }

    /// The largest relative scale change of any tensor (a mismatched tensor counts as infinite).
    public var maxScaleChange: Double { changes.map { $0.mismatch == nil ? $0.scaleChange : .infinity }.max() ?? 0 }

    /// True when any tensor's relative scale change exceeds `percent` %, or the sides differ in tensors or channels.
    public func exceeds(percent: Double) -> Bool {
        maxScaleChange * 100 > percent
    }

    static func compare(_ a: Encoding, _ b: Encoding, name: String) -> TensorChange {
        var change = TensorChange(
            name: name, channels: max(a.channelCount, b.channelCount), scaleRatio: 1, scaleChange: 0, rangeChange: 0,
            offsetChange: 0, worstChannel: nil, mismatch: nil, a: a, b: b)
        guard a.channelCount == b.channelCount else {
            change.mismatch = "\(a.channelCount) vs \(b.channelCount) channels"
            change.scaleRatio = .nan
            change.scaleChange = .infinity
            return change
        }
        var worst = -1.0
        for c in 0..<a.channelCount {
            let ratio = Double(b.scale[c]) / Double(a.scale[c])
            let delta = ratio.isNaN ? .infinity : abs(ratio - 1)
            if delta > worst {
                worst = delta
                change.scaleRatio = ratio
                change.scaleChange = delta
                change.worstChannel = a.channelCount > 1 ? c : nil
            }
            let ra = Double(a.max[c]) - Double(a.min[c]), rb = Double(b.max[c]) - Double(b.min[c])
            let rangeDelta = ra == rb ? 0 : (rb - ra) / ra
            if abs(rangeDelta) > abs(change.rangeChange) || rangeDelta.isNaN { change.rangeChange = rangeDelta }
            let offsetDelta = (b.offset[c] + b.scheme.quantRange.qmin) - (a.offset[c] + a.scheme.quantRange.qmin)
            if abs(offsetDelta) > abs(change.offsetChange) { change.offsetChange = offsetDelta }
        }
        return change
    }
}
