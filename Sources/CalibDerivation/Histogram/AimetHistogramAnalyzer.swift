import CalibModel

/// aimet-torch 2.42's histogram encoding analyzers, then `affine.Quantize.set_range`: from one
/// channel's `AimetHistogram` to scale and offset, operation for operation in float32.
public enum AimetHistogramAnalyzer {
    /// The range of the resulting encoding, `scale * (offset + qmin)` to `scale * (offset + qmax)`
    /// (AIMET's `get_min`/`get_max`, the values the golden cases hold).
    public static func encodingRange(
        _ histogram: AimetHistogram, method: AimetHistogramMethod, scheme: QuantScheme
    ) -> (
        min: Float, max: Float
    ) {
        let (scale, offset) = scaleOffset(histogram, method: method, scheme: scheme)
        let (qmin, qmax) = scheme.quantRange
        return (scale * Float(offset + qmin), scale * Float(offset + qmax))
    }

    /// Scale and offset (AIMET sign) of one channel. An empty histogram counts as the zero range,
    /// as the min/max path treats a channel without finite values.
    public static func scaleOffset(
        _ histogram: AimetHistogram, method: AimetHistogramMethod, scheme: QuantScheme
    ) -> (
        scale: Float, offset: Int
    ) {
        guard !histogram.isEmpty else { return EncodingMath.scaleOffset(min: 0, max: 0, scheme: scheme) }
        switch method {
        case .percentile(let p):
            precondition((50...100).contains(p), "AIMET accepts percentiles in [50, 100]")
            let (lo, hi) = percentileRange(histogram, percentile: p)
            return percentileScaleOffset(min: lo, max: hi, scheme: scheme)
        case .sqnr, .tfEnhanced:
            let (lo, hi) = SqnrSearch(scheme: scheme).range(histogram)
            return quantizerScaleOffset(min: lo, max: hi, scheme: scheme)
        }
    }

    /// `PercentileEncodingAnalyzer`: the left edges of the bins where the float32 cumulative count
    /// reaches `p` percent and `100 - p` percent of the total (searchsorted, side left); the whole
    /// histogram at 100.
    static func percentileRange(_ h: AimetHistogram, percentile p: Double) -> (min: Float, max: Float) {
        if p == 100 { return (h.edges[0], h.edges[h.binCount]) }
        // torch's CPU cumsum accumulates in double and stores float32.
        var total = 0.0
        let cumulative = h.counts.map { c -> Float in
            total += Double(c)
            return Float(total)
        }
        let last = cumulative[cumulative.count - 1]
        // A float32 tensor times a Python float: the scalar is rounded to float32 first.
        let upper = last * Float(p) / 100
        let lower = last * Float(1 - p / 100)
        func searchLeft(_ v: Float) -> Int { cumulative.firstIndex { $0 >= v } ?? cumulative.count }
        return (h.edges[searchLeft(lower)], h.edges[searchLeft(upper)])
    }

    /// `adjust_min_max` then the quantizer. It is the min/max analyzer's adjustment, so
    /// `EncodingMath` does it, except for its 2-bit symmetric special case, which the percentile
    /// analyzer lacks; both clamp infinite edges (from an overflowing range) to the largest float.
    static func percentileScaleOffset(min lo: Float, max hi: Float, scheme: QuantScheme) -> (scale: Float, offset: Int) {
        let big = Float.greatestFiniteMagnitude
        let lo = Swift.max(lo, -big)
        let hi = Swift.min(hi, big)
        guard scheme.symmetric && scheme.bitwidth == 2 else {
            return EncodingMath.scaleOffset(min: lo, max: hi, scheme: scheme)
        }
        let ms = Float(Swift.min(0x1p-23, 0.01 / 3))
        var mn = Swift.min(lo, 0)
        var mx = Swift.max(hi, 0)
        if (mx - mn) / 3 < ms {
            mn -= ms * 2
            mx += ms * 1
        }
        let d = Swift.max(mx / 1, -mn / 2)
        return quantizerScaleOffset(min: -2 * d, max: 1 * d, scheme: scheme)
    }

    /// `affine.Quantize` parametrised by min/max: `get_scale` and `get_offset` of the range the
    /// analyzer returned, without any further adjustment.
    static func quantizerScaleOffset(min lo: Float, max hi: Float, scheme: QuantScheme) -> (scale: Float, offset: Int) {
        let (qmin, qmax) = scheme.quantRange
        let steps = qmax - qmin
        let ms = Float(Swift.min(0x1p-23, 0.01 / Double(steps)))
        let scale = Swift.max(abs((hi - lo) / Float(steps)), ms)
        if scheme.symmetric {
            if scheme.convention == .aimetLegacy { return (scale, 0) }
            return (scale, -Int((Double(qmin + qmax) / 2).rounded(.toNearestOrEven)))
        }
        let r = Int((lo / scale).rounded(.toNearestOrEven)) - qmin
        return (scale, Swift.min(Swift.max(r, -qmax), -qmin))
    }
}
