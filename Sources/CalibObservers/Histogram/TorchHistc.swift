/// torch's CPU `histc` (linear interpolation, no local search), shared by AIMET's observer and
/// torch's: values in [low, high] go to bin `int((x - low) * B / (high - low))` computed in
/// float32, the last bin closed; values outside, ±inf and NaN go to none.
enum TorchHistc {
    /// Adds each value's count to `counts`, and returns how many values lie below `low` and above
    /// `high` (AIMET adds those to the end bins).
    @discardableResult
    static func add(
        _ values: UnsafeBufferPointer<Float>, low: Float, high: Float, into counts: inout [Float]
    ) -> (below: Int, above: Int) {
        // The tallies are 32-bit: a huge batch goes in parts.
        let part = 1 << 30
        if values.count > part {
            var below = 0
            var above = 0
            var start = 0
            while start < values.count {
                let piece = UnsafeBufferPointer(rebasing: values[start..<Swift.min(start + part, values.count)])
                let (b, a) = add(piece, low: low, high: high, into: &counts)
                below += b
                above += a
                start += part
            }
            return (below, above)
        }
        let b = counts.count
        let bins = Float(b)
        let width = high - low
        // Bin numbers first, in a loop the compiler vectorises (division and all), then the
        // scattered increments into four tallies (runs of one bin do not wait on each other); an
        // out-of-range value goes to the spare bin `b`.
        let stride = b + 1
        var tally = [UInt32](repeating: 0, count: 4 * stride)
        var below = 0
        var above = 0
        let chunk = 4096
        tally.withUnsafeMutableBufferPointer { t in
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: chunk) { index in
                var start = 0
                while start < values.count {
                    let end = Swift.min(start + chunk, values.count)
                    for i in start..<end {
                        let x = values[i]
                        let position = (x - low) * bins / width
                        let inside = x >= low && x <= high
                        let bin: Float = inside ? (position < bins ? position : bins - 1) : bins
                        index[i - start] = Int32(bin)
                        below &+= x < low ? 1 : 0
                        above &+= x > high ? 1 : 0
                    }
                    let n = end - start
                    var i = 0
                    while i + 4 <= n {
                        t[Int(index[i])] &+= 1
                        t[stride + Int(index[i + 1])] &+= 1
                        t[2 * stride + Int(index[i + 2])] &+= 1
                        t[3 * stride + Int(index[i + 3])] &+= 1
                        i += 4
                    }
                    while i < n {
                        t[Int(index[i])] &+= 1
                        i += 1
                    }
                    start = end
                }
            }
            for i in 0..<b { t[i] = t[i] &+ t[stride + i] &+ t[2 * stride + i] &+ t[3 * stride + i] }
        }
        for i in 0..<b { counts[i] += Float(tally[i]) }
        return (below, above)
    }

    /// The least and greatest finite value (+inf and -inf when there is none), eight lanes at a time.
    static func finiteRange(_ values: UnsafeBufferPointer<Float>) -> (min: Float, max: Float) {
        let big = Float.greatestFiniteMagnitude
        var lo = SIMD8<Float>(repeating: .infinity)
        var hi = SIMD8<Float>(repeating: -.infinity)
        let whole = values.count / 8 * 8
        var i = 0
        while i < whole {
            let v = SIMD8<Float>(values[i..<i + 8])
            // NaN fails both comparisons, ±inf one of them.
            let finite = (v .>= -big) .& (v .<= big)
            lo.replace(with: v, where: finite .& (v .< lo))
            hi.replace(with: v, where: finite .& (v .> hi))
            i += 8
        }
        var low = lo.min()
        var high = hi.max()
        for x in values[whole...] where x.isFinite {
            low = Swift.min(low, x)
            high = Swift.max(high, x)
        }
        return (low, high)
    }
}
