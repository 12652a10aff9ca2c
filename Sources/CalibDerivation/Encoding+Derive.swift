import CalibModel

extension Encoding {
    /// Derives the encoding of observed ranges (one pair per channel) under `scheme`.
    public init(observedMin: [Float], observedMax: [Float], scheme: QuantScheme, channelAxis: Int?) {
        precondition(observedMin.count == observedMax.count)
        var scale = [Float](), offset = [Int](), lo = [Float](), hi = [Float]()
        scale.reserveCapacity(observedMin.count)
        offset.reserveCapacity(observedMin.count)
        let (qmin, qmax) = scheme.quantRange
        for (xmin, xmax) in zip(observedMin, observedMax) {
            let (s, o) = EncodingMath.scaleOffset(min: xmin, max: xmax, scheme: scheme)
            scale.append(s)
            offset.append(o)
            lo.append(s * Float(o + qmin))
            hi.append(s * Float(o + qmax))
        }
        self.init(scheme: scheme, channelAxis: channelAxis, scale: scale, offset: offset, min: lo, max: hi)
    }
}

extension TensorStats {
    /// The encoding these statistics give under `scheme`.
    /// A torch histogram under convention pytorch gives HistogramObserver's L2-searched range; an
    /// AIMET histogram under convention aimet gives the encoding of `aimetMethod`, or of the method
    /// stored with it when nil; any other state or convention gives the min/max encoding
    /// (`Derivation.rederive` refuses a histogram under another tool's convention, and a method
    /// without an AIMET histogram, before it gets here). An empty histogram (no finite value yet)
    /// gives the min/max encoding too.
    public func encoding(_ scheme: QuantScheme, channelAxis: Int?, aimetMethod: AimetHistogramMethod? = nil) -> Encoding {
        switch histogram {
        case .pytorch(let h)? where scheme.convention == .pytorch && !h.isEmpty:
            return Encoding(torchHistogram: h, scheme: scheme)
        case .aimet(let main, let tf, let stored)? where scheme.convention == .aimet:
            let method = aimetMethod ?? stored
            let hs = method == .tfEnhanced ? tf : main
            if !hs.contains(where: \.isEmpty) {
                return Encoding(aimetHistograms: hs, method: method, scheme: scheme, channelAxis: channelAxis)
            }
        default:
            break
        }
        return Encoding(observedMin: min, observedMax: max, scheme: scheme, channelAxis: channelAxis)
    }
}
