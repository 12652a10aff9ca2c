import CalibModel

extension TorchHistogram {
    /// Folds one batch in as torch 2.15 `HistogramObserver.forward` does, in float32: the first
    /// batch is `histc` over its own [min, max]; a later one is `histc` over the widened range,
    /// plus the old counts re-binned onto it (`_combine_histograms`). ±inf values are dropped,
    /// as torch drops them; NaN values count nowhere (torch would fail). A batch without a finite
    /// value changes nothing.
    public mutating func observe(_ values: UnsafeBufferPointer<Float>) {
        let (lo, hi) = TorchHistc.finiteRange(values)
        guard lo <= hi else { return }
        if isEmpty {
            counts = [Float](repeating: 0, count: binCount)
            let (low, high) = Self.histcRange(lo, hi)
            TorchHistc.add(values, low: low, high: high, into: &counts)
            min = lo
            max = hi
            return
        }
        let newMin = Swift.min(min, lo)
        let newMax = Swift.max(max, hi)
        var update = [Float](repeating: 0, count: binCount)
        let (low, high) = Self.histcRange(newMin, newMax)
        TorchHistc.add(values, low: low, high: high, into: &update)
        if newMin == min && newMax == max {
            for i in 0..<binCount { counts[i] += update[i] }
            return
        }
        counts = combine(update, newMin: newMin, newMax: newMax)
        min = newMin
        max = newMax
    }

    /// `observe` for values in an array.
    public mutating func observe(_ values: [Float]) {
        values.withUnsafeBufferPointer { observe($0) }
    }

    /// `histc_select_outer_bin_edges`: an empty range is widened by 1 each way (in double).
    static func histcRange(_ lo: Float, _ hi: Float) -> (Float, Float) {
        lo == hi ? (Float(Double(lo) - 1), Float(Double(hi) + 1)) : (lo, hi)
    }

    /// `_combine_histograms`: the old counts moved onto [newMin, newMax], added to `update`.
    private func combine(_ update: [Float], newMin: Float, newMax: Float) -> [Float] {
        let b = binCount
        var moved = [Float](repeating: 0, count: b)
        if min == max {
            // torch weights the single old value with the new batch's total, not the old one.
            // Whole counts: any summation order gives the same float32 total.
            let total = update.reduce(0, +)
            var one = [Float](repeating: 0, count: b)
            let (low, high) = Self.histcRange(newMin, newMax)
            [min].withUnsafeBufferPointer { _ = TorchHistc.add($0, low: low, high: high, into: &one) }
            for i in 0..<b { moved[i] = one[i] * total }
        } else {
            // _upscale_histogram: each old bin cut into `upsampleRate` equal parts, each part
            // assigned by its midpoint (bucketize, right) to a new bin, then bincount.
            let rate = upsampleRate
            let parts = b * rate
            let partSize = (max - min) / Float(parts)
            let oldEdges = Self.linspace(min, max, parts + 1)
            let newEdges = Self.linspace(newMin, newMax, b + 1)
            let half = 0.5 * partSize
            for p in 0..<parts {
                let mid = oldEdges[p] + half
                // bucketize right=True: the number of edges <= mid, minus one.
                var lowIndex = 0
                var highIndex = newEdges.count
                while lowIndex < highIndex {
                    let m = (lowIndex + highIndex) / 2
                    if newEdges[m] <= mid { lowIndex = m + 1 } else { highIndex = m }
                }
                let bucket = Swift.min(Swift.max(lowIndex - 1, 0), b - 1)
                moved[bucket] += counts[p / rate] / Float(rate)
            }
        }
        return (0..<b).map { update[$0] + moved[$0] }
    }

    /// torch's CPU `linspace` in float32: `start + step * i` up to half way, `end - step * (n - 1 - i)`
    /// after, `step = (end - start) / (n - 1)`.
    static func linspace(_ start: Float, _ end: Float, _ n: Int) -> [Float] {
        let step = (end - start) / Float(n - 1)
        let halfway = n / 2
        return (0..<n).map { i in i < halfway ? start + step * Float(i) : end - step * Float(n - i - 1) }
    }
}
