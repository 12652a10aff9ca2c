import CalibModel

extension OnnxRuntimeHistogram {
    /// One onnxruntime `collect` over `values` (one batch, or every batch concatenated).
    public mutating func collect(_ values: UnsafeBufferPointer<Float>) throws(HistogramError) {
        var extent = CollectExtent()
        extent.add(values)
        var pass = try beginCollect(extent)
        pass.count(values)
        finish(pass)
    }

    public mutating func collect(_ values: [Float]) throws(HistogramError) {
        try values.withUnsafeBufferPointer { (v) throws(HistogramError) in try collect(v) }
    }

    /// Starts one collect whose data has `extent` (a first pass over all of it): the returned pass
    /// counts the same data chunk by chunk, and `finish` folds it in. This is how `collect all`
    /// reads inputs twice instead of holding every batch in memory.
    public func beginCollect(_ extent: CollectExtent) throws(HistogramError) -> CollectPass {
        switch kind {
        case .signed: try beginSigned(extent)
        case .absolute: try beginAbsolute(extent)
        }
    }

    /// Folds a finished pass in (old counts onto the pass's grid, running min/max).
    public mutating func finish(_ pass: CollectPass) {
        guard pass.extent.count > 0 else { return }
        var merged = pass.counts
        for (i, c) in counts.enumerated() { merged[pass.oldOffset + i] += c }
        counts = merged
        edges = pass.newEdges
        threshold = pass.newThreshold
        // Python's min(old, new) keeps the old value unless the new one is smaller.
        if pass.extent.min < min { min = pass.extent.min }
        if pass.extent.max > max { max = pass.extent.max }
    }

    /// `collect_value` / `merge_histogram`.
    private func beginSigned(_ extent: CollectExtent) throws(HistogramError) -> CollectPass {
        guard extent.count > 0 else {
            return CollectPass(extent: extent, grid: .none, oldOffset: 0, newEdges: edges, newThreshold: threshold)
        }
        let t = Swift.max(abs(extent.min), abs(extent.max))
        guard hasData else {
            let grid = try UniformGrid(lo: -t, hi: t, bins: bins)
            return CollectPass(extent: extent, grid: .uniform(grid), oldOffset: 0, newEdges: grid.edges, newThreshold: t)
        }
        let oldT = threshold
        let oldBins = counts.count
        if t <= oldT {
            let grid = try UniformGrid(lo: -oldT, hi: oldT, bins: oldBins)
            return CollectPass(extent: extent, grid: .uniform(grid), oldOffset: 0, newEdges: edges, newThreshold: oldT)
        }
        if oldT == 0 {
            let grid = try UniformGrid(lo: -t, hi: t, bins: oldBins)
            return CollectPass(extent: extent, grid: .uniform(grid), oldOffset: 0, newEdges: grid.edges, newThreshold: t)
        }
        // old_stride = 2 * old_threshold / old_num_bins, all float32; numpy's float32 floor division.
        let stride = (2 * oldT) / Float(oldBins)
        let grow = Self.floorDivide(t - oldT, stride) + 1
        guard grow.isFinite, grow < Float(Self.maxBins) else { throw .tooManyBins }
        let half = Int(grow)
        let newBins = oldBins + 2 * half
        guard newBins <= Self.maxBins else { throw .tooManyBins }
        let newT = Float(half) * stride + oldT
        let grid = try UniformGrid(lo: -newT, hi: newT, bins: newBins)
        return CollectPass(extent: extent, grid: .uniform(grid), oldOffset: half, newEdges: grid.edges, newThreshold: newT)
    }

    /// `collect_absolute_value`.
    private func beginAbsolute(_ extent: CollectExtent) throws(HistogramError) -> CollectPass {
        guard extent.count > 0 else {
            return CollectPass(extent: extent, grid: .none, oldOffset: 0, newEdges: edges, newThreshold: 0, absolute: true)
        }
        guard hasData else {
            // np.histogram(|x|, bins=num_bins): the range is [min |x|, max |x|], not [0, max |x|].
            let grid = try UniformGrid(lo: extent.absMin, hi: extent.absMax, bins: bins)
            return CollectPass(
                extent: extent, grid: .uniform(grid), oldOffset: 0, newEdges: grid.edges, newThreshold: 0, absolute: true)
        }
        var wide = edges.map(Double.init)
        let last = edges[edges.count - 1]
        if extent.absMax > last {
            let width = edges[1] - edges[0]
            guard width > 0 else { throw .degenerateEdges }
            let start = last + width
            let stop = extent.absMax + width
            // np.arange(start, stop, width) on float32 scalars: length from float32 arithmetic, values
            // in float64 (arange promotes to at least intp), v_i = v0 + i * (v1 - v0).
            let length = ((stop - start) / width).rounded(.up)
            if length > 0 {
                guard Double(length) + Double(wide.count) <= Double(Self.maxBins + 1) else { throw .tooManyBins }
                let v0 = Double(start)
                let delta = Double(start + width) - v0
                wide.reserveCapacity(wide.count + Int(length))
                wide.append(v0)
                if length >= 2 { wide.append(Double(start + width)) }
                if length >= 3 { for i in 2..<Int(length) { wide.append(v0 + Double(i) * delta) } }
            }
        }
        let grid = try EdgeGrid(edges: wide)
        return CollectPass(
            extent: extent, grid: .edges(grid), oldOffset: 0, newEdges: wide.map(Float.init), newThreshold: 0, absolute: true)
    }

    /// numpy `npy_divmodf`'s quotient (float32 `//`) for the non-negative operands it gets here.
    static func floorDivide(_ a: Float, _ b: Float) -> Float {
        let mod = a.truncatingRemainder(dividingBy: b)
        var div = (a - mod) / b
        if mod != 0 && ((b < 0) != (mod < 0)) { div -= 1 }
        guard div != 0 else { return Float(signOf: a / b, magnitudeOf: 0) }
        var floorDiv = div.rounded(.down)
        if div - floorDiv > 0.5 { floorDiv += 1 }
        return floorDiv
    }
}

/// The first pass of one collect: what onnxruntime takes of all the data before it bins any of it.
/// Non-finite values are skipped (onnxruntime uses nanmin/nanmax and raises on infinities).
/// Mergeable: the extent of chunks is the extent of their concatenation.
public struct CollectExtent: Sendable, Hashable {
    public var min: Float = .infinity
    public var max: Float = -.infinity
    public var absMin: Float = .infinity
    public var absMax: Float = -.infinity
    /// Finite values seen (at least 1 when built from a min/max pass that saw any).
    public var count: Int = 0

    public init() {}

    /// The extent from a min/max pass made elsewhere (the kernels' `BatchRange` of each batch, widened
    /// over them): `|x|`'s maximum follows from min and max; its minimum is needed only by the first
    /// collect of an `absolute` histogram (`OnnxRuntimeHistogram.needsAbsoluteMinimum`), and any
    /// value does for the others. `min > max` means no finite value.
    public init(min: Float, max: Float, absMin: Float = 0) {
        self.min = min
        self.max = max
        absMax = min <= max ? Swift.max(abs(min), abs(max)) : -.infinity
        self.absMin = min <= max ? absMin : .infinity
        count = min <= max ? 1 : 0
    }

    public mutating func add(_ values: UnsafeBufferPointer<Float>) {
        var lo = min
        var hi = max
        var alo = absMin
        var ahi = absMax
        var n = 0
        for x in values where x.isFinite {
            if x < lo { lo = x }
            if x > hi { hi = x }
            let a = abs(x)
            if a < alo { alo = a }
            if a > ahi { ahi = a }
            n += 1
        }
        min = lo
        max = hi
        absMin = alo
        absMax = ahi
        count += n
    }

    public mutating func formUnion(_ other: CollectExtent) {
        if other.min < min { min = other.min }
        if other.max > max { max = other.max }
        if other.absMin < absMin { absMin = other.absMin }
        if other.absMax > absMax { absMax = other.absMax }
        count += other.count
    }
}

/// The second pass of one collect: the grid is fixed, values are counted chunk by chunk (each value
/// lands in one bin whatever the chunking, as in numpy's blocked `histogram`).
public struct CollectPass: Sendable {
    enum Grid: Sendable {
        case none
        case uniform(UniformGrid)
        case edges(EdgeGrid)
    }

    let extent: CollectExtent
    let grid: Grid
    /// Where the old counts land in the new ones (onnxruntime's `half_increased_bins`).
    let oldOffset: Int
    let newEdges: [Float]
    let newThreshold: Float
    /// Whether values are binned as `|x|`.
    let absolute: Bool
    private(set) var counts: [Int64]

    init(
        extent: CollectExtent, grid: Grid, oldOffset: Int, newEdges: [Float], newThreshold: Float, absolute: Bool = false
    ) {
        self.extent = extent
        self.absolute = absolute
        self.grid = grid
        self.oldOffset = oldOffset
        self.newEdges = newEdges
        self.newThreshold = newThreshold
        switch grid {
        case .none: counts = []
        case .uniform(let g): counts = Array(repeating: 0, count: g.bins)
        case .edges(let g): counts = Array(repeating: 0, count: g.edges.count - 1)
        }
    }

    public mutating func count(_ values: UnsafeBufferPointer<Float>) {
        switch grid {
        case .none: return
        case .uniform(let g): counts.withUnsafeMutableBufferPointer { g.count(values, absolute: absolute, into: $0) }
        case .edges(let g): counts.withUnsafeMutableBufferPointer { g.count(values, absolute: absolute, into: $0) }
        }
    }

    public mutating func count(_ values: [Float]) {
        values.withUnsafeBufferPointer { count($0) }
    }
}

/// numpy `histogram(a, bins=n, range=(lo, hi))` on float32: np.linspace edges in float32, the index
/// `int(f32(f32(x - lo) / f32(hi - lo)) * n)` and its one-step correction against the edges.
struct UniformGrid: Sendable {
    let lo: Float
    let hi: Float
    let bins: Int
    let edges: [Float]

    init(lo first: Float, hi last: Float, bins: Int) throws(HistogramError) {
        guard bins <= OnnxRuntimeHistogram.maxBins else { throw .tooManyBins }
        var lo = first
        var hi = last
        if lo == hi {
            lo -= 0.5
            hi += 0.5
        }
        self.lo = lo
        self.hi = hi
        self.bins = bins
        // np.linspace(lo, hi, bins + 1, dtype=float32): y = arange * step + lo, last set to hi.
        let delta = hi - lo
        let step = delta / Float(bins)
        var e = [Float](repeating: 0, count: bins + 1)
        if step == 0 {
            for i in 0..<bins { e[i] = Float(i) / Float(bins) * delta + lo }
        } else {
            for i in 0..<bins { e[i] = Float(i) * step + lo }
        }
        e[bins] = hi
        edges = e
    }

    func count(_ values: UnsafeBufferPointer<Float>, absolute: Bool, into counts: UnsafeMutableBufferPointer<Int64>) {
        let lo = lo
        let hi = hi
        let denom = hi - lo
        let n = bins
        let nf = Float(n)
        edges.withUnsafeBufferPointer { e in
            for v in values {
                let x = absolute ? abs(v) : v
                guard x >= lo && x <= hi else { continue }
                var k = Int((x - lo) / denom * nf)
                if k == n { k = n - 1 }
                if x < e[k] {
                    k -= 1
                } else if k != n - 1 && x >= e[k + 1] {
                    k += 1
                }
                counts[k] &+= 1
            }
        }
    }
}

/// numpy `histogram(a, bins=edges)`: bin i holds `edges[i] <= x < edges[i+1]`, the last bin closed,
/// values outside the edges dropped. Edges are float64 (onnxruntime hands numpy the float64 result of
/// `np.hstack` with `np.arange`), compared exactly with the float32 values.
struct EdgeGrid: Sendable {
    let edges: [Double]

    init(edges: [Double]) throws(HistogramError) {
        guard edges.count >= 2 else { throw .degenerateEdges }
        guard edges.count - 1 <= OnnxRuntimeHistogram.maxBins else { throw .tooManyBins }
        self.edges = edges
    }

    func count(_ values: UnsafeBufferPointer<Float>, absolute: Bool, into counts: UnsafeMutableBufferPointer<Int64>) {
        let n = edges.count - 1
        edges.withUnsafeBufferPointer { e in
            let first = e[0]
            let last = e[n]
            // The edges are nearly uniform: guess the bin, then walk to the exact one.
            let span = last - first
            let scale = span > 0 ? Double(n) / span : 0
            let top = Double(n - 1)
            for x in values {
                let d = Double(absolute ? abs(x) : x)
                guard d >= first && d <= last else { continue }
                var g = (d - first) * scale
                if !(g >= 0) { g = 0 }
                if g > top { g = top }
                var k = Int(g)
                while k > 0 && d < e[k] { k -= 1 }
                while k < n - 1 && d >= e[k + 1] { k += 1 }
                counts[k] &+= 1
            }
        }
    }
}
