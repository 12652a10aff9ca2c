/// The observer hot path: the finite min/max of a tensor (or of each channel) in one pass.
public enum RangeKernel {
    /// Elements decoded per block when the data is not float32 in native order.
    static let blockSize = 4096

    /// The range of `tensor` in this batch. `channelAxis` must already be non-negative and valid.
    public static func observe(_ tensor: TensorData, channelAxis: Int?) -> BatchRange {
        let count = tensor.elementCount
        let decoder = ElementDecoder(tensor)
        guard let axis = channelAxis else {
            var acc = Accumulator()
            forEachRun(decoder, start: 0, count: count) { acc.add($0, $1) }
            return BatchRange(min: [acc.min], max: [acc.max], elements: count, nonfinite: acc.nonfinite)
        }
        let shape = tensor.memoryShape
        let a = tensor.memoryAxis(axis)
        let outer = shape[..<a].reduce(1, *)
        let channels = shape[a]
        let inner = shape[(a + 1)...].reduce(1, *)
        var accs = [Accumulator](repeating: Accumulator(), count: channels)
        if inner >= 64 {
            // Long contiguous runs per channel: reduce each run with the vector kernel.
            for o in 0..<outer {
                for c in 0..<channels {
                    forEachRun(decoder, start: (o * channels + c) * inner, count: inner) { accs[c].add($0, $1) }
                }
            }
        } else {
            // Channels interleave at a short stride (e.g. the last axis): fold rows elementwise.
            let row = channels * inner
            withUnsafeTemporaryAllocation(of: Float.self, capacity: row) { buf in
                let out = buf.baseAddress!
                for o in 0..<outer {
                    let p: UnsafePointer<Float>
                    if decoder.isNativeFloat32, Int(bitPattern: decoder.base) % 4 == 0 {
                        p = (decoder.base + o * row * 4).assumingMemoryBound(to: Float.self)
                    } else {
                        decoder.decode(start: o * row, count: row, into: out)
                        p = UnsafePointer(out)
                    }
                    for c in 0..<channels { accs[c].add(p + c * inner, inner) }
                }
            }
        }
        return BatchRange(
            min: accs.map(\.min), max: accs.map(\.max), elements: count,
            nonfinite: accs.reduce(0) { $0 + $1.nonfinite })
    }

    /// Calls `body` with float32 runs covering elements `[start, start + count)`: in place when the
    /// data is native float32, else decoded a block at a time.
    @inline(__always)
    static func forEachRun(
        _ decoder: ElementDecoder, start: Int, count: Int, _ body: (UnsafePointer<Float>, Int) -> Void
    ) {
        if decoder.isNativeFloat32, Int(bitPattern: decoder.base) % 4 == 0 {
            body((decoder.base + start * 4).assumingMemoryBound(to: Float.self), count)
            return
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: blockSize) { buf in
            var done = 0
            while done < count {
                let n = Swift.min(blockSize, count - done)
                decoder.decode(start: start + done, count: n, into: buf.baseAddress!)
                body(UnsafePointer(buf.baseAddress!), n)
                done += n
            }
        }
    }
}

/// Running finite min/max and non-finite count of one channel.
struct Accumulator {
    var min: Float = .infinity
    var max: Float = -.infinity
    var nonfinite = 0

    /// Vector min/max over `n` floats. Lanes are compared and replaced (`replace(with:where:)`
    /// vectorizes; `pointwiseMin` did not). A vector holding NaN/Inf falls back to scalar code.
    @inline(__always)
    mutating func add(_ p: UnsafePointer<Float>, _ n: Int) {
        typealias V = SIMD16<Float>
        let width = V.scalarCount
        var i = 0
        if n >= width {
            var vmin = V(repeating: .infinity)
            var vmax = V(repeating: -.infinity)
            let raw = UnsafeRawPointer(p)
            while i + width <= n {
                let v = raw.loadUnaligned(fromByteOffset: i * 4, as: V.self)
                let bits = unsafeBitCast(v, to: SIMD16<UInt32>.self) & 0x7fff_ffff
                if any(bits .>= 0x7f80_0000) {
                    addScalar(p + i, width)
                } else {
                    vmin.replace(with: v, where: v .< vmin)
                    vmax.replace(with: v, where: v .> vmax)
                }
                i += width
            }
            min = Swift.min(min, vmin.min())
            max = Swift.max(max, vmax.max())
        }
        if i < n { addScalar(p + i, n - i) }
    }

    @inline(__always)
    mutating func addScalar(_ p: UnsafePointer<Float>, _ n: Int) {
        for j in 0..<n {
            let x = p[j]
            if x.isFinite {
                if x < min { min = x }
                if x > max { max = x }
            } else {
                nonfinite += 1
            }
        }
    }
}
