import CalibModel

extension Encoding {
    /// Quantizes `values` (C order, logical `shape`) to integer codes: `clamp(rne(x / scale) - offset, qmin, qmax)`.
    ///
    /// Divides by the scale, as the golden `quantized_last_batch` values do (AIMET's no-grad path
    /// multiplies by 1/scale and differs in a few elements per 100,000).
    public func quantize(_ values: [Float], shape: [Int]) -> [Int] {
        let (qmin, qmax) = scheme.quantRange
        let channelOf = channelIndexer(shape: shape, count: values.count)
        var out = [Int](repeating: 0, count: values.count)
        for i in values.indices {
            let c = channelOf(i)
            let x = values[i]
            guard !x.isNaN else {
                out[i] = qmin
                continue
            }  // NaN has no code
            let r = (x / scale[c]).rounded(.toNearestOrEven)
            let q: Int
            if r >= Float(Int64.max / 2) {
                q = qmax
            } else if r <= Float(Int64.min / 2) {
                q = qmin
            } else {
                q = Int(r) - offset[c]
            }
            out[i] = Swift.min(Swift.max(q, qmin), qmax)
        }
        return out
    }

    /// Maps integer codes back to floats: `(q + offset) * scale`.
    public func dequantize(_ codes: [Int], shape: [Int]) -> [Float] {
        let channelOf = channelIndexer(shape: shape, count: codes.count)
        return codes.indices.map { i in
            let c = channelOf(i)
            return Float(codes[i] + offset[c]) * scale[c]
        }
    }

    /// Quantize then dequantize: what the deployed model computes with.
    public func fakeQuantize(_ values: [Float], shape: [Int]) -> [Float] {
        dequantize(quantize(values, shape: shape), shape: shape)
    }

    private func channelIndexer(shape: [Int], count: Int) -> (Int) -> Int {
        guard let axis = channelAxis, channelCount > 1 || shape.indices.contains(axis) else { return { _ in 0 } }
        let inner = shape[(axis + 1)...].reduce(1, *)
        let channels = shape[axis]
        precondition(channels == channelCount, "tensor has \(channels) channels on axis \(axis), encoding has \(channelCount)")
        return { ($0 / inner) % channels }
    }
}
