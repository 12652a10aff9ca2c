import CalibDerivation
import CalibFormats
import CalibModel
import CalibObservers
import CalibReaders
import CalibStore
import CalibSupport
import Foundation

/// A run stopped on request (a signal in the CLI) after committing what it had observed.
public struct RunInterrupted: Error, CustomStringConvertible, Sendable {
    public var signal: Int32
    public var session: String
    /// Batches this run added before it stopped.
    public var added = 0
    /// Batches the session holds now; nil when the session was never created (nothing stored).
    public var batches: Int? = nil

    public var description: String {
        let cause = "interrupted by \(StopRequest.name(signal))"
        guard let batches else {
            return "\(cause) before a batch was stored: nothing was stored and session '\(session)' was not created"
        }
        return "\(cause): session '\(session)' keeps its \(Describe.count(batches, "batch", plural: "batches")) "
            + "(\(added) added by this run) and is marked interrupted; re-run the same command to resume"
    }
}

/// Streams batches through the observers into a session: reader → observer → derivation → store.
///
/// Each batch commits whole in one transaction (batch row + statistics + derived encodings; a
/// transaction may hold several batches, see `CommitPolicy`), so a run that stops for any reason
/// leaves every committed batch intact, and re-running the same command resumes: batches already
/// stored are recognised by their content hash and skipped.
public final class CalibrationRunner {
    public enum Event: Sendable {
        /// A batch was folded in and committed.
        case committed(BatchRecord)
        /// A batch whose content the session already holds; it was not counted again.
        /// `unobserved`: tensors of the batch this session has never observed (e.g. the batch was stored
        /// by a run with another `--tensor` filter); they stay unobserved.
        case skippedDuplicate(source: String, existing: BatchRecord, unobserved: [String])
        /// Stored tensors whose encoding settings this run changed; re-derived from their statistics.
        case rederived([String])
    }

    public struct Summary: Sendable, Equatable {
        public var session: String
        public var added: Int
        public var skipped: Int
        public var totalBatches: Int
        public var tensors: Int
        public var bytes: Int
        public var seconds: Double
        /// Transactions that added batches, and the time spent in them (SQLite's share of the run).
        public var transactions = 0
        public var commitSeconds = 0.0
        /// `--config` globs that match no tensor of the session (said on stderr: likely a typo).
        public var unmatchedRules: [String] = []
        /// `--tensor` globs that match no tensor of the session while others did.
        public var unmatchedFilters: [String] = []
    }

    let store: CalibStore
    let options: RunOptions

    public init(store: CalibStore, options: RunOptions) {
        self.store = store
        self.options = options
    }

    /// What the loop carries from batch to batch.
    struct RunState {
        var session: Session
        /// The session to create with the first commit; nil once it exists.
        var draft: SessionDraft?
        var tensors: NameMap<TensorUpdate>
        var batchCount: Int
        var pending = PendingCommit()
        var summary: Summary
        /// `--collect all`'s counting passes, once a batch holds a tensor it feeds; the run then
        /// commits once, at its end (see `CollectAll`).
        var collectAll: CollectAll?
    }

    /// How often the loop looks up from waiting for the next batch (a producer on stdin may be idle
    /// for long): to commit what waits once it is due, and to notice a stop request.
    static let wakeInterval = 0.25

    /// Runs every batch of `reader` into the session.
    ///
    /// A stop request (`RunOptions.stopSignal`, SIGINT/SIGTERM/SIGHUP in the CLI) ends the run after
    /// the batch being observed: what was observed is committed, the session is marked
    /// `interrupted`, and `RunInterrupted` is thrown.
    public func run(_ reader: BatchReader, onEvent: (Event) -> Void = { _ in }) throws -> Summary {
        let start = Date()
        // Said before reading anything when the flags ask for it (a stored mode is found later).
        if options.collect == .all && options.reread == nil { throw CollectAll.cannotReread }
        let opened = try openSession()
        var run = try state(of: opened)
        if !opened.created { try store.setStatus(.running, session: run.session.id) }
        let pipeline = BatchPipeline(
            reader, hash: run.session.batchHash, workers: Self.cores, select: selection(stored: run.tensors))
        defer { pipeline.stop() }
        do {
            while true {
                if let signal = options.stopSignal() { throw RunInterrupted(signal: signal, session: run.session.name) }
                guard let next = try pipeline.next(timeout: Self.wakeInterval) else { break }
                guard let observed = next.observed else {
                    // Nothing arrived: what waits is committed once due, however long the producer idles.
                    if run.collectAll == nil && run.pending.isDue(options.commitPolicy) { try commit(&run, onEvent) }
                    continue
                }
                let batch = observed.batch
                if let stored = try storedCopy(of: batch, &run, onEvent) {
                    try skip(batch, stored: stored, &run, onEvent)
                    continue
                }
                let planned = try plan(batch, run)
                if run.collectAll == nil && CollectAll.needed(planned) {
                    // Batches committed before this one hold no such tensor: the extents start here.
                    try commit(&run, onEvent)
                    run.collectAll = try extentPass(run)
                }
                let (record, updates) = try observe(
                    batch, planned, observed: observed.ranges, histograms: observed.histograms, collectAll: &run.collectAll)
                // The hash was taken before observing: both must have read the same bytes.
                try batch.checkUnchanged()
                for t in updates { run.tensors[t.record.name] = t }
                run.pending.add(record, tensors: updates)
                run.summary.bytes += batch.byteCount
                if run.collectAll == nil && run.pending.isDue(options.commitPolicy) { try commit(&run, onEvent) }
            }
            if let collect = run.collectAll { finish(collect, &run) }
            try commit(&run, onEvent)
        } catch {
            // What was observed before the failure is kept, except a `--collect all` run's: its
            // histograms would miss the batches (it stores nothing, and a re-run observes them).
            if run.collectAll == nil { _ = try? commit(&run, onEvent) }
            try? finishFailed(run, opened: opened)
            if var stop = error as? RunInterrupted {
                stop.added = run.summary.added
                stop.batches = run.draft == nil ? run.batchCount : nil
                throw stop
            }
            throw error
        }
        if run.draft != nil {
            throw InputError(file: reader.description, "held no batch; nothing was stored and no session created")
        }
        try store.setStatus(.ready, session: run.session.id)
        run.summary.totalBatches = run.batchCount
        run.summary.tensors = run.tensors.count
        run.summary.unmatchedRules = options.config.unmatchedRules(run.tensors.keys)
        run.summary.unmatchedFilters = options.tensorFilter.filter { glob in !run.tensors.keys.contains { Glob.matches(glob, $0) }
        }
        run.summary.seconds = Date().timeIntervalSince(start)
        return run.summary
    }

    /// What the pipeline's workers observe of a tensor, and on which axis: the plan's choice as far
    /// as it is known before the batch's turn (the tensor filter, and the settings from what the
    /// session held when the run started). Where the plan decides otherwise, the run observes again.
    func selection(stored: NameMap<TensorUpdate>) -> BatchPipeline.Selection {
        var settings: NameMap<TensorSettings> = [:]
        for (name, t) in stored { settings[name] = t.settings }
        let options = self.options
        var canonical: NameMap<Int> = [:]
        for (name, t) in stored { if case .canonical(let h, _, _)? = t.stats.histogram { canonical[name] = h.mantissaBits } }
        return { [settings, canonical] tensor in
            guard Glob.matchesAny(options.tensorFilter, tensor.name) else { return (nil, false, nil) }
            let s = options.settings(for: tensor.name, stored: settings[tensor.name])
            // A tensor the plan will refuse is left to it (it names the batch).
            do {
                let axis = try Self.channelAxis(s.observer.channelAxis, of: tensor, source: "")
                if let axis, tensor.shape[axis] > CalibStore.maximumChannels { return (nil, false, nil) }
                // calib's histogram: a stored one's grid, or a new tensor's by its settings.
                var bits = canonical[tensor.name]
                if settings[tensor.name] == nil, axis == nil, s.keepsCanonicalHistogram(options.histogramRules) {
                    bits = CanonicalHistogram.defaultMantissaBits
                }
                return (axis, true, bits)
            } catch {
                return (nil, false, nil)
            }
        }
    }

    /// The session and what it holds, as the run starts.
    func state(of opened: OpenedSession) throws -> RunState {
        let session = opened.session
        var tensors: NameMap<TensorUpdate> = [:]
        let count = opened.created ? 0 : try store.batchCount(session: session.id)
        if !opened.created {
            for r in try store.reports(session: session) {
                guard let stats = r.stats else { continue }
                tensors[r.tensor.name] = TensorUpdate(record: r.tensor, stats: stats, scheme: r.encoding.scheme, isNew: false)
            }
        }
        let summary = Summary(
            session: session.name, added: 0, skipped: 0, totalBatches: count, tensors: tensors.count, bytes: 0, seconds: 0)
        return RunState(session: session, draft: opened.draft, tensors: tensors, batchCount: count, summary: summary)
    }

    /// The stored batch with `batch`'s content, if any. A repeat of a batch still waiting in the open
    /// transaction commits it first: it is then the stored copy.
    func storedCopy(of batch: Batch, _ run: inout RunState, _ onEvent: (Event) -> Void) throws -> BatchRecord? {
        if run.draft == nil, let stored = try store.batch(withContentHash: batch.contentHash, session: run.session.id) {
            return stored
        }
        guard let i = run.pending.position(ofContentHash: batch.contentHash) else { return nil }
        // A `--collect all` run commits at its end only: the waiting row stands for the copy.
        if run.collectAll != nil { return run.pending.batches[i] }
        return try commit(&run, onEvent)[i]
    }

    /// A batch counted already. The run's flags still apply to the tensors it holds: those whose
    /// settings change are re-derived through the same commit as observed batches.
    func skip(_ batch: Batch, stored: BatchRecord, _ run: inout RunState, _ onEvent: (Event) -> Void) throws {
        let plan = try plan(batch, run)
        let changed = plan.map(\.update).filter { t in
            guard !t.isNew, let s = run.tensors[t.record.name] else { return false }
            // A new --method changes an AIMET histogram state's method (and nothing else of it).
            return s.scheme != t.scheme || s.record.role != t.record.role || s.stats.histogram != t.stats.histogram
        }
        if !changed.isEmpty {
            for t in changed {
                if let problem = Derivation.overflow(t.stats, scheme: t.scheme, channelAxis: t.record.channelAxis) {
                    throw StoreError.incompatible(session: run.session.name, tensor: t.record.name, problem)
                }
            }
            for t in changed { run.tensors[t.record.name] = t }
            run.pending.add(nil, tensors: changed)
            if run.collectAll == nil { try commit(&run, onEvent) }
            onEvent(.rederived(changed.map(\.record.name)))
        }
        run.summary.skipped += 1
        onEvent(
            .skippedDuplicate(
                source: batch.source, existing: stored, unobserved: plan.filter(\.update.isNew).map(\.update.record.name)))
    }

    /// Writes what is pending in one transaction; returns the batch rows it stored.
    @discardableResult
    func commit(_ run: inout RunState, _ onEvent: (Event) -> Void) throws -> [BatchRecord] {
        guard !run.pending.isEmpty else { return [] }
        let t = Date()
        let stored = try store.commit(
            run.pending.rows(), session: run.session, expectedBatches: run.batchCount, creating: run.draft)
        let seconds = Date().timeIntervalSince(t)
        run.session = stored.session
        run.draft = nil
        for (name, id) in stored.tensorIDs {
            run.tensors[name]?.record.id = id
            run.tensors[name]?.isNew = false
        }
        if !stored.batches.isEmpty {
            run.summary.transactions += 1
            run.summary.commitSeconds += seconds
        }
        run.batchCount += stored.batches.count
        run.summary.added += stored.batches.count
        run.pending.committed(seconds: seconds)
        for batch in stored.batches { onEvent(.committed(batch)) }
        return stored.batches
    }

    /// A failed run: one that added batches marks the session `interrupted`; one that did not change
    /// it leaves the status it had (a session it was to create was never stored).
    func finishFailed(_ run: RunState, opened: OpenedSession) throws {
        if run.draft != nil { return }
        if run.summary.added > 0 {
            try store.setStatus(.interrupted, session: run.session.id)
        } else {
            try store.setStatus(opened.session.status, session: run.session.id)
        }
    }
}
