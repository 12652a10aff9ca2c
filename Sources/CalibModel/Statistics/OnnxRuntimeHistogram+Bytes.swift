import CalibSupport

/// The state as bytes, so a store can keep it between runs: counts and edges as little-endian arrays
/// (one BLOB each) and a few scalars, or everything in one blob. At most `maxBins` bins, whatever the
/// number of batches.
extension OnnxRuntimeHistogram {
    /// `counts` as little-endian int64.
    public var countsBytes: [UInt8] { Self.littleEndian(counts.map { UInt64(bitPattern: $0) }) }

    /// `edges` as little-endian float32.
    public var edgesBytes: [UInt8] { Self.littleEndian(edges.map(\.bitPattern)) }

    /// Restores a state from its parts (`countsBytes`, `edgesBytes` and the scalars).
    public init(
        kind: Kind, bins: Int, min: Float, max: Float, threshold: Float, countsBytes: [UInt8], edgesBytes: [UInt8]
    ) throws(HistogramError) {
        guard bins >= 1 && bins <= Self.maxBins else { throw .corrupt("bins \(bins) out of range") }
        guard countsBytes.count % 8 == 0, edgesBytes.count % 4 == 0 else { throw .corrupt("truncated arrays") }
        let n = countsBytes.count / 8
        guard n <= Self.maxBins else { throw .corrupt("\(n) bins") }
        guard n == 0 ? edgesBytes.isEmpty : edgesBytes.count / 4 == n + 1 else {
            throw .corrupt("\(n) counts but \(edgesBytes.count / 4) edges")
        }
        self.init(kind: kind, bins: bins)
        counts = Self.words(countsBytes, as: UInt64.self).map { Int64(bitPattern: $0) }
        edges = Self.words(edgesBytes, as: UInt32.self).map(Float.init(bitPattern:))
        self.min = min
        self.max = max
        self.threshold = threshold
    }

    /// Everything in one blob: "ORTH", version 1, kind, two zero bytes, bins and bin count (u32), min, max,
    /// threshold (f32), then the counts and the edges.
    public var serialized: [UInt8] {
        var out: [UInt8] = Array("ORTH".utf8) + [1, kind.rawValue, 0, 0]
        out += Self.littleEndian([UInt32(bins), UInt32(counts.count), min.bitPattern, max.bitPattern, threshold.bitPattern])
        return out + countsBytes + edgesBytes
    }

    public init(serialized bytes: [UInt8]) throws(HistogramError) {
        let header = 28
        guard bytes.count >= header, bytes.prefix(4).elementsEqual("ORTH".utf8) else { throw .corrupt("not a histogram") }
        guard bytes[4] == 1 else { throw .corrupt("version \(bytes[4])") }
        guard let kind = Kind(rawValue: bytes[5]) else { throw .corrupt("kind \(bytes[5])") }
        let scalars = Self.words(Array(bytes[8..<header]), as: UInt32.self)
        let n = Int(scalars[1])
        guard n <= Self.maxBins else { throw .corrupt("\(n) bins") }
        let edgeCount = n == 0 ? 0 : n + 1
        guard bytes.count == header + 8 * n + 4 * edgeCount else { throw .corrupt("length \(bytes.count)") }
        try self.init(
            kind: kind, bins: Int(scalars[0]), min: Float(bitPattern: scalars[2]), max: Float(bitPattern: scalars[3]),
            threshold: Float(bitPattern: scalars[4]), countsBytes: Array(bytes[header..<(header + 8 * n)]),
            edgesBytes: Array(bytes[(header + 8 * n)...]))
    }

    private static func littleEndian<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(values.count * MemoryLayout<T>.size)
        for v in values {
            withUnsafeBytes(of: v.littleEndian) { out += $0 }
        }
        return out
    }

    private static func words<T: FixedWidthInteger>(_ bytes: [UInt8], as: T.Type) -> [T] {
        let size = MemoryLayout<T>.size
        return stride(from: 0, to: bytes.count, by: size).map { i in
            var v: T = 0
            withUnsafeMutableBytes(of: &v) { $0.copyBytes(from: bytes[i..<(i + size)]) }
            return T(littleEndian: v)
        }
    }
}
