/// calib's own histogram: counts over a grid fixed by the float32 format itself, not by the data.
///
/// A value's bin is its float32 bit pattern shifted right by `23 - mantissaBits`: the sign, the
/// exponent and the top `mantissaBits` bits of the mantissa. Bins are therefore log-spaced, each
/// `2^-mantissaBits` of its own magnitude wide (finer near zero), the same for every batch, every
/// worker and every order. Folding a batch in adds integers to bins, so merging is exact, associative
/// and commutative: the same batches in any order or split across shards give bit-identical counts,
/// which no reference tool's histogram allows (each re-bins as its range grows). Every tool's method
/// is derived from it by projecting it onto that tool's grid (CalibDerivation).
///
/// Only bins holding a value are kept (sorted by bin), so the size is bounded by the values' spread
/// in binades (at most `2 * 255 * 2^mantissaBits` finite bins), never by the number of batches.
public struct CanonicalHistogram: Sendable, Hashable {
    /// Mantissa bits kept per bin (calib's grid: `defaultMantissaBits`).
    public let mantissaBits: Int
    /// Non-empty bins, ascending; `counts[i]` values fell in `bins[i]`. Non-finite values are never counted.
    public private(set) var bins: [UInt32]
    public private(set) var counts: [UInt64]

    /// 11 bits: no bin is wider than 2^-11 of its magnitude, so none is wider than the finest bin
    /// any tool's method reads (2048 bins over the range: AIMET's, torch's and TensorRT's; onnxruntime's
    /// 2048 over [-T, T] are twice as wide), and a bin a method cuts is split between two of its bins
    /// at most. Measured on the golden cases (README): 8 bits already lands percentile, SQNR,
    /// TF-enhanced, L2 and 128-bin entropy within 0.3 steps, but 2048-bin entropy, which reads
    /// which tail bins are empty, 13 steps off; 11 bits lands every case within 0.1 step. 2^20
    /// counters (4 MiB per core while counting); stored, only the bins holding values.
    public static let defaultMantissaBits = 11

    public init(mantissaBits: Int = defaultMantissaBits) {
        precondition((1...16).contains(mantissaBits), "1 to 16 mantissa bits")
        self.mantissaBits = mantissaBits
        bins = []
        counts = []
    }

    /// A histogram from sorted, distinct, finite bins and their non-zero counts.
    public init(mantissaBits: Int, bins: [UInt32], counts: [UInt64]) throws(HistogramBytesError) {
        guard (1...16).contains(mantissaBits) else { throw HistogramBytesError("\(mantissaBits) mantissa bits") }
        guard bins.count == counts.count else { throw HistogramBytesError("\(bins.count) bins but \(counts.count) counts") }
        self.init(mantissaBits: mantissaBits)
        let limit = UInt32(1) << UInt32(9 + mantissaBits)
        for i in bins.indices {
            guard bins[i] < limit, Self.isFinite(bin: bins[i], mantissaBits: mantissaBits) else {
                throw HistogramBytesError("bin \(bins[i]) is not a finite bin of a \(mantissaBits)-bit grid")
            }
            guard i == 0 || bins[i - 1] < bins[i] else { throw HistogramBytesError("bins not strictly ascending") }
            guard counts[i] > 0 else { throw HistogramBytesError("an empty bin is stored") }
        }
        self.bins = bins
        self.counts = counts
    }

    public var isEmpty: Bool { bins.isEmpty }

    /// Values counted.
    public var total: UInt64 { counts.reduce(0, +) }

    /// Bins of the grid: `2^(9 + mantissaBits)` (positive ones first, then negative ones).
    public var binCount: Int { 1 << (9 + mantissaBits) }

    /// The bin of a float32 value (any value; non-finite ones land in bins `isFinite` rejects).
    @inline(__always)
    public static func bin(_ v: Float, mantissaBits: Int) -> UInt32 { v.bitPattern >> UInt32(23 - mantissaBits) }

    static func isFinite(bin: UInt32, mantissaBits: Int) -> Bool {
        (bin >> UInt32(mantissaBits)) & 0xFF != 0xFF
    }

    /// The values a bin holds: `[lower, upper)` in magnitude, negated (and swapped) for the negative
    /// bins. Edges are exact float32 numbers (bin boundaries are float32 bit patterns).
    public func bounds(_ bin: UInt32) -> (lower: Float, upper: Float) {
        let shift = UInt32(23 - mantissaBits)
        let magnitude = bin & ~(UInt32(1) << UInt32(8 + mantissaBits))
        let a = Float(bitPattern: magnitude << shift)
        let b = Float(bitPattern: (magnitude + 1) << shift)  // the next bin's start (inf after the largest)
        return bin == magnitude ? (a, b) : (-b, -a)
    }

    /// Adds `other`'s counts (same grid): exact, associative and commutative.
    public mutating func merge(_ other: CanonicalHistogram) {
        precondition(other.mantissaBits == mantissaBits, "histograms of different grids")
        merge(bins: other.bins, counts: other.counts)
    }

    /// Adds sorted distinct bins with their counts (what a batch's counting table drains to).
    /// Once the first batches have been seen most batches add to bins already held, so counts are
    /// added in place until a new bin shows up; only then are the arrays rebuilt.
    public mutating func merge(bins b: UnsafeBufferPointer<UInt32>, counts c: UnsafeBufferPointer<UInt64>) {
        guard !b.isEmpty else { return }
        var i = 0
        var j = 0
        while j < b.count {
            while i < bins.count && bins[i] < b[j] { i += 1 }
            guard i < bins.count && bins[i] == b[j] else { break }
            counts[i] &+= c[j]
            j += 1
        }
        guard j < b.count else { return }
        var outBins: [UInt32] = []
        var outCounts: [UInt64] = []
        outBins.reserveCapacity(bins.count + b.count - j)
        outCounts.reserveCapacity(bins.count + b.count - j)
        outBins += bins[..<i]
        outCounts += counts[..<i]
        while i < bins.count || j < b.count {
            if j == b.count || (i < bins.count && bins[i] < b[j]) {
                outBins.append(bins[i])
                outCounts.append(counts[i])
                i += 1
            } else if i == bins.count || b[j] < bins[i] {
                outBins.append(b[j])
                outCounts.append(c[j])
                j += 1
            } else {
                outBins.append(bins[i])
                outCounts.append(counts[i] &+ c[j])
                i += 1
                j += 1
            }
        }
        bins = outBins
        counts = outCounts
    }

    /// `merge(bins:counts:)` for arrays.
    public mutating func merge(bins b: [UInt32], counts c: [UInt64]) {
        b.withUnsafeBufferPointer { b in c.withUnsafeBufferPointer { c in merge(bins: b, counts: c) } }
    }

    /// Bins with their value bounds and counts, ascending by value (negative bins first).
    public func valueOrdered() -> [(lower: Float, upper: Float, count: UInt64)] {
        let negativeStart = bins.firstIndex { $0 >= UInt32(1) << UInt32(8 + mantissaBits) } ?? bins.count
        var out: [(lower: Float, upper: Float, count: UInt64)] = []
        out.reserveCapacity(bins.count)
        for i in stride(from: bins.count - 1, through: negativeStart, by: -1) {
            let (lo, hi) = bounds(bins[i])
            out.append((lo, hi, counts[i]))
        }
        for i in 0..<negativeStart {
            let (lo, hi) = bounds(bins[i])
            out.append((lo, hi, counts[i]))
        }
        return out
    }
}

extension CanonicalHistogram {
    /// Format tag and version of `serialized()`: "CCH" and 1.
    static let magic: [UInt8] = [0x43, 0x43, 0x48, 0x01]

    /// The tag, the mantissa bits (u8), the number of bins (u32 little-endian), then per bin its gap
    /// from the previous one (the first: its index; later: index - previous - 1) and its count, each
    /// a LEB128 varint: neighbouring bins and small counts take 2 bytes a bin.
    public func serialized() -> [UInt8] {
        var out = Self.magic + [UInt8(mantissaBits)]
        out.reserveCapacity(9 + 4 * bins.count)
        withUnsafeBytes(of: UInt32(bins.count).littleEndian) { out.append(contentsOf: $0) }
        func put(_ v: UInt64) {
            var v = v
            while v >= 0x80 {
                out.append(UInt8(v & 0x7F) | 0x80)
                v >>= 7
            }
            out.append(UInt8(v))
        }
        var previous: UInt32?
        for (b, c) in zip(bins, counts) {
            put(UInt64(previous.map { b - $0 - 1 } ?? b))
            put(c)
            previous = b
        }
        return out
    }

    /// Reads what `serialized()` wrote; throws on any other bytes.
    public init(serialized bytes: some Collection<UInt8>) throws(HistogramBytesError) {
        let b = Array(bytes)
        guard b.count >= 9, Array(b[0..<4]) == Self.magic else { throw HistogramBytesError("not a calib histogram") }
        let n = Int(UInt32(b[5]) | UInt32(b[6]) << 8 | UInt32(b[7]) << 16 | UInt32(b[8]) << 24)
        guard n <= (b.count - 9) / 2 else { throw HistogramBytesError("\(b.count) bytes cannot hold \(n) bins") }
        var at = 9
        func get() throws(HistogramBytesError) -> UInt64 {
            var v: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard at < b.count, shift < 64 else { throw HistogramBytesError("truncated or overlong varint") }
                let byte = b[at]
                at += 1
                v |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return v }
                shift += 7
            }
        }
        var bins: [UInt32] = []
        var counts: [UInt64] = []
        bins.reserveCapacity(n)
        counts.reserveCapacity(n)
        var next: UInt64 = 0
        for _ in 0..<n {
            let index = next + (try get())
            guard index < UInt64(UInt32.max) else { throw HistogramBytesError("bin index overflows") }
            bins.append(UInt32(index))
            counts.append(try get())
            next = index + 1
        }
        guard at == b.count else { throw HistogramBytesError("\(b.count - at) bytes after the histogram") }
        try self.init(mantissaBits: Int(b[4]), bins: bins, counts: counts)
    }
}
