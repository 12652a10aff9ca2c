import CKernels
import CalibModel
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

    /// The ranges of a batch's tensors, computed on up to `threads` threads. Each tensor is cut into
    /// pieces of about `pieceBytes` (so one large tensor also keeps every core busy), and
    /// `release(i, bytes)` is called once the bytes of tensor `i` it names have been read: after each
    /// piece that is one contiguous range, and for the whole tensor after the others. The caller can
    /// let go of those pages (the runner drops them from its resident set). Observers do no I/O
    /// themselves. Results are bit-identical to observing each tensor alone.
    public static func observe(
        _ tensors: [TensorData], channelAxes: [Int?], threads: Int, pieceBytes: Int = 4 << 20,
        release: (_ tensor: Int, _ bytes: UnsafeRawBufferPointer) -> Void = { _, _ in }
    ) -> [BatchRange] {
        observe(
            tensors, channelAxes: channelAxes, isa: Int32(CK_ISA_BEST), threads: threads, pieceBytes: pieceBytes, release: release
        )
    }

    /// `isa` forces an instruction set (`CK_ISA_PORTABLE`, `CK_ISA_AVX2`); tests use it to check each.
    static func observe(
        _ tensor: TensorData, channelAxis: Int?, isa: Int32, threads: Int = 1, parallelThreshold: Int = parallelThreshold
    ) -> BatchRange {
        let bytes = tensor.elementCount * tensor.dtype.size
        let parts = threads > 1 && bytes >= parallelThreshold ? threads : 1
        return observe(
            [tensor], channelAxes: [channelAxis], isa: isa, threads: threads, pieceBytes: max(1, (bytes + parts - 1) / parts))[0]
    }

    /// One unit of work: a piece of one tensor, folded into its own accumulators.
    private struct Work {
        var tensor: Int
        var piece: Piece
        /// Where its tensor's accumulators start in the shared key buffers.
        var keys: Int
        /// The piece's bytes when they are one range (every channel of its rows, or per-tensor).
        var contiguous: UnsafeRawBufferPointer?
    }

    static func observe(
        _ tensors: [TensorData], channelAxes: [Int?], isa: Int32, threads: Int, pieceBytes: Int,
        release: (_ tensor: Int, _ bytes: UnsafeRawBufferPointer) -> Void = { _, _ in }
    ) -> [BatchRange] {
        precondition(tensors.count == channelAxes.count)
        var work: [Work] = []
        var keyCount = 0
        var shapes: [(outer: Int, channels: Int, inner: Int)] = []
        var scattered = [Bool](repeating: false, count: tensors.count)
        // Accumulator sets per tensor. Pieces that cut the channels (a tensor with few rows) touch
        // disjoint channels and share one set; pieces of whole rows all touch every channel and
        // get one set per worker, never one per piece: memory is O(channels), not channels x pieces
        // (16 M channels in 64 pieces took 8 GB). Min/max merge exactly in any grouping, so the
        // result is bit-identical.
        var slabs = [Int](repeating: 1, count: tensors.count)
        let workerCount = Swift.max(1, threads)
        for (i, tensor) in tensors.enumerated() {
            let count = tensor.elementCount
            let shape = layout(tensor, channelAxis: channelAxes[i])
            shapes.append(shape)
            let size = tensor.dtype.size
            precondition(tensor.bytes.count >= count * size, "tensor '\(tensor.name)' holds fewer bytes than its shape needs")
            guard count > 0, let base = tensor.bytes.baseAddress else { continue }
            let parts = Swift.max(1, Swift.min(count, (count * size + pieceBytes - 1) / Swift.max(1, pieceBytes)))
            var pieces = parts > 1 ? split(outer: shape.outer, channels: shape.channels, inner: shape.inner, into: parts) : []
            if pieces.isEmpty {
                pieces = [Piece(outer: 0..<(shape.channels == 1 ? count : shape.outer), channels: 0..<shape.channels)]
            }
            if pieces.count > 1 && pieces.allSatisfy({ $0.channels.count == shape.channels }) { slabs[i] = workerCount }
            for piece in pieces {
                var contiguous: UnsafeRawBufferPointer? = nil
                if shape.channels == 1 {
                    contiguous = UnsafeRawBufferPointer(
                        start: base + piece.outer.lowerBound * size, count: piece.outer.count * size)
                } else if piece.channels.count == shape.channels {
                    let row = shape.channels * shape.inner * size
                    contiguous = UnsafeRawBufferPointer(
                        start: base + piece.outer.lowerBound * row, count: piece.outer.count * row)
                } else {
                    scattered[i] = true
                }
                work.append(Work(tensor: i, piece: piece, keys: keyCount, contiguous: contiguous))
            }
            keyCount += shape.channels * slabs[i]
        }
        let workers = Swift.min(workerCount, Swift.max(1, work.count))

        let mins = UnsafeMutableBufferPointer<Int32>.allocate(capacity: Swift.max(1, keyCount))
        let maxs = UnsafeMutableBufferPointer<Int32>.allocate(capacity: Swift.max(1, keyCount))
        let counts = UnsafeMutableBufferPointer<Int64>.allocate(capacity: Swift.max(1, work.count))
        let faults = UnsafeMutableBufferPointer<Bool>.allocate(capacity: Swift.max(1, work.count))
        faults.initialize(repeating: false)
        defer {
            mins.deallocate()
            maxs.deallocate()
            counts.deallocate()
            faults.deallocate()
        }
        // Sets shared by the workers start empty; a set of one is initialised piece by piece below.
        for (i, shape) in shapes.enumerated() where slabs[i] > 1 {
            if let w = work.first(where: { $0.tensor == i }) {
                ck_keys_init(mins.baseAddress! + w.keys, maxs.baseAddress! + w.keys, shape.channels * slabs[i])
            }
        }
        // Each worker writes only its own accumulators (or its pieces' channels) and its units'
        // counts; the release callback is the caller's.
        nonisolated(unsafe) let pmin = mins.baseAddress!, pmax = maxs.baseAddress!, pcount = counts.baseAddress!
        nonisolated(unsafe) let pfault = faults.baseAddress!
        nonisolated(unsafe) let items = work
        let all = tensors, layouts = shapes, sets = slabs
        withoutActuallyEscaping(release) { release in
            nonisolated(unsafe) let done = release
            let run: @Sendable (Int, Int) -> Void = { w, worker in
                let item = items[w], tensor = all[item.tensor], (_, channels, inner) = layouts[item.tensor]
                let base = tensor.bytes.baseAddress!, size = tensor.dtype.size
                let swap: Int32 = tensor.byteOrder != .native && size > 1 ? 1 : 0
                let dtype = tensor.dtype.kernelCode
                let piece = item.piece
                let own = sets[item.tensor] > 1 ? worker * channels : 0
                let kmin = pmin + item.keys + own, kmax = pmax + item.keys + own
                if sets[item.tensor] == 1 {
                    ck_keys_init(kmin + piece.channels.lowerBound, kmax + piece.channels.lowerBound, piece.channels.count)
                }
                // A file truncated under its mapping reads as zeros here instead of killing the process.
                let guarded = ck_guard_begin(tensor.bytes.baseAddress, tensor.bytes.count)
                defer { if ck_guard_end(guarded) != 0 { pfault[w] = true } }
                if channels == 1 {
                    // Per tensor: `outer` counts elements.
                    pcount[w] = ck_observe(
                        isa, dtype, swap, base + piece.outer.lowerBound * size, piece.outer.count, 1, 1, kmin, kmax)
                } else if piece.channels.count == channels {
                    pcount[w] = ck_observe(
                        isa, dtype, swap, base + piece.outer.lowerBound * channels * inner * size, piece.outer.count, channels,
                        inner,
                        kmin, kmax)
                } else {
                    var bad: Int64 = 0
                    let c0 = piece.channels.lowerBound
                    for o in piece.outer {
                        let start = base + (o * channels + c0) * inner * size
                        bad += ck_observe(isa, dtype, swap, start, 1, piece.channels.count, inner, kmin + c0, kmax + c0)
                        // Each row's slice is one range: let go of it now, not after the whole tensor.
                        done(item.tensor, UnsafeRawBufferPointer(start: start, count: piece.channels.count * inner * size))
                    }
                    pcount[w] = bad
                }
                if let bytes = item.contiguous { done(item.tensor, bytes) }
            }
            // Worker k takes every workers-th unit (pieces are of similar size).
            if workers > 1 {
                DispatchQueue.concurrentPerform(iterations: workers) { k in
                    for w in stride(from: k, to: items.count, by: workers) { run(w, k) }
                }
            } else {
                for w in work.indices { run(w, 0) }
            }
        }

        var result: [BatchRange] = []
        result.reserveCapacity(tensors.count)
        var w = 0, f = 0
        for (i, tensor) in tensors.enumerated() {
            let channels = shapes[i].channels
            var nonfinite = 0
            var keys: Int? = nil
            while w < work.count && work[w].tensor == i {
                keys = work[w].keys
                nonfinite += Int(pcount[w])
                w += 1
            }
            if scattered[i] { release(i, tensor.bytes) }
            var lo = [Float](repeating: .infinity, count: channels)
            var hi = [Float](repeating: -.infinity, count: channels)
            if let keys {
                let kmin = mins.baseAddress! + keys, kmax = maxs.baseAddress! + keys
                for k in 1..<slabs[i] {
                    ck_keys_merge(kmin, kmax, kmin + k * channels, kmax + k * channels, channels)
                }
                ck_keys_finish(kmin, kmax, &lo, &hi, channels)
            }
            // A finite float64 beyond float32 converts to ±inf: tell those apart (float64 only, and
            // only when the fast pass found something non-finite, so every other case costs nothing).
            var beyond = 0
            var unreadable = false
            while f < work.count && work[f].tensor == i {
                unreadable = unreadable || faults[f]
                f += 1
            }
            if tensor.dtype == .float64 && nonfinite > 0, let base = tensor.bytes.baseAddress {
                let guarded = ck_guard_begin(base, tensor.bytes.count)
                beyond = Int(ck_count_f64_beyond_f32(tensor.byteOrder != .native ? 1 : 0, base, tensor.elementCount))
                if ck_guard_end(guarded) != 0 { unreadable = true }
                nonfinite -= beyond
            }
            var range = BatchRange(
                min: lo, max: hi, elements: tensor.elementCount, nonfinite: nonfinite, beyondFloat32: beyond)
            range.unreadable = unreadable
            result.append(range)
        }
        return result
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
                Piece(outer: n * i / parts..<n * (i + 1) / parts, channels: 0..<1)
            }.filter { !$0.outer.isEmpty }
        }
        if outer >= parts {
            return stride(from: 0, to: parts, by: 1).map { i in
                Piece(outer: outer * i / parts..<outer * (i + 1) / parts, channels: 0..<channels)
            }.filter { !$0.outer.isEmpty }
        }
        guard channels >= parts else { return [] }
        return stride(from: 0, to: parts, by: 1).map { i in
            Piece(outer: 0..<outer, channels: channels * i / parts..<channels * (i + 1) / parts)
        }.filter { !$0.channels.isEmpty }
    }
}
