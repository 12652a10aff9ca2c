import CalibModel

/// torch 2.15 `HistogramObserver._non_linear_param_search`: starting from the whole histogram,
/// repeatedly trims 1e-5 of the mass from the side that gives up more bins, and stops as soon as
/// the estimated L2 quantization error (over 256 destination bins, whatever the grid) rises.
/// Python floats (double) and torch float32 tensors are mixed exactly as torch mixes them.
public enum TorchHistogramSearch {
    static let destinationBins = 256

    /// The range `calculate_qparams` quantizes with: `min + width * start`, `min + width * (end + 1)`.
    public static func range(_ h: TorchHistogram) -> (min: Float, max: Float) {
        let b = h.binCount
        let binWidth = (h.max - h.min) / Float(b)
        let total = Double(TorchSum.row(h.counts))
        var running = 0.0
        let cumulative = h.counts.map { c -> Float in
            running += Double(c)
            return Float(running)
        }
        let stepSize = 1e-5
        var alpha = 0.0
        var beta = 1.0
        var startBin = 0
        var endBin = b - 1
        var normMin = Double.infinity
        while alpha < beta {
            let nextAlpha = alpha + stepSize
            let nextBeta = beta - stepSize
            // A float32 element against a Python float: compared in float32.
            let lowMass = Float(nextAlpha * total)
            let highMass = Float(nextBeta * total)
            var l = startBin
            var r = endBin
            while l < endBin && cumulative[l] < lowMass { l += 1 }
            while r > startBin && cumulative[r] > highMass { r -= 1 }
            var nextStart = startBin
            var nextEnd = endBin
            if l - startBin > endBin - r {
                nextStart = l
                alpha = nextAlpha
            } else {
                nextEnd = r
                beta = nextBeta
            }
            if nextStart == startBin && nextEnd == endBin { continue }
            let norm = quantizationError(h, start: nextStart, end: nextEnd)
            if norm > normMin { break }
            normMin = norm
            startBin = nextStart
            endBin = nextEnd
        }
        return (h.min + binWidth * Float(startBin), h.min + binWidth * Float(endBin + 1))
    }

    /// `_compute_quantization_error` for quantizing bins `start...end` onto 256 destination bins.
    static func quantizationError(_ h: TorchHistogram, start: Int, end: Int) -> Double {
        let b = h.binCount
        let binWidth = (Double(h.max) - Double(h.min)) / Double(b)
        let dstWidth = binWidth * Double(end - start + 1) / Double(destinationBins)
        if dstWidth == 0 { return 0 }
        let bw = Float(binWidth)
        let dw = Float(dstWidth)
        let halfDw = Float(dstWidth / 2)
        let minusHalfDw = Float(-dstWidth / 2)
        let lastDst = Float(destinationBins - 1)
        // The norm of a whole destination bin, a 0-d tensor in torch.
        let wholeCube = halfDw * halfDw * halfDw - minusHalfDw * minusHalfDw * minusHalfDw
        var norm = [Float](repeating: 0, count: b)
        for i in 0..<b {
            let srcBegin = Float(i - start) * bw
            let srcEnd = srcBegin + bw
            let dstOfBegin = Swift.min(Swift.max(floorDivide(srcBegin, dw), 0), lastDst)
            let dstOfBeginCenter = (dstOfBegin + 0.5) * dw
            let dstOfEnd = Swift.min(Swift.max(floorDivide(srcEnd, dw), 0), lastDst)
            let density = h.counts[i] / bw
            var n: Float = 0
            let deltaBegin = srcBegin - dstOfBeginCenter
            n += density * ((halfDw * halfDw * halfDw - deltaBegin * deltaBegin * deltaBegin) / 3)
            n += (dstOfEnd - dstOfBegin - 1) * (density * (wholeCube / 3))
            let dstOfEndCenter = dstOfEnd * dw + halfDw
            let deltaEnd = srcEnd - dstOfEndCenter
            n += density * ((deltaEnd * deltaEnd * deltaEnd - minusHalfDw * minusHalfDw * minusHalfDw) / 3)
            norm[i] = n
        }
        return Double(TorchSum.row(norm))
    }

    /// `torch.div(a, b, rounding_mode='floor')` for floats (`c10::div_floor_floating`).
    static func floorDivide(_ a: Float, _ b: Float) -> Float {
        if b == 0 { return a / b }
        let mod = a.truncatingRemainder(dividingBy: b)
        var div = (a - mod) / b
        if mod != 0 && (b < 0) != (mod < 0) { div -= 1 }
        guard div != 0 else { return Float(signOf: a / b, magnitudeOf: 0) }
        var floored = div.rounded(.down)
        if div - floored > 0.5 { floored += 1 }
        return floored
    }
}

extension Encoding {
    /// The encoding torch's `HistogramObserver.calculate_qparams` gives (convention `pytorch`,
    /// per tensor): the searched range through `calculate_qparams`.
    public init(torchHistogram h: TorchHistogram, scheme: QuantScheme) {
        precondition(scheme.convention == .pytorch, "torch's HistogramObserver")
        let (lo, hi) = h.isEmpty ? (Float.infinity, -Float.infinity) : TorchHistogramSearch.range(h)
        let (s, o) = EncodingMath.scaleOffset(min: lo, max: hi, scheme: scheme)
        let (qmin, qmax) = scheme.quantRange
        self.init(
            scheme: scheme, channelAxis: nil, scale: [s], offset: [o], min: [s * Float(o + qmin)],
            max: [s * Float(o + qmax)])
    }
}
