import CKernels
import CalibModel

/// The range of one tensor folded from its bytes as they become ready, front to back: the runner
/// hashes a batch in cache-sized pieces and folds each piece right after, while it is still in
/// cache, so every byte is read from memory once. Any prefix of the elements can be folded: in the
/// layout `[outer, channels, inner]` (memory order) a prefix is whole rows, then whole channel runs
/// of one row, then part of one run, each folded into its own channels, so a weight whose one row
/// is the whole tensor is still folded piece by piece.
///
/// The result is bit-identical to `RangeKernel.observe(_:channelAxis:)`: ranges are folded in IEEE
/// total order as integer keys, exact in any grouping. No I/O: the caller says how far the bytes are
/// ready.
public struct RangeAccumulator {
    public let tensor: TensorData
    let channels: Int
    /// Elements of one channel run, and of one row (every channel's run).
    let run: Int
    let row: Int
    let count: Int
    var kmin: [Int32]
    var kmax: [Int32]
    /// Elements folded so far.
    var done = 0
    var nonfinite: Int64 = 0
    var unreadable = false

    /// `channelAxis` must already be non-negative and valid, as for `RangeKernel.observe`.
    public init(_ tensor: TensorData, channelAxis: Int?) {
        self.tensor = tensor
        let shape = RangeKernel.layout(tensor, channelAxis: channelAxis)
        channels = shape.channels
        run = Swift.max(1, shape.inner)
        row = channels * run
        count = tensor.elementCount
        precondition(
            tensor.bytes.count >= count * tensor.dtype.size, "tensor '\(tensor.name)' holds fewer bytes than its shape needs")
        // Empty accumulators, as `ck_keys_init` makes them.
        kmin = [Int32](repeating: .max, count: channels)
        kmax = [Int32](repeating: .min, count: channels)
    }

    /// Bytes folded so far (whole elements).
    public var folded: Int { done * tensor.dtype.size }

    /// Whether every element has been folded.
    public var isComplete: Bool { done >= count }

    /// Whether `absorb(signedMax:…)` can stand for folding this tensor: one range of float32 in
    /// native order, nothing folded yet.
    public var absorbsLaneReductions: Bool {
        channels == 1 && done == 0 && count > 0 && tensor.dtype == .float32 && (tensor.byteOrder == .native)
    }

    /// Completes the range from reductions of every element's raw bit pattern (taken elsewhere, e.g.
    /// in the loads of the content hash) instead of reading the elements: the most negative float
    /// has the largest unsigned pattern, the largest non-negative one the largest signed pattern,
    /// and so on, so the total-order min/max follows exactly. Returns false, folding nothing, when a
    /// pattern is NaN or ±inf (those must be counted and left out: `fold` reads the tensor then).
    public mutating func absorb(maxSigned: Int32, minSigned: Int32, maxUnsigned: UInt32, minUnsigned: UInt32) -> Bool {
        guard absorbsLaneReductions else { return false }
        // Exponent all ones on either side: NaN or an infinity.
        if maxSigned >= 0x7F80_0000 || maxUnsigned >= 0xFF80_0000 { return false }
        func key(_ bits: UInt32) -> Int32 {
            let b = Int32(bitPattern: bits)
            return b ^ Int32(bitPattern: UInt32(bitPattern: b >> 31) >> 1)
        }
        let lo = maxUnsigned >= 0x8000_0000 ? key(maxUnsigned) : minSigned
        let hi = maxSigned >= 0 ? maxSigned : key(minUnsigned)
        kmin[0] = Swift.min(kmin[0], lo)
        kmax[0] = Swift.max(kmax[0], hi)
        done = count
        return true
    }

    /// Folds the elements among the tensor's first `ready` bytes that are not folded yet.
    public mutating func fold(upTo ready: Int) {
        let end = Swift.min(count, ready / tensor.dtype.size)
        guard end > done, tensor.bytes.baseAddress != nil else { return }
        // A file truncated under its mapping reads as zeros here instead of killing the process.
        let guarded = ck_guard_begin(tensor.bytes.baseAddress, tensor.bytes.count)
        var e = done
        while e < end {
            if channels == 1 {
                e = observe(e, end, outer: end - e, channels: 1, inner: 1, channel: 0)
                continue
            }
            let channel = (e / run) % channels
            if e % run != 0 || end - e < run {
                // Part of one channel's run.
                let stop = Swift.min(end, (e / run + 1) * run)
                e = observe(e, stop, outer: 1, channels: 1, inner: stop - e, channel: channel)
            } else if e % row != 0 || end - e < row {
                // Whole runs of one row.
                let stop = Swift.min(end / run * run, (e / row + 1) * row)
                e = observe(e, stop, outer: 1, channels: (stop - e) / run, inner: run, channel: channel)
            } else {
                let stop = end / row * row
                e = observe(e, stop, outer: (stop - e) / row, channels: channels, inner: run, channel: 0)
            }
        }
        if ck_guard_end(guarded) != 0 { unreadable = true }
        done = end
    }

    /// Folds elements `[from, to)`, laid out `[outer, channels, inner]` from channel `channel` on;
    /// returns `to`.
    private mutating func observe(_ from: Int, _ to: Int, outer: Int, channels c: Int, inner: Int, channel: Int) -> Int {
        let size = tensor.dtype.size
        let swap: Int32 = tensor.byteOrder != .native && size > 1 ? 1 : 0
        let start = tensor.bytes.baseAddress! + from * size
        let dtype = tensor.dtype.kernelCode
        let bad = kmin.withUnsafeMutableBufferPointer { lo in
            kmax.withUnsafeMutableBufferPointer { hi in
                ck_observe(
                    Int32(CK_ISA_BEST), dtype, swap, start, outer, c, inner, lo.baseAddress! + channel, hi.baseAddress! + channel)
            }
        }
        nonfinite += bad
        return to
    }

    /// The batch range, folding whatever is left first.
    public mutating func result() -> BatchRange {
        fold(upTo: count * tensor.dtype.size)
        var lo = [Float](repeating: .infinity, count: channels)
        var hi = [Float](repeating: -.infinity, count: channels)
        ck_keys_finish(kmin, kmax, &lo, &hi, channels)
        var count = Int(nonfinite)
        var beyond = 0
        // As RangeKernel: finite float64 values beyond float32 convert to ±inf; told apart only when
        // something non-finite was found.
        if tensor.dtype == .float64 && count > 0, let base = tensor.bytes.baseAddress {
            let guarded = ck_guard_begin(base, tensor.bytes.count)
            beyond = Int(ck_count_f64_beyond_f32(tensor.byteOrder != .native ? 1 : 0, base, tensor.elementCount))
            if ck_guard_end(guarded) != 0 { unreadable = true }
            count -= beyond
        }
        var range = BatchRange(min: lo, max: hi, elements: tensor.elementCount, nonfinite: count, beyondFloat32: beyond)
        range.unreadable = unreadable
        return range
    }
}
