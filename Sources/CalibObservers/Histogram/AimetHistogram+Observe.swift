import CalibModel

extension AimetHistogram {
    /// Folds one batch of one channel in, as aimet-torch 2.42 `_HistogramObserver.collect_stats`
    /// and `merge_stats` do, operation for operation in float32: the first batch sets the bins,
    /// a later one widens them (up to the growth limit) by re-binning the old counts, then adds
    /// its own. Values outside the bins (±inf, or beyond the limit) count in the end bins; NaN in
    /// none. A batch without a finite value changes nothing (AIMET would compute NaN edges).
    public mutating func observe(_ values: UnsafeBufferPointer<Float>) {
        let (lo, hi) = TorchHistc.finiteRange(values)
        guard lo <= hi else { return }
        if isEmpty {
            startHistogram(values, min: lo, max: hi)
        } else {
            mergeBatch(values, min: lo, max: hi)
        }
    }

    /// `observe` for values in an array.
    public mutating func observe(_ values: [Float]) {
        values.withUnsafeBufferPointer { observe($0) }
    }

    /// `collect_stats` of the first batch, then the growth limits `merge_stats` derives from it.
    mutating func startHistogram(_ values: UnsafeBufferPointer<Float>, min lo: Float, max hi: Float) {
        edges = Self.binEdges(min: lo, max: hi, binCount: binCount)
        counts = [Float](repeating: 0, count: binCount)
        let first = edges[0]
        let last = edges[binCount]
        let (below, above) = TorchHistc.add(values, low: first, high: last, into: &counts)
        counts[0] += Float(below)
        counts[binCount - 1] += Float(above)
        min = lo
        max = hi
        let range = last - first
        let grow = range * growthLimit / 2
        leftLimit = first - grow
        rightLimit = last + grow
    }

    /// `merge_stats` of a later batch: the new range is the batch's clamped to
    /// [leftLimit, edges[0]] and [edges[B], rightLimit]; unless it equals the stored one, every old
    /// bin moves into the new bin its start falls in, split (rounded) with the next one when it
    /// straddles a new edge.
    mutating func mergeBatch(_ values: UnsafeBufferPointer<Float>, min lo: Float, max hi: Float) {
        let b = binCount
        let newMin = Swift.min(Swift.max(lo, leftLimit), edges[0])
        let newMax = Swift.min(Swift.max(hi, edges[b]), rightLimit)
        var merged: [Float]
        if newMin == min && newMax == max {
            merged = counts
        } else {
            merged = [Float](repeating: 0, count: b)
            let destWidth = (newMax - newMin) / Float(b)
            let srcWidth = edges[1] - edges[0]
            var part = [Float](repeating: 0, count: b)
            for i in 0..<b {
                let start = edges[i]
                let dest = Self.binNumber(start, min: newMin, width: destWidth, binCount: b)
                let destEnd = newMin + destWidth * Float(dest + 1)
                let split = (((destEnd - start) / srcWidth) * counts[i]).rounded(.toNearestOrEven)
                part[i] = Swift.min(split, counts[i])
                merged[dest] += part[i]
            }
            for i in 0..<b where part[i] < counts[i] {
                let other = Self.binNumber(edges[i] + destWidth, min: newMin, width: destWidth, binCount: b)
                merged[other] += counts[i] - part[i]
            }
        }
        var fresh = [Float](repeating: 0, count: b)
        let (below, above) = TorchHistc.add(values, low: newMin, high: newMax, into: &fresh)
        for i in 0..<b { fresh[i] += merged[i] }
        fresh[0] += Float(below)
        fresh[b - 1] += Float(above)
        counts = fresh
        edges = Self.binEdges(min: newMin, max: newMax, binCount: b)
        min = newMin
        max = newMax
    }

    /// `_get_bin_num`: `min(int32((x - min) / width), B - 1)`.
    static func binNumber(_ x: Float, min lo: Float, width: Float, binCount: Int) -> Int {
        let position = (x - lo) / width
        // int32 conversion truncates toward zero; torch leaves NaN and overflow undefined.
        guard position < Float(binCount - 1) else { return binCount - 1 }
        return position.isNaN ? binCount - 1 : Swift.max(Int(position), 0)
    }
}
