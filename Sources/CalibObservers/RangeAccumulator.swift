import CKernels
import CalibModel

/// The range of one tensor folded from its bytes as they become ready, front to back: the runner
/// hashes a batch in cache-sized pieces and folds each piece right after, while it is still in
/// cache, so every byte is read from memory once. Whole rows (`[outer, channels, inner]` in memory
/// order; an element when per-tensor) are folded as soon as all their bytes are ready; a row
/// longer than a piece waits until it is whole.
///
/// The result is bit-identical to `RangeKernel.observe(_:channelAxis:)`: ranges are folded in IEEE
/// total order as integer keys, exact in any grouping. No I/O: the caller says how far the bytes are
/// ready.
public struct RangeAccumulator {
    public let tensor: TensorData
    let channels: Int
    let inner: Int
    /// Bytes of one row; rows are folded whole.
    let rowBytes: Int
    /// The tensor's bytes (those its shape covers).
    let total: Int
    var kmin: [Int32]
    var kmax: [Int32]
    /// Bytes folded so far (whole rows).
    public private(set) var folded = 0
    var nonfinite: Int64 = 0
    var unreadable = false

    /// `channelAxis` must already be non-negative and valid, as for `RangeKernel.observe`.
    public init(_ tensor: TensorData, channelAxis: Int?) {
        self.tensor = tensor
        let shape = RangeKernel.layout(tensor, channelAxis: channelAxis)
        channels = shape.channels
        inner = shape.inner
        let size = tensor.dtype.size
        rowBytes = channels == 1 ? size : channels * inner * size
        total = tensor.elementCount * size
        precondition(tensor.bytes.count >= total, "tensor '\(tensor.name)' holds fewer bytes than its shape needs")
        kmin = [Int32](repeating: 0, count: channels)
        kmax = [Int32](repeating: 0, count: channels)
        let n = channels
        kmin.withUnsafeMutableBufferPointer { lo in
            kmax.withUnsafeMutableBufferPointer { hi in ck_keys_init(lo.baseAddress!, hi.baseAddress!, n) }
        }
    }

    /// Whether every byte has been folded.
    public var isComplete: Bool { folded >= total }

    /// Folds the whole rows among the tensor's first `ready` bytes that are not folded yet.
    public mutating func fold(upTo ready: Int) {
        let end = Swift.min(total, ready) / Swift.max(1, rowBytes) * rowBytes
        guard end > folded, let base = tensor.bytes.baseAddress else { return }
        let size = tensor.dtype.size
        let swap: Int32 = tensor.byteOrder != .native && size > 1 ? 1 : 0
        let start = base + folded, rows = (end - folded) / rowBytes
        let (c, i) = channels == 1 ? (1, 1) : (channels, inner)
        // A file truncated under its mapping reads as zeros here instead of killing the process.
        let guarded = ck_guard_begin(tensor.bytes.baseAddress, tensor.bytes.count)
        let bad = kmin.withUnsafeMutableBufferPointer { lo in
            kmax.withUnsafeMutableBufferPointer { hi in
                ck_observe(Int32(CK_ISA_BEST), tensor.dtype.kernelCode, swap, start, rows, c, i, lo.baseAddress!, hi.baseAddress!)
            }
        }
        if ck_guard_end(guarded) != 0 { unreadable = true }
        nonfinite += bad
        folded = end
    }

    /// The batch range, folding whatever is left first.
    public mutating func result() -> BatchRange {
        fold(upTo: total)
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
