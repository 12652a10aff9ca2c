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
    /// AIMET or onnxruntime histogram under its own convention gives the encoding of `method`, or
    /// of the method stored with it when nil; any other state or convention gives the min/max
    /// encoding (`Derivation.rederive` refuses a histogram under another tool's convention, and a
    /// method for another tool's histogram, before it gets here). An empty histogram (no finite
    /// value yet) gives the min/max encoding too.
    public func encoding(_ scheme: QuantScheme, channelAxis: Int?, method: HistogramMethod? = nil) -> Encoding {
        switch histogram {
        case .pytorch(let h)? where scheme.convention == .pytorch && !h.isEmpty:
            return Encoding(torchHistogram: h, scheme: scheme)
        case .aimet(let main, let tf, let stored)? where scheme.convention == .aimet:
            let method = method?.aimet ?? stored
            let hs = method == .tfEnhanced ? tf : main
            if !hs.contains(where: \.isEmpty) {
                return Encoding(aimetHistograms: hs, method: method, scheme: scheme, channelAxis: channelAxis)
            }
        case .onnxruntime(let hs, let stored, _)? where scheme.convention == .onnxruntime:
            if let range = Self.range(hs, method?.onnxruntime ?? stored) {
                return Encoding(observedMin: [range.min], observedMax: [range.max], scheme: scheme, channelAxis: nil)
            }
        case .canonical(let h, let stored, let bins)?:
            let m = CanonicalMethods.method(for: scheme.convention, stored: stored, request: method)
            if let e = CanonicalMethods.encoding(h, min: min[0], max: max[0], method: m, onnxruntimeBins: bins, scheme: scheme) {
                return e
            }
        default:
            break
        }
        return Encoding(observedMin: min, observedMax: max, scheme: scheme, channelAxis: channelAxis)
    }
}

extension TensorStats {
    /// The range a format that carries ranges, not encodings (onnxruntime's table, TensorRT's
    /// cache), writes: the observed min/max, or the range a histogram's method picks, which is
    /// what that tool's own calibrator writes (onnxruntime's method; torch's L2 search). AIMET's
    /// analyzers give encodings, not ranges: the export stage writes their encoding's grid instead. A canonical
    /// histogram gives the range of `convention`'s method.
    public func calibratedRange(for convention: Convention) -> (min: [Float], max: [Float]) {
        switch histogram {
        case .canonical(let h, let stored, let bins)?:
            let m = CanonicalMethods.method(for: convention, stored: stored)
            if let r = CanonicalMethods.range(
                h, min: min[0], max: max[0], method: m, onnxruntimeBins: bins, convention: convention)
            {
                return ([r.min], [r.max])
            }
        case .pytorch(let h)? where !h.isEmpty:
            let r = TorchHistogramSearch.range(h)
            return ([r.0], [r.1])
        case .onnxruntime(let hs, let method, _)?:
            if let r = Self.range(hs, method) { return ([r.min], [r.max]) }
        default:
            break
        }
        return (min, max)
    }

    /// The range `method` picks from the onnxruntime histogram of its kind; nil while it is empty
    /// (or for a method its bins cannot give, which runs and re-derivations refuse before).
    static func range(_ hs: [OnnxRuntimeHistogram], _ method: OnnxRuntimeHistogramMethod) -> (min: Float, max: Float)? {
        guard let h = hs.first(where: { $0.kind == method.histogramKind }), h.hasData else { return nil }
        return try? method.range(counts: h.counts, edges: h.edges, min: h.min, max: h.max)
    }
}

extension TensorStats {
    /// These statistics with `method` as the one their histogram state follows (a method of
    /// another tool changes nothing).
    public func following(_ method: HistogramMethod) -> TensorStats {
        var out = self
        switch (state, method) {
        case (.histogram(let lo, let hi, .aimet(let main, let tf, _)), .aimet(let m)):
            out.state = .histogram(min: lo, max: hi, .aimet(main: main, tfEnhanced: tf, method: m))
        case (.histogram(let lo, let hi, .onnxruntime(let hs, _, let c)), .onnxruntime(let m)):
            out.state = .histogram(min: lo, max: hi, .onnxruntime(histograms: hs, method: m, collect: c))
        case (.histogram(let lo, let hi, .canonical(let h, _, let bins)), _):
            out.state = .histogram(min: lo, max: hi, .canonical(h, method: method, onnxruntimeBins: bins))
        default:
            break
        }
        return out
    }
}

extension TensorStats {
    /// The encoding of one tensor of a `--method best` set under `scheme`.
    public func encoding(_ scheme: QuantScheme, channelAxis: Int?, choice: TensorMethodChoice) -> Encoding {
        switch choice {
        case .minmax: Encoding(observedMin: min, observedMax: max, scheme: scheme, channelAxis: channelAxis)
        case .toolDefault: encoding(scheme, channelAxis: channelAxis)
        case .method(let m): encoding(scheme, channelAxis: channelAxis, method: m)
        }
    }
}
