import CalibModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How well a per-tensor encoding fits a tensor's values, estimated from a stored histogram: the
/// fraction of values it clips and the SQNR it gives. Each bin's values are taken at the bin's
/// centre (a histogram keeps no finer position), so the figures are estimates whose resolution is
/// the bin width; they rank methods on the same histogram, they do not replace a measurement.
public struct EncodingQuality: Sendable, Equatable {
    /// Values beyond the representable range by more than half a step (they saturate), as a fraction.
    public var clipped: Double
    /// `10 log10(sum x^2 / sum (x - x̂)^2)`, x̂ the quantize-dequantize of x; +inf when every centre
    /// is represented exactly, nil when the histogram is empty or all zero.
    public var sqnr: Double?

    /// `encoding` (per tensor: its first channel) against the histogram of `counts` over `edges`.
    public init(_ encoding: Encoding, counts: [Double], edges: [Float]) {
        precondition(edges.count == counts.count + 1, "edges bound the bins")
        let s = Double(encoding.scale[0]), o = Double(encoding.offset[0])
        let (qmin, qmax) = encoding.scheme.quantRange
        let lo = Double(encoding.min[0]) - s / 2, hi = Double(encoding.max[0]) + s / 2
        var total = 0.0, clipped = 0.0, signal = 0.0, noise = 0.0
        for (i, c) in counts.enumerated() where c > 0 {
            let x = (Double(edges[i]) + Double(edges[i + 1])) / 2
            total += c
            if x < lo || x > hi { clipped += c }
            let q = s > 0 ? Swift.min(Swift.max((x / s).rounded(.toNearestOrEven) - o, Double(qmin)), Double(qmax)) : 0
            let xhat = (q + o) * s
            signal += c * x * x
            noise += c * (x - xhat) * (x - xhat)
        }
        self.clipped = total > 0 ? clipped / total : 0
        sqnr = total > 0 && signal > 0 ? (noise > 0 ? 10 * log10(signal / noise) : .infinity) : nil
    }
}

extension HistogramState {
    /// The histogram a method comparison evaluates encodings on: AIMET's 2048-bin one, onnxruntime's
    /// signed one, torch's bins over its range; nil while empty.
    public var evaluationHistogram: (counts: [Double], edges: [Float])? {
        switch self {
        case .aimet(let main, _, _):
            guard let h = main.first, !h.isEmpty else { return nil }
            return (h.counts.map(Double.init), h.edges)
        case .onnxruntime(let hs, _, _):
            guard let h = hs.first(where: { $0.kind == .signed }), h.hasData else { return nil }
            return (h.counts.map(Double.init), h.edges)
        case .pytorch(let h):
            guard !h.isEmpty else { return nil }
            let n = h.counts.count
            let width = (Double(h.max) - Double(h.min)) / Double(n)
            return (h.counts.map(Double.init), (0...n).map { Float(Double(h.min) + Double($0) * width) })
        case .canonical:
            return nil  // it needs the observed range: `TensorStats.evaluationHistogram`
        }
    }
}

extension TensorStats {
    /// `HistogramState.evaluationHistogram`, and for the canonical histogram its own bins.
    public var evaluationHistogram: (counts: [Double], edges: [Float])? {
        if case .canonical(let h, _, _)? = histogram, let lo = min.first, let hi = max.first {
            return CanonicalMethods.evaluationHistogram(h, min: lo, max: hi)
        }
        return histogram?.evaluationHistogram
    }
}
