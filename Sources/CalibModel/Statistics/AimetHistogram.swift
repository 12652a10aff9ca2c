/// The state of AIMET's `_HistogramObserver` for one channel: float32 counts over `binCount` equal
/// bins, the edges AIMET computed for them, and the range it compares the next batch against.
///
/// AIMET re-bins the histogram whenever a batch widens the range, rounding split bins, so the
/// counts depend on the order of the batches and cannot be rebuilt from any other statistic: the
/// state is kept whole, and `serialized()` turns it into bytes a store can keep. Batches are folded
/// in by CalibObservers; CalibDerivation turns the state into an encoding.
public struct AimetHistogram: Sendable, Hashable {
    public let binCount: Int
    /// See `AimetHistogramMethod.growthLimit`.
    public let growthLimit: Float
    /// `binCount` counts (whole numbers in float32, as torch keeps them); empty until the first batch.
    public var counts: [Float]
    /// `binCount + 1` edges, `edges[i] = i * step + edges[0]` in float32; empty until the first batch.
    public var edges: [Float]
    /// AIMET's `stats.min`/`stats.max`: the first batch's finite min and max, then the merged range.
    /// They can differ from `edges[0]` and `edges[binCount]` (constant input, rounding of the edges).
    public var min: Float
    public var max: Float
    /// The range a later batch may widen the histogram to (from the first batch and `growthLimit`).
    public var leftLimit: Float
    public var rightLimit: Float

    /// An empty histogram.
    public init(binCount: Int, growthLimit: Float) {
        precondition(binCount > 0, "a histogram needs at least one bin")
        precondition(growthLimit >= 1, "AIMET refuses growth limits below 1")
        self.binCount = binCount
        self.growthLimit = growthLimit
        counts = []
        edges = []
        min = .infinity
        max = -.infinity
        leftLimit = -.infinity
        rightLimit = .infinity
    }

    /// An empty histogram with the bins and growth limit of `method`.
    public init(method: AimetHistogramMethod) {
        self.init(binCount: method.binCount, growthLimit: method.growthLimit)
    }

    /// Whether no batch with a finite value has been observed.
    public var isEmpty: Bool { counts.isEmpty }

    /// `_create_bin_edges`: `i * step + min` in float32, a constant range widened by 0.5 each way.
    public static func binEdges(min lo: Float, max hi: Float, binCount: Int) -> [Float] {
        let (first, last) = lo == hi ? (lo - 0.5, hi + 0.5) : (lo, hi)
        let step = (last - first) / Float(binCount)
        return (0...binCount).map { Float($0) * step + first }
    }
}

extension AimetHistogram {
    /// Format tag and version of `serialized()`: "AHG" and 1.
    static let magic: [UInt8] = [0x41, 0x48, 0x47, 0x01]

    /// The state as bytes: the tag, `binCount` (UInt32), then `growthLimit`, `min`, `max`,
    /// `leftLimit`, `rightLimit`, the counts and the edges as float32 bit patterns, all little-endian.
    /// An empty histogram stores no counts or edges. Exact: `init(serialized:)` gives back the same bits.
    public func serialized() -> [UInt8] {
        var out = Self.magic
        out.reserveCapacity(4 + 4 + 5 * 4 + (counts.count + edges.count) * 4)
        func put(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        put(UInt32(binCount))
        for v in [growthLimit, min, max, leftLimit, rightLimit] { put(v.bitPattern) }
        for v in counts { put(v.bitPattern) }
        for v in edges { put(v.bitPattern) }
        return out
    }

    /// Reads what `serialized()` wrote; throws on any other bytes.
    public init(serialized bytes: some Collection<UInt8>) throws(HistogramBytesError) {
        let b = Array(bytes)
        guard b.count >= 28, Array(b[0..<4]) == Self.magic else { throw HistogramBytesError("not an AIMET histogram") }
        func word(_ i: Int) -> UInt32 {
            let o = 4 + 4 * i
            return UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
        }
        let bins = Int(word(0))
        let growth = Float(bitPattern: word(1))
        guard bins > 0, growth >= 1 else { throw HistogramBytesError("bad bin count or growth limit") }
        let words = (b.count - 4) / 4
        guard (b.count - 4) % 4 == 0, words == 6 || words == 6 + 2 * bins + 1 else {
            throw HistogramBytesError("\(b.count) bytes do not hold a histogram of \(bins) bins")
        }
        self.init(binCount: bins, growthLimit: growth)
        min = Float(bitPattern: word(2))
        max = Float(bitPattern: word(3))
        leftLimit = Float(bitPattern: word(4))
        rightLimit = Float(bitPattern: word(5))
        if words > 6 {
            counts = (0..<bins).map { Float(bitPattern: word(6 + $0)) }
            edges = (0...bins).map { Float(bitPattern: word(6 + bins + $0)) }
        }
    }
}
