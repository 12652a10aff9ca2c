import CalibModel
import CalibObservers
import CalibReaders
import CalibStore
import CalibSupport
import Foundation

/// `--collect all`: onnxruntime's `quantize_static` makes ONE `collect` of every batch
/// concatenated, whose grid is fixed by the extent of all the data before any value is binned.
/// calib reproduces it without holding the batches: a first pass over the inputs read again takes
/// each tensor's extent, then the run's own pass counts every batch onto the grid those extents
/// fix, and the end of the run folds the counts in.
///
/// The histograms then hold this run's batches only once the run has read them all, so such a run
/// commits once, at its end: a run that stops early stores nothing of what it observed (a re-run
/// observes it again), where a run that stored part of its batches would hold histograms that
/// miss them.
struct CollectAll {
    /// Per tensor, one counting pass per histogram of its onnxruntime state (same order).
    var passes: NameMap<[CollectPass]> = [:]

    /// Whether a batch's plan holds a tensor fed by `--collect all`.
    static func needed(_ plan: [PlannedTensor]) -> Bool {
        plan.contains { Self.collectsAll($0.update) }
    }

    static let cannotReread = InputError(
        file: "-",
        "--collect all makes one onnxruntime collect of every batch, which needs the inputs read twice (the extent of "
            + "all the data fixes the grid first); standard input can be read once only: use --collect per-batch "
            + "(CalibStridedMinMax=1), or pass files or directories")

    static func collectsAll(_ t: TensorUpdate) -> Bool {
        if case .onnxruntime(_, _, .all)? = t.stats.histogram { return true }
        return false
    }
}

extension CalibrationRunner {
    /// The first pass: every batch of the inputs read again that the session does not hold yet
    /// (nor an earlier input of this run), each `--collect all` tensor's extent over them, and the
    /// counting passes that extent starts on each tensor's histograms.
    func extentPass(_ run: RunState) throws -> CollectAll {
        guard let reread = options.reread else { throw CollectAll.cannotReread }
        let reader = try reread()
        // Hashed on every core as the observing pass reads; nothing is observed on this pass.
        let pipeline = BatchPipeline(reader, hash: run.session.batchHash, workers: Self.cores) { _ in (nil, false, nil) }
        defer { pipeline.stop() }
        var extents: NameMap<CollectExtent> = [:]
        var updates: NameMap<TensorUpdate> = [:]
        var seen = Set<String>()
        while let next = try pipeline.next(timeout: 0.5) {
            if let signal = options.stopSignal() { throw RunInterrupted(signal: signal, session: run.session.name) }
            guard let batch = next.observed?.batch else { continue }  // timed out: check for a stop, wait on
            guard seen.insert(batch.contentHash).inserted else { continue }
            if run.draft == nil, try store.batch(withContentHash: batch.contentHash, session: run.session.id) != nil {
                continue
            }
            for planned in try plan(batch, run) where CollectAll.collectsAll(planned.update) {
                let name = planned.update.record.name
                if updates[name] == nil { updates[name] = planned.update }
                let values = planned.data.floatValues()
                values.withUnsafeBufferPointer { extents[name, default: CollectExtent()].add($0) }
            }
        }
        var out = CollectAll()
        for (name, extent) in extents {
            guard case .onnxruntime(let hs, _, _)? = updates[name]?.stats.histogram else { continue }
            do {
                out.passes[name] = try hs.map { try $0.beginCollect(extent) }
            } catch {
                throw StoreError.incompatible(session: run.session.name, tensor: name, "\(error)")
            }
        }
        return out
    }

    /// The end of the run's pass: each tensor's counts folded into its histograms, as the tensors
    /// the final commit writes.
    func finish(_ collect: CollectAll, _ run: inout RunState) {
        var finished: [TensorUpdate] = []
        for (name, passes) in collect.passes {
            guard var t = run.tensors[name], case .histogram(let lo, let hi, .onnxruntime(var hs, let m, let c)) = t.stats.state
            else { continue }
            for i in hs.indices { hs[i].finish(passes[i]) }
            t.stats.state = .histogram(min: lo, max: hi, .onnxruntime(histograms: hs, method: m, collect: c))
            run.tensors[name] = t
            finished.append(t)
        }
        run.pending.add(nil, tensors: finished)
    }
}
