import CalibModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// onnxruntime 1.31.1 `HistogramCollector.compute_collection_result`: the range each method picks from
/// a collected histogram (see histogram-math.md, "ONNX Runtime histogram calibration"). It takes the
/// histogram as plain arrays, so the observer's state type stays in CalibObservers; scale and zero
/// point then come from `EncodingMath` with convention `onnxruntime` (QDQQuantizer's float64 rule).
extension OnnxRuntimeHistogramMethod {
    /// Refuses the settings onnxruntime refuses; `bins` is `num_bins`.
    public func validate(bins: Int) throws(HistogramMethodError) {
        switch self {
        case .entropy(let q):
            guard q >= 1 else { throw .invalid("num_quantized_bins must be at least 1") }
            guard bins / 2 >= q / 2 else { throw .invalid("num_bins \(bins) is fewer than num_quantized_bins \(q)") }
        case .percentile(let p, _):
            guard p >= 0 && p <= 100 else { throw .invalid("percentile \(p) is not in [0, 100]") }
        case .distribution:
            guard bins >= 512 else { throw .invalid("distribution needs num_bins >= 512, not \(bins)") }
        }
    }

    /// The range of one tensor: `counts` and `edges` (`counts.count + 1`) of its final histogram,
    /// `min`/`max` the running signed extremes the collector kept.
    public func range(
        counts: [Int64], edges: [Float], min: Float, max: Float
    ) throws(HistogramMethodError) -> (
        min: Float, max: Float
    ) {
        guard !counts.isEmpty, edges.count == counts.count + 1 else { throw .invalid("no histogram") }
        switch self {
        case .entropy(let q):
            return try Self.entropy(counts: counts, edges: edges, min: min, max: max, quantizedBins: q)
        case .percentile(let p, let symmetric):
            return try Self.percentile(counts: counts, edges: edges, min: min, max: max, percentile: p, symmetric: symmetric)
        case .distribution:
            var lo = edges[0]
            var hi = edges[0]
            for e in edges {
                if e < lo { lo = e }
                if e > hi { hi = e }
            }
            return (lo, hi)
        }
    }

    /// onnxruntime's clamp of a candidate range to the observed extremes.
    static func clamp(_ lo: Float, _ hi: Float, min: Float, max: Float) -> (min: Float, max: Float) {
        (lo < min ? min : lo, hi > max ? max : hi)
    }

    /// `compute_percentile`: cdf = cumsum(hist / total) in float64, sequentially; the left edge of the
    /// bin where the cdf reaches the target (searchsorted, side left).
    static func percentile(
        counts: [Int64], edges: [Float], min: Float, max: Float, percentile p: Double, symmetric: Bool
    ) throws(HistogramMethodError) -> (min: Float, max: Float) {
        guard p >= 0 && p <= 100 else { throw .invalid("percentile \(p) is not in [0, 100]") }
        let total = counts.reduce(0, +)
        guard total > 0 else { throw .invalid("empty histogram") }
        var cdf = [Double](repeating: 0, count: counts.count)
        var acc = 0.0
        let t = Double(total)
        for (i, c) in counts.enumerated() {
            acc += Double(c) / t
            cdf[i] = acc
        }
        func searchLeft(_ v: Double) -> Int {
            var lo = 0
            var hi = cdf.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if cdf[mid] < v { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
        if symmetric {
            let e = edges[searchLeft(p / 100.0)]
            return clamp(-e, e, min: min, max: max)
        }
        let cut = (100.0 - p) / 200.0
        let right = searchLeft(1.0 - cut)
        let left = searchLeft(cut)
        return clamp(edges[left], edges[right], min: min, max: max)
    }

    /// `get_entropy_threshold`: for each window `[z - i, z + i + 1)` around the middle bin, the KL
    /// divergence between the window (outliers folded into its end bins) and its quantization to
    /// `quantizedBins` levels; the first minimum wins, clamped to the observed extremes. KL is summed
    /// in float64 (scipy sums the float32 terms pairwise; float64 picks the same window on every
    /// reference case), the smoothing is onnxruntime's float32 one.
    static func entropy(
        counts: [Int64], edges: [Float], min: Float, max: Float, quantizedBins nq: Int
    ) throws(HistogramMethodError) -> (min: Float, max: Float) {
        let n = counts.count
        let zero = n / 2
        let halfQ = nq / 2
        guard nq >= 1, zero >= halfQ else { throw .invalid("\(n) bins are fewer than \(nq) quantized bins") }
        // prefix[i] = sum(counts[..<i]): the outliers either side of a window.
        var prefix = [Int64](repeating: 0, count: n + 1)
        for i in 0..<n { prefix[i + 1] = prefix[i] &+ counts[i] }
        var best = Double.infinity
        var bestRange: (Float, Float)? = nil
        var p = [Int64]()
        var q = [Int64]()
        var quantized = [Int64](repeating: 0, count: nq)
        for i in halfQ...zero {
            let a = zero - i
            let b = Swift.min(zero + i + 1, n)
            let length = b - a
            p = Array(counts[a..<b])
            p[0] += prefix[a]
            p[length - 1] += prefix[n] - prefix[b]
            let merged = length / nq
            for j in 0..<nq {
                let s = a + j * merged
                quantized[j] = prefix[s + merged] - prefix[s]
            }
            quantized[nq - 1] += prefix[b] - prefix[a + nq * merged]
            q = [Int64](repeating: 0, count: length)
            if merged > 0 {
                for j in 0..<nq {
                    let s = j * merged
                    var norm = 0
                    for k in s..<(s + merged) where p[k] != 0 { norm += 1 }
                    if norm != 0 {
                        let v = Int64((Double(quantized[j]) / Double(norm)).rounded(.towardZero))
                        for k in s..<(s + merged) { q[k] = v }
                    }
                }
            }
            let kl: Double
            if let ps = try smooth(p), let qs = try smooth(q) {
                kl = divergence(ps, qs)
            } else {
                kl = .infinity
            }
            if bestRange == nil || kl < best {
                best = kl
                bestRange = (edges[a], edges[b])
            }
        }
        let (lo, hi) = bestRange!
        return clamp(lo, hi, min: min, max: max)
    }

    /// quant_utils `smooth_distribution(p, eps=0.0001)` in float32: zeros get eps, non-zeros lose
    /// eps * zeros / non-zeros; nil when every entry is zero.
    static func smooth(_ v: [Int64]) throws(HistogramMethodError) -> [Float]? {
        let zeros = v.reduce(0) { $0 + ($1 == 0 ? 1 : 0) }
        let nonzeros = v.count - zeros
        guard nonzeros > 0 else { return nil }
        let eps1 = 0.0001 * Double(zeros) / Double(nonzeros)
        guard eps1 < 1 else { throw .invalid("smooth_distribution: eps1 = \(eps1) >= 1 (onnxruntime asserts)") }
        let addZero = Float(0.0001)
        let addNonzero = Float(-eps1)
        return v.map { $0 == 0 ? Float($0) + addZero : Float($0) + addNonzero }
    }

    /// scipy.stats.entropy(p, q): sum p' log(p' / q') of the normalised distributions, in float64.
    static func divergence(_ p: [Float], _ q: [Float]) -> Double {
        var sp = 0.0
        var sq = 0.0
        for i in p.indices {
            sp += Double(p[i])
            sq += Double(q[i])
        }
        var kl = 0.0
        for i in p.indices {
            let x = Double(p[i]) / sp
            let y = Double(q[i]) / sq
            if x > 0 { kl += y > 0 ? x * log(x / y) : .infinity }
        }
        return kl
    }
}

/// A method or setting onnxruntime would refuse (it raises ValueError or asserts).
public enum HistogramMethodError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let why): why
        }
    }
}
