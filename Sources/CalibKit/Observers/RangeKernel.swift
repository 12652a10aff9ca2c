import CKernels
import Dispatch

/// The observer hot path: the finite min/max of a tensor (or of each channel) in one pass over its
/// bytes as they lie in the file, whatever the dtype, byte order, memory order or alignment.
///
/// The work is done by the C kernels of `CKernels` (AVX2 chosen at run time, a portable fallback
/// otherwise); see `Sources/CKernels/ckernels.c` for the design. Ranges are exact and independent
/// of how the tensor is cut into pieces: values are compared in IEEE 754 total order, so `-0 < +0`
/// (a range whose smallest value is zero is `-0` when a `-0` was seen), and NaN/±Inf are counted and
/// left out. Splitting a tensor across threads therefore gives bit-identical results.
public enum RangeKernel {
    /// The instruction set the kernels use on this machine ("avx2" or "portable").
    public static var instructionSet: String { String(cString: ck_isa_name(Int32(CK_ISA_BEST))) }

    /// The range of `tensor` in this batch. `channelAxis` must already be non-negative and valid.
    public static func observe(_ tensor: TensorData, channelAxis: Int?) -> BatchRange {
        observe(tensor, channelAxis: channelAxis, isa: Int32(CK_ISA_BEST))
    }

    /// As `observe(_:channelAxis:)`, with the tensor split across up to `threads` threads when it is
    /// large enough to gain from it. The result is bit-identical to the single-threaded one.
    public static func observe(_ tensor: TensorData, channelAxis: Int?, threads: Int) -> BatchRange {
        observe(tensor, channelAxis: channelAxis, isa: Int32(CK_ISA_BEST), threads: threads)
    }

    /// Bytes below which a tensor is observed on the calling thread only.
    static let parallelThreshold = 1 << 20

    /// `[outer, channels, inner]` in memory order: per-tensor is one channel.
    static func layout(_ tensor: TensorData, channelAxis: Int?) -> (outer: Int, channels: Int, inner: Int) {
        guard let axis = channelAxis else { return (1, 1, tensor.elementCount) }
        let shape = tensor.memoryShape
        let a = tensor.memoryAxis(axis)
        precondition(a >= 0 && a < shape.count, "channel axis \(axis) out of range for shape \(tensor.shape)")
        return (shape[..<a].reduce(1, *), shape[a], shape[(a + 1)...].reduce(1, *))
    }

    /// `isa` forces an instruction set (`CK_ISA_PORTABLE`, `CK_ISA_AVX2`); tests use it to check each.
    static func observe(
        _ tensor: TensorData, channelAxis: Int?, isa: Int32, threads: Int = 1, parallelThreshold: Int = parallelThreshold
    ) -> BatchRange {
        let count = tensor.elementCount
        let (outer, channels, inner) = layout(tensor, channelAxis: channelAxis)
        let size = tensor.dtype.size
        precondition(tensor.bytes.count >= count * size, "tensor '\(tensor.name)' holds fewer bytes than its shape needs")
        let swap: Int32 = tensor.byteOrder != .native && size > 1 ? 1 : 0
        let dtype = tensor.dtype.kernelCode
        var kmin = [Int32](repeating: .max, count: channels)
        var kmax = [Int32](repeating: .min, count: channels)
        var nonfinite = 0
        if count > 0, let base = tensor.bytes.baseAddress {
            let pieces = threads > 1 && count * size >= parallelThreshold
                ? split(outer: outer, channels: channels, inner: inner, into: threads) : []
            if pieces.count > 1 {
                nonfinite = observePieces(
                    pieces, base: base, size: size, dtype: dtype, swap: swap, isa: isa,
                    channels: channels, inner: inner, kmin: &kmin, kmax: &kmax)
            } else {
                nonfinite = Int(ck_observe(isa, dtype, swap, base, outer, channels, inner, &kmin, &kmax))
            }
        }
        var mins = [Float](repeating: 0, count: channels)
        var maxs = [Float](repeating: 0, count: channels)
        ck_keys_finish(kmin, kmax, &mins, &maxs, channels)
        return BatchRange(min: mins, max: maxs, elements: count, nonfinite: nonfinite)
    }

    /// A piece of `[outer, channels, inner]`: rows `outer`, and within each row the channels
    /// `channels` (all of them unless the tensor had too few rows to split).
    struct Piece {
        var outer: Range<Int>
        var channels: Range<Int>
    }

    /// Cuts the tensor into about `parts` pieces of similar size along `outer`, or, when it has too
    /// few rows, along the channels of each row (each row's channel slice is contiguous).
    static func split(outer: Int, channels: Int, inner: Int, into parts: Int) -> [Piece] {
        if channels == 1 {
            // Per tensor: any cut of the contiguous elements will do; `outer * inner` is the count.
            let n = outer * inner
            return stride(from: 0, to: parts, by: 1).map { i in
                Piece(outer: n * i / parts ..< n * (i + 1) / parts, channels: 0..<1)
            }.filter { !$0.outer.isEmpty }
        }
        if outer >= parts {
            return stride(from: 0, to: parts, by: 1).map { i in
                Piece(outer: outer * i / parts ..< outer * (i + 1) / parts, channels: 0..<channels)
            }.filter { !$0.outer.isEmpty }
        }
        guard channels >= parts else { return [] }
        return stride(from: 0, to: parts, by: 1).map { i in
            Piece(outer: 0..<outer, channels: channels * i / parts ..< channels * (i + 1) / parts)
        }.filter { !$0.channels.isEmpty }
    }

    private static func observePieces(
        _ pieces: [Piece], base: UnsafeRawPointer, size: Int, dtype: Int32, swap: Int32, isa: Int32,
        channels: Int, inner: Int, kmin: inout [Int32], kmax: inout [Int32]
    ) -> Int {
        let n = pieces.count
        // Each piece folds into its own accumulators; they are merged afterwards (order-independent).
        let mins = UnsafeMutableBufferPointer<Int32>.allocate(capacity: n * channels)
        let maxs = UnsafeMutableBufferPointer<Int32>.allocate(capacity: n * channels)
        let counts = UnsafeMutableBufferPointer<Int64>.allocate(capacity: n)
        defer {
            mins.deallocate()
            maxs.deallocate()
            counts.deallocate()
        }
        // Each iteration writes only its own slots.
        nonisolated(unsafe) let pmin = mins.baseAddress!, pmax = maxs.baseAddress!, pcount = counts.baseAddress!
        nonisolated(unsafe) let unsafeBase = base
        DispatchQueue.concurrentPerform(iterations: n) { i in
            let piece = pieces[i]
            let kmin = pmin + i * channels, kmax = pmax + i * channels
            ck_keys_init(kmin, kmax, channels)
            if channels == 1 {
                // Per tensor: `outer` counts elements.
                pcount[i] = ck_observe(
                    isa, dtype, swap, unsafeBase + piece.outer.lowerBound * size, piece.outer.count, 1, 1, kmin, kmax)
            } else if piece.channels.count == channels {
                pcount[i] = ck_observe(
                    isa, dtype, swap, unsafeBase + piece.outer.lowerBound * channels * inner * size,
                    piece.outer.count, channels, inner, kmin, kmax)
            } else {
                var bad: Int64 = 0
                let c0 = piece.channels.lowerBound
                for o in piece.outer {
                    bad += ck_observe(
                        isa, dtype, swap, unsafeBase + (o * channels + c0) * inner * size,
                        1, piece.channels.count, inner, kmin + c0, kmax + c0)
                }
                pcount[i] = bad
            }
        }
        var total = 0
        kmin.withUnsafeMutableBufferPointer { kmin in
            kmax.withUnsafeMutableBufferPointer { kmax in
                for i in 0..<n {
                    ck_keys_merge(kmin.baseAddress!, kmax.baseAddress!, pmin + i * channels, pmax + i * channels, channels)
                    total += Int(pcount[i])
                }
            }
        }
        return total
    }
}
