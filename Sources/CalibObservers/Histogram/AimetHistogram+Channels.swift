import CalibModel

extension AimetHistogram {
    /// Folds one batch of a per-channel tensor (`values` in C order, of `shape`) into one histogram
    /// per channel of `channelAxis` (non-negative), as AIMET's per-channel quantizer does.
    ///
    /// AIMET takes each channel's min and max, and its first histogram, from the channel's own
    /// values, but bins a later batch from row `c` of the tensor reshaped to `[channels, -1]`:
    /// the channel's values only when the channel axis is the outermost one (weights), other
    /// values otherwise. Reproduced as is, since the counts are what AIMET derives from.
    public static func observe(
        _ histograms: inout [AimetHistogram], channelsOf values: UnsafeBufferPointer<Float>, shape: [Int],
        channelAxis axis: Int
    ) {
        precondition(axis >= 0 && axis < shape.count && shape.reduce(1, *) == values.count)
        let channels = shape[axis]
        precondition(histograms.count == channels, "one histogram per channel")
        guard channels > 0, !values.isEmpty else { return }
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *)
        let rowLength = values.count / channels
        var slice = [Float](repeating: 0, count: outer * inner)
        for c in 0..<channels {
            for o in 0..<outer {
                let from = (o * channels + c) * inner
                for k in 0..<inner { slice[o * inner + k] = values[from + k] }
            }
            slice.withUnsafeBufferPointer { own in
                let (lo, hi) = TorchHistc.finiteRange(own)
                guard lo <= hi else { return }
                if histograms[c].isEmpty {
                    histograms[c].startHistogram(own, min: lo, max: hi)
                } else {
                    let row = UnsafeBufferPointer(rebasing: values[c * rowLength..<(c + 1) * rowLength])
                    histograms[c].mergeBatch(row, min: lo, max: hi)
                }
            }
        }
    }
}
