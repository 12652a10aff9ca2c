import CalibModel

/// Every tool's method from calib's canonical histogram: the histogram is projected onto the grid
/// that tool's own collector would hold after seeing all the data at once (its bin count over the
/// exact observed range), and that tool's method runs on it unchanged. Within a canonical bin the
/// values are taken as spread evenly over the part of its interval inside the observed range, so a
/// projected count is exact wherever a tool bin covers whole canonical bins, and off by at most one
/// canonical bin's share (2^-8 of the value) where it cuts one.
extension CanonicalHistogram {
    /// Counts on the bins `edges` (ascending, `counts + 1` of them) of the values, or of their
    /// magnitudes when `absolute`. `min`/`max` are the exact observed extremes (of the signed values).
    /// Values beyond the first or last edge count in the end bins.
    public func projected(onto edges: [Float], min lo: Float, max hi: Float, absolute: Bool = false) -> [Double] {
        let n = edges.count - 1
        precondition(n >= 1, "at least one bin")
        var out = [Double](repeating: 0, count: n)
        let top = absolute ? Swift.max(abs(lo), abs(hi)) : hi
        let e = edges.map(Double.init)
        /// The bin holding `x` (end bins for anything outside).
        func bin(_ x: Double) -> Int {
            var a = 0
            var b = n  // e[a] <= x < e[b] narrowed by bisection
            if x < e[1] { return 0 }
            if x >= e[n - 1] { return n - 1 }
            while b - a > 1 {
                let m = (a + b) / 2
                if e[m] <= x { a = m } else { b = m }
            }
            return a
        }
        for i in bins.indices {
            var (a, b) = bounds(bins[i])
            if absolute && a < 0 { (a, b) = (-b, -a) }  // a negative bin's magnitudes
            // Only the part of the bin's interval the data can occupy.
            let x0 = Double(Swift.max(a, absolute ? 0 : lo))
            let x1 = Double(Swift.min(b, top))
            let c = Double(counts[i])
            let k0 = bin(x0)
            let k1 = x1 > x0 ? bin(x1) : k0
            if k0 == k1 {
                out[k0] += c
                continue
            }
            let width = x1 - x0
            for k in k0...k1 {
                let left = k == k0 ? x0 : e[k]
                let right = k == k1 ? x1 : e[k + 1]
                if right > left { out[k] += c * (right - left) / width }
            }
        }
        return out
    }

    /// The smallest magnitude counted: 0 when a zero was, else the lower bound of the smallest
    /// magnitude's bin (the grid keeps no finer position). nil when empty.
    public var minimumMagnitude: Float? {
        guard !bins.isEmpty else { return nil }
        let signBit = UInt32(1) << UInt32(8 + mantissaBits)
        let smallest = bins.map { $0 & ~signBit }.min()!
        return bounds(smallest).lower
    }
}

/// The tools' grids a canonical histogram is projected onto, and the encodings of their methods.
public enum CanonicalMethods {
    /// aimet-torch's histogram for `method` (2048 bins, TF-enhanced 512) after one batch holding
    /// every value: `_create_bin_edges` over the observed range, AIMET's min/max beside it.
    public static func aimetHistogram(
        _ h: CanonicalHistogram, min lo: Float, max hi: Float, method: AimetHistogramMethod
    ) -> AimetHistogram {
        var out = AimetHistogram(method: method)
        guard !h.isEmpty, lo <= hi else { return out }
        out.edges = AimetHistogram.binEdges(min: lo, max: hi, binCount: out.binCount)
        out.counts = h.projected(onto: out.edges, min: lo, max: hi).map { Float($0) }
        out.min = lo
        out.max = hi
        return out
    }

    /// torch's HistogramObserver state after one batch holding every value: 2048 bins over [min, max].
    public static func torchHistogram(_ h: CanonicalHistogram, min lo: Float, max hi: Float) -> TorchHistogram {
        var out = TorchHistogram()
        guard !h.isEmpty, lo <= hi else { return out }
        let n = out.binCount
        // histc's bins: an empty range widened by 1 each way; bin i starts at lo + i * (hi - lo) / n.
        let (low, high) = lo == hi ? (lo - 1, hi + 1) : (lo, hi)
        let width = (Double(high) - Double(low)) / Double(n)
        let edges = (0...n).map { Float(Double(low) + Double($0) * width) }
        out.counts = h.projected(onto: edges, min: lo, max: hi).map { Float($0) }
        out.min = lo
        out.max = hi
        return out
    }

    /// onnxruntime's `HistogramCollector` histogram of `kind` with `bins` bins after one `collect` of
    /// every value (`--collect all`): the signed one over `[-T, T]`, the `|x|` one over
    /// `[min |x|, max |x|]`; counts rounded to whole values.
    public static func onnxRuntimeHistogram(
        _ h: CanonicalHistogram, min lo: Float, max hi: Float, kind: OnnxRuntimeHistogram.Kind, bins: Int
    ) -> (counts: [Int64], edges: [Float], min: Float, max: Float)? {
        guard !h.isEmpty, lo <= hi, let smallest = h.minimumMagnitude else { return nil }
        let t = Swift.max(abs(lo), abs(hi))
        var (first, last) = kind == .signed ? (-t, t) : (smallest, t)
        if first == last { (first, last) = (first - 0.5, last + 0.5) }
        // np.histogram's edges as histogram-math.md gives them (float32 step, last edge exact).
        let step = (last - first) / Float(bins)
        var edges = (0..<bins).map { Float($0) * step + first }
        edges.append(last)
        // Whole counts that keep the total and every running sum within half a value of the
        // projection's: rounding each bin alone would empty the sparse tails a percentile reads.
        var counts: [Int64] = []
        counts.reserveCapacity(bins)
        var running = 0.0
        var given: Int64 = 0
        for c in h.projected(onto: edges, min: lo, max: hi, absolute: kind == .absolute) {
            running += c
            let upTo = Int64(running.rounded(.toNearestOrAwayFromZero))
            counts.append(upTo - given)
            given = upTo
        }
        return (counts, edges, lo, hi)
    }

    /// TensorRT's entropy calibration histogram: 2048 bins of `|x|` over `[0, max |x|]`.
    public static func tensorRTHistogram(
        _ h: CanonicalHistogram, min lo: Float, max hi: Float, bins: Int = TensorRTEntropy.bins
    ) -> (counts: [Double], edges: [Float])? {
        guard !h.isEmpty, lo <= hi else { return nil }
        let t = Swift.max(abs(lo), abs(hi))
        guard t > 0 else { return nil }
        let edges = (0...bins).map { Float(Double(t) * Double($0) / Double(bins)) }
        return (h.projected(onto: edges, min: lo, max: hi, absolute: true), edges)
    }
}

extension CanonicalMethods {
    /// The method a canonical histogram is read with under `convention`: `request` when given, else
    /// the stored one when it is that tool's, else the tool's default (AIMET: TF-enhanced, its
    /// default quant scheme; onnxruntime: entropy with 128 quantized bins). nil for the conventions
    /// with one method (torch's L2 search, TensorRT's entropy) and for plain min/max rules.
    public static func method(
        for convention: Convention, stored: HistogramMethod?, request: HistogramMethod? = nil
    ) -> HistogramMethod? {
        switch convention {
        case .aimet, .aimetLegacy:
            return .aimet(request?.aimet ?? stored?.aimet ?? .tfEnhanced)
        case .onnxruntime:
            return .onnxruntime(request?.onnxruntime ?? stored?.onnxruntime ?? .entropy(quantizedBins: 128))
        case .pytorch, .tensorrt:
            return nil
        }
    }

    /// The encoding under `scheme` of the method `method(for:stored:request:)` picks; nil while the
    /// histogram is empty (the caller falls back to min/max).
    public static func encoding(
        _ h: CanonicalHistogram, min lo: Float, max hi: Float, method: HistogramMethod?, onnxruntimeBins: Int?,
        scheme: QuantScheme
    ) -> Encoding? {
        guard !h.isEmpty, lo <= hi else { return nil }
        switch (scheme.convention, method) {
        case (.aimet, .aimet(let m)?), (.aimetLegacy, .aimet(let m)?):
            let histogram = aimetHistogram(h, min: lo, max: hi, method: m)
            return Encoding(aimetHistograms: [histogram], method: m, scheme: scheme, channelAxis: nil)
        case (.pytorch, _):
            return Encoding(torchHistogram: torchHistogram(h, min: lo, max: hi), scheme: scheme)
        default:
            guard
                let r = range(
                    h, min: lo, max: hi, method: method, onnxruntimeBins: onnxruntimeBins, convention: scheme.convention)
            else { return nil }
            return Encoding(observedMin: [r.min], observedMax: [r.max], scheme: scheme, channelAxis: nil)
        }
    }

    /// The range the method picks, for the conventions whose methods give ranges (onnxruntime,
    /// torch, TensorRT: what their range files carry); nil for AIMET, whose analyzers give encodings.
    public static func range(
        _ h: CanonicalHistogram, min lo: Float, max hi: Float, method: HistogramMethod?, onnxruntimeBins: Int?,
        convention: Convention
    ) -> (min: Float, max: Float)? {
        guard !h.isEmpty, lo <= hi else { return nil }
        switch (convention, method) {
        case (.onnxruntime, .onnxruntime(let m)?):
            let bins = onnxruntimeBins ?? m.defaultBins
            guard let g = onnxRuntimeHistogram(h, min: lo, max: hi, kind: m.histogramKind, bins: bins) else { return nil }
            return try? m.range(counts: g.counts, edges: g.edges, min: g.min, max: g.max)
        case (.pytorch, _):
            return TorchHistogramSearch.range(torchHistogram(h, min: lo, max: hi))
        case (.tensorrt, _):
            guard let g = tensorRTHistogram(h, min: lo, max: hi) else { return (lo, hi) }
            let amax = TensorRTEntropy.amax(g.counts, edges: g.edges)
            return (-amax, amax)
        default:
            return nil
        }
    }

    /// The canonical bins themselves as one histogram over the observed range, empty stretches
    /// between them as empty bins: the finest grid a method comparison can evaluate encodings on.
    public static func evaluationHistogram(
        _ h: CanonicalHistogram, min lo: Float, max hi: Float
    ) -> (
        counts: [Double], edges: [Float]
    )? {
        guard !h.isEmpty, lo <= hi else { return nil }
        var counts: [Double] = []
        var edges: [Float] = []
        for (a, b, c) in h.valueOrdered() {
            let left = Swift.max(a, lo)
            let right = Swift.min(b, hi)
            if let last = edges.last {
                if left > last {
                    counts.append(0)
                    edges.append(left)
                }
            } else {
                edges.append(left)
            }
            counts.append(Double(c))
            edges.append(Swift.max(right, edges.last!))
        }
        return (counts, edges)
    }
}
