import CalibModel

/// aimet-torch 2.42 `_LpNormEncodingAnalyzer` (SQNR, TF-enhanced): tries a grid of (delta, offset)
/// candidates around the observed range and keeps the first with the lowest estimated noise,
/// every value of a bin taken at its midpoint and clipped values' error weighted by `gamma`.
struct SqnrSearch {
    let steps: Int
    let symmetric: Bool
    /// `_get_minimum_scale`, a Python float: `min(float32 eps, 0.01 / steps)`.
    let minimumScale: Double
    let asymmetricDeltas = 17
    let symmetricDeltas = 101
    let offsetCandidates = 21
    let gamma: Float = 3

    init(scheme: QuantScheme) {
        let (qmin, qmax) = scheme.quantRange
        steps = qmax - qmin
        symmetric = scheme.symmetric
        minimumScale = Swift.min(0x1p-23, 0.01 / Double(steps))
    }

    /// The encoding range of the best candidate: `offset * delta` and that plus `steps * delta`.
    func range(_ h: AimetHistogram) -> (min: Float, max: Float) {
        let candidates = symmetric ? symmetricCandidates(h) : asymmetricCandidates(h)
        let midpoints = Self.midpoints(h)
        var best = candidates[0]
        var bestNoise = Float.infinity
        for (i, c) in candidates.enumerated() {
            let noise = self.noise(delta: c.delta, offset: c.offset, midpoints: midpoints, counts: h.counts)
            // torch.min's first minimum; a NaN noise wins, as torch.min propagates it.
            if i == 0 || noise < bestNoise || (noise.isNaN && !bestNoise.isNaN) {
                best = c
                bestNoise = noise
            }
        }
        let lo = best.offset * best.delta
        return (lo, lo + Float(steps) * best.delta)
    }

    /// `_pick_test_candidates`: the observed range with zero inside and at least `steps` minimum scales wide.
    private func observedRange(_ h: AimetHistogram) -> (min: Float, max: Float) {
        let lo = Swift.min(h.min, 0)
        return (lo, Swift.max(Swift.max(h.max, 0), lo + Float(minimumScale * Double(steps))))
    }

    /// 17 deltas up to 17/16 of the observed one, each with 20 offsets from `-steps` to 0 and the
    /// observed offset, then clamped into the observed range (`_clamp_delta_offset_values`).
    private func asymmetricCandidates(_ h: AimetHistogram) -> [(delta: Float, offset: Float)] {
        let n = Float(steps)
        let (lo, hi) = observedRange(h)
        let maxDelta = (hi - lo) / n
        let observedOffset = (lo / maxDelta).rounded(.toNearestOrEven)
        let observedMin = maxDelta * observedOffset
        let observedMax = observedMin + maxDelta * n
        let deltas = (1...asymmetricDeltas).map { maxDelta * Float($0) / Float(asymmetricDeltas - 1) }
        // torch.arange(-steps, step, step) in float32: its length and values computed in double.
        let offsetCount = Swift.min(steps + 2, offsetCandidates)
        let step = Double(steps) / Double(offsetCount - 2)
        let start = Double(-steps)
        let length = Int(((step - start) / step).rounded(.up))
        var offsets = (0..<length).map { Float(start + step * Double($0)).rounded(.toNearestOrEven) }
        offsets.append(observedOffset)
        var out: [(delta: Float, offset: Float)] = []
        out.reserveCapacity(deltas.count * offsets.count)
        for delta in deltas {
            for offset in offsets {
                let rawMin = delta * offset
                let rawMax = rawMin + delta * n
                let testMin = Swift.max(observedMin, rawMin)
                let testMax = Swift.min(observedMax, rawMax)
                let d = Swift.max((testMax - testMin) / n, Float(minimumScale))
                out.append((d, (testMin / d).rounded(.toNearestOrEven)))
            }
        }
        return out
    }

    /// 101 deltas up to 101/100 of the one that covers the larger side, offset `(-steps) // 2`.
    private func symmetricCandidates(_ h: AimetHistogram) -> [(delta: Float, offset: Float)] {
        let (lo, hi) = observedRange(h)
        let maxDelta = 2 * Swift.max(hi, -lo) / Float(steps)
        let offset = Float((-steps) >> 1)
        return (1...symmetricDeltas).map {
            (Swift.max(maxDelta * Float($0) / Float(symmetricDeltas - 1), Float(minimumScale)), offset)
        }
    }

    /// Bin midpoints: `(edges[0] + w / 2) + w * k` with `w = edges[1] - edges[0]`.
    static func midpoints(_ h: AimetHistogram) -> [Float] {
        let w = h.edges[1] - h.edges[0]
        let first = h.edges[0] + w / 2
        return (0..<h.binCount).map { first + w * Float($0) }
    }

    /// `_estimate_clip_and_quant_noise` with p = 2, summed as torch sums a float32 row.
    func noise(delta: Float, offset: Float, midpoints: [Float], counts: [Float]) -> Float {
        let n = Float(steps)
        var errors = [Float](repeating: 0, count: midpoints.count)
        for k in midpoints.indices {
            let m = midpoints[k]
            let q = (m / delta - offset).rounded(.toNearestOrEven)
            let clipped = q < 0 || q > n
            let qdq = (Swift.min(Swift.max(q, 0), n) + offset) * delta
            let d = abs(qdq - m)
            var e = d * d * counts[k]
            if clipped { e = e * gamma }
            errors[k] = e
        }
        return TorchSum.row(errors)
    }
}
