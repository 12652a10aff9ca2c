/// The state of torch.ao.quantization `HistogramObserver` (torch 2.15): `binCount` float32 counts
/// spread evenly over the running [min, max] of every batch observed.
///
/// A batch that widens the range re-bins the old counts (each bin cut into `upsampleRate` parts,
/// assigned by their midpoints), so the counts depend on the batch order: the state is kept whole,
/// and `serialized()` turns it into bytes a store can keep.
public struct TorchHistogram: Sendable, Hashable {
    public let binCount: Int
    public let upsampleRate: Int
    /// `binCount` counts (multiples of 1/upsampleRate after a re-binning); empty until the first batch.
    public var counts: [Float]
    /// torch's `min_val`/`max_val`: the running min and max (+inf/-inf until the first batch).
    public var min: Float
    public var max: Float

    /// An empty histogram; torch's defaults are 2048 bins and an upsample rate of 16.
    public init(binCount: Int = 2048, upsampleRate: Int = 16) {
        precondition(binCount > 0 && upsampleRate > 0)
        self.binCount = binCount
        self.upsampleRate = upsampleRate
        counts = []
        min = .infinity
        max = -.infinity
    }

    /// Whether no batch with a finite value has been observed.
    public var isEmpty: Bool { counts.isEmpty }
}

extension TorchHistogram {
    /// Format tag and version of `serialized()`: "THG" and 1.
    static let magic: [UInt8] = [0x54, 0x48, 0x47, 0x01]

    /// The state as bytes: the tag, `binCount` and `upsampleRate` (UInt32), `min` and `max`, then
    /// the counts as float32 bit patterns (none while empty), all little-endian. Exact.
    public func serialized() -> [UInt8] {
        var out = Self.magic
        out.reserveCapacity(20 + counts.count * 4)
        func put(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        put(UInt32(binCount))
        put(UInt32(upsampleRate))
        put(min.bitPattern)
        put(max.bitPattern)
        for v in counts { put(v.bitPattern) }
        return out
    }

    /// Reads what `serialized()` wrote; throws on any other bytes.
    public init(serialized bytes: some Collection<UInt8>) throws(HistogramBytesError) {
        let b = Array(bytes)
        guard b.count >= 20, Array(b[0..<4]) == Self.magic, b.count % 4 == 0 else {
            throw HistogramBytesError("not a torch histogram")
        }
        func word(_ i: Int) -> UInt32 {
            let o = 4 + 4 * i
            return UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
        }
        let bins = Int(word(0))
        let rate = Int(word(1))
        let words = (b.count - 4) / 4
        guard bins > 0, rate > 0, words == 4 || words == 4 + bins else {
            throw HistogramBytesError("\(b.count) bytes do not hold a torch histogram of \(bins) bins")
        }
        self.init(binCount: bins, upsampleRate: rate)
        min = Float(bitPattern: word(2))
        max = Float(bitPattern: word(3))
        if words > 4 { counts = (0..<bins).map { Float(bitPattern: word(4 + $0)) } }
    }
}
