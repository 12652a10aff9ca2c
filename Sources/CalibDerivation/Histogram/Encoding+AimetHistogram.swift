import CalibModel

extension Encoding {
    /// The encoding AIMET derives from per-channel histograms (one per channel, a single one when
    /// per-tensor) with `method` under `scheme` (convention `aimet` or `aimet-legacy`).
    public init(aimetHistograms: [AimetHistogram], method: AimetHistogramMethod, scheme: QuantScheme, channelAxis: Int?) {
        precondition(scheme.convention == .aimet || scheme.convention == .aimetLegacy, "AIMET's histogram methods")
        var scale = [Float](), offset = [Int](), lo = [Float](), hi = [Float]()
        let (qmin, qmax) = scheme.quantRange
        for h in aimetHistograms {
            let (s, o) = AimetHistogramAnalyzer.scaleOffset(h, method: method, scheme: scheme)
            scale.append(s)
            offset.append(o)
            lo.append(s * Float(o + qmin))
            hi.append(s * Float(o + qmax))
        }
        self.init(scheme: scheme, channelAxis: channelAxis, scale: scale, offset: offset, min: lo, max: hi)
    }
}
