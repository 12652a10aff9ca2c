import CalibModel
import CalibObservers
import CalibReaders
import Foundation

/// Reads, hashes and observes batches on every core, one whole batch per worker, and hands them
/// to the run in input order.
///
/// A worker hashes its batch in cache-sized pieces and folds each piece into the range observers
/// right after (`PendingBatch.hash(visit:)`, `RangeAccumulator`), so every byte is read from memory
/// once; with one worker per core, as many batches are in flight. The run still checks, plans and
/// commits batch by batch in order, so results and resumption are as with one thread. The workers
/// guess each tensor's channel axis from the settings the run started with; where the run's plan
/// differs (or a batch turns out to be a duplicate), the ranges are recomputed or dropped by the run.
final class BatchPipeline: @unchecked Sendable {
    /// A batch, hashed, with the ranges of the tensors the workers observed.
    struct Observed {
        let batch: Batch
        /// Per tensor of `batch.tensors`: the channel axis observed and its range; nil when not observed.
        let ranges: [(axis: Int?, range: BatchRange)?]
        /// Per tensor: its values counted into a canonical histogram of the selection's grid, for the
        /// tensors the selection named (float32 in native order); nil otherwise.
        let histograms: [CanonicalHistogram?]
    }

    /// Whether a tensor is observed, on which (non-negative) channel axis, and whether its values
    /// are also counted into a canonical histogram of that many mantissa bits (order-free, so the
    /// pieces are counted as they pass).
    typealias Selection = @Sendable (TensorData) -> (axis: Int?, observe: Bool, histogramBits: Int?)

    private let reader: BatchReader
    private let hash: ContentHashAlgorithm
    private let select: Selection
    private let workers: Int
    private let condition = NSCondition()
    private var results: [Int: Result<Observed?, Error>] = [:]
    /// Batches handed out to workers, and taken by the run.
    private var taken = 0
    private var consumed = 0
    /// The reader reached its end or failed: no worker takes another batch.
    private var finished = false
    private let readerLock = NSLock()
    /// Guarded by `readerLock`: batches read, and whether the reader is done.
    private var read = 0
    private var readerDone = false
    private var stopped = false

    init(_ reader: BatchReader, hash: ContentHashAlgorithm, workers: Int, select: @escaping Selection) {
        self.reader = reader
        self.hash = hash
        self.select = select
        self.workers = Swift.max(1, workers)
        for k in 0..<self.workers {
            let thread = Thread { [self] in work() }
            thread.name = "calib.batch\(k)"
            thread.start()
        }
    }

    /// What `next(timeout:)` found.
    enum Next {
        case batch(Observed)
        /// Nothing arrived in time; the batches being read stay on their way.
        case timedOut

        var observed: Observed? {
            if case .batch(let b) = self { return b }
            return nil
        }
    }

    /// The next batch in input order, `.timedOut` when none arrived within `timeout` seconds, nil
    /// at the end; rethrows the reader's error in its place (and at every later call).
    func next(timeout: Double) throws -> Next? {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date(timeIntervalSinceNow: timeout)
        while results[consumed] == nil {
            if !condition.wait(until: deadline) && results[consumed] == nil { return .timedOut }
        }
        let result = results[consumed]!
        if case .success(.some) = result {
            results[consumed] = nil
            consumed += 1
            condition.broadcast()
        }
        return try result.get().map(Next.batch)
    }

    /// Lets the workers finish the batches they are on; call when abandoning the run.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func work() {
        // One counting table per worker and grid, made when a batch first needs it (4 MiB each).
        var counters: [Int: CanonicalCounter] = [:]
        while true {
            condition.lock()
            // At most one batch per worker ahead of the run: memory holds that many batches' mappings.
            while !stopped && !finished && taken >= consumed + workers { condition.wait() }
            if stopped || finished {
                condition.unlock()
                return
            }
            taken += 1
            condition.unlock()
            // The reader is not thread-safe, and may wait long (standard input): its own lock, so
            // the run can still time out and stop meanwhile. Mapping and parsing are cheap next to
            // hashing; the sequence number is the reader's order.
            readerLock.lock()
            if readerDone {
                readerLock.unlock()
                return
            }
            let seq = read
            read += 1
            let pending = Result { try reader.nextPending(hash: hash) }
            if case .success(.some) = pending {} else { readerDone = true }
            readerLock.unlock()
            let result = pending.flatMap { p in Result { try p.map { try observe($0, counters: &counters) } } }
            condition.lock()
            results[seq] = result
            if case .success(.some) = pending {} else { finished = true }
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Hashes `pending` and folds each piece into the range of every tensor it holds bytes of.
    private func observe(_ pending: PendingBatch, counters: inout [Int: CanonicalCounter]) throws -> Observed {
        let tensors = pending.tensors
        var chosen: [(index: Int, axis: Int?)] = []
        // Canonical histograms: per tensor, its counter, histogram and the bytes counted so far.
        var counted: [(index: Int, counter: CanonicalCounter, histogram: CanonicalHistogram, done: Int)] = []
        for (i, t) in tensors.enumerated() {
            let s = select(t)
            if s.observe { chosen.append((i, s.axis)) }
            if s.observe, let bits = s.histogramBits, t.dtype == .float32, t.byteOrder == .native {
                let counter = counters[bits] ?? CanonicalCounter(mantissaBits: bits)
                counters[bits] = counter
                counted.append((i, counter, CanonicalHistogram(mantissaBits: bits), 0))
            }
        }
        // In file order, so at most one tensor (the one a piece ends inside) has counts waiting in
        // its counter's table: it is drained once, when it is complete or another tensor needs it.
        counted.sort { address($0.index, tensors) < address($1.index, tensors) }
        var open: Int?
        /// Counts the whole float32 values of tensor `k` below `end` (all of them when nil).
        func count(_ k: Int, upTo end: UnsafeRawPointer?) {
            let t = tensors[counted[k].index]
            guard let base = t.bytes.baseAddress else { return }
            let total = t.elementCount * 4
            let limit = end.map { Swift.min(Swift.max(base.distance(to: $0), 0), total) } ?? total
            let upTo = limit - limit % 4
            guard upTo > counted[k].done else { return }
            if let o = open, o != k {
                counted[o].counter.flush(into: &counted[o].histogram)
                open = nil
            }
            counted[k].counter.accumulate(
                float32: base + counted[k].done, count: (upTo - counted[k].done) / 4, into: &counted[k].histogram)
            counted[k].done = upTo
            if upTo == total {
                counted[k].counter.flush(into: &counted[k].histogram)
                if open == k { open = nil }
            } else {
                open = k
            }
        }
        // In file order, so each piece advances a cursor instead of visiting every tensor.
        chosen.sort { address($0.index, tensors) < address($1.index, tensors) }
        var accumulators = chosen.map { RangeAccumulator(tensors[$0.index], channelAxis: $0.axis) }
        // Per-tensor float32 ranges come from the hash's own loads; the rest are folded per piece.
        var lanes: [LaneReduction] = []
        var byLanes: [Int] = []
        for k in accumulators.indices
        where accumulators[k].absorbsLaneReductions && pending.reducesLanes(ofTensor: chosen[k].index) {
            lanes.append(LaneReduction(tensor: chosen[k].index))
            byLanes.append(k)
        }
        let folded = accumulators.indices.filter { !byLanes.contains($0) }
        var first = 0
        let batch = try pending.hash(reducing: &lanes) { end in
            for k in counted.indices { count(k, upTo: end) }
            guard let end else {
                for k in folded { accumulators[k].fold(upTo: .max) }
                return
            }
            var k = first
            while k < folded.count {
                let a = folded[k]
                guard let base = accumulators[a].tensor.bytes.baseAddress else {
                    if k == first { first += 1 }  // empty: nothing to fold
                    k += 1
                    continue
                }
                if base >= end { break }
                accumulators[a].fold(upTo: base.distance(to: end))
                if k == first && accumulators[a].isComplete { first += 1 }
                k += 1
            }
        }
        for (l, k) in zip(lanes, byLanes) {
            // A NaN or inf among them (or no reduction): the tensor is read again, carefully.
            if let r = l.reduced,
                accumulators[k].absorb(
                    maxSigned: r.maxSigned, minSigned: r.minSigned, maxUnsigned: r.maxUnsigned, minUnsigned: r.minUnsigned)
            {
                continue
            }
            accumulators[k].fold(upTo: .max)
        }
        var ranges: [(axis: Int?, range: BatchRange)?] = Array(repeating: nil, count: tensors.count)
        for (k, c) in chosen.enumerated() { ranges[c.index] = (c.axis, accumulators[k].result()) }
        var histograms: [CanonicalHistogram?] = Array(repeating: nil, count: tensors.count)
        for k in counted.indices {
            count(k, upTo: nil)  // complete (a tensor whose bytes end the file only now)
            counted[k].counter.flush(into: &counted[k].histogram)
            histograms[counted[k].index] = counted[k].histogram
        }
        return Observed(batch: batch, ranges: ranges, histograms: histograms)
    }

    private func address(_ i: Int, _ tensors: [TensorData]) -> UInt {
        tensors[i].bytes.baseAddress.map { UInt(bitPattern: $0) } ?? 0
    }
}

extension CalibrationRunner {
    /// The ranges of the planned tensors: the pipeline's where it observed a tensor on the plan's
    /// axis, the rest observed now on every core (pieces of a few MiB, each piece's pages dropped
    /// once read).
    static func ranges(
        of batch: Batch, _ plan: [PlannedTensor], observed: [(axis: Int?, range: BatchRange)?]
    ) -> [BatchRange] {
        // The plan keeps the batch's tensors in order (a filtered subsequence): pair them by position.
        var found: [BatchRange?] = []
        var j = 0
        for p in plan {
            while j < batch.tensors.count && batch.tensors[j].name != p.data.name { j += 1 }
            if j < observed.count, let o = observed[j], o.axis == p.update.record.channelAxis {
                found.append(o.range)
            } else {
                found.append(nil)
            }
            j += 1
        }
        let missing = plan.indices.filter { found[$0] == nil }
        guard !missing.isEmpty else { return found.map { $0! } }
        let tensors = missing.map { plan[$0].data }
        let again = RangeKernel.observe(
            tensors, channelAxes: missing.map { plan[$0].update.record.channelAxis }, threads: cores
        ) { i, bytes in
            tensors[i].releasePages(bytes)
        }
        for (k, i) in missing.enumerated() { found[i] = again[k] }
        return found.map { $0! }
    }
}
