import Foundation

/// Streams batches through the observers into a session: reader → observer → store.
///
/// Each batch commits whole in one transaction (batch row + statistics + re-derived encodings; a
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
    }

    /// A tensor as the run tracks it: what the store holds after the last commit.
    struct TensorState {
        var record: TensorRecord
        var stats: TensorStats
        var scheme: QuantScheme
        var settings: TensorSettings { TensorSettings(role: record.role, observer: stats.observer, scheme: scheme) }
    }

    let store: CalibStore
    let options: RunOptions

    public init(store: CalibStore, options: RunOptions) {
        self.store = store
        self.options = options
    }

    /// Opens (or creates) the session.
    public func prepareSession() throws -> Session {
        let o = options
        let activationDefaults = o.settings.applied(to: .defaults(for: .activation))
        guard let session = try store.session(named: o.session) else {
            try Self.validate(activationDefaults)
            return try store.createSession(
                name: o.session, observer: activationDefaults.observer, tensorFilter: o.tensorFilter,
                scheme: activationDefaults.scheme, model: o.model, dataset: o.dataset, notes: o.note)
        }
        if session.origin == .imported {
            throw StoreError.incompatible(
                session: session.name, tensor: nil, "is an imported session; calibrate into a new session instead")
        }
        if o.model != nil || o.dataset != nil || o.note != nil {
            try store.updateSession(session.name, model: o.model, dataset: o.dataset, notes: o.note)
        }
        return session
    }

    /// Runs every batch of `reader` into the session.
    public func run(_ reader: BatchReader, onEvent: (Event) -> Void = { _ in }) throws -> Summary {
        let start = Date()
        let session = try prepareSession()
        var state: [String: TensorState] = [:]
        for r in try store.reports(session: session.id) {
            guard let stats = r.stats else { continue }
            state[r.tensor.name] = TensorState(record: r.tensor, stats: stats, scheme: r.encoding.scheme)
        }
        var batchCount = try store.batchCount(session: session.id)
        var summary = Summary(
            session: session.name, added: 0, skipped: 0, totalBatches: batchCount, tensors: state.count, bytes: 0, seconds: 0)
        try store.setStatus(.running, session: session.id)
        reader.hashAlgorithm = session.batchHash
        let prefetcher = Prefetcher(reader)
        defer { prefetcher.stop() }

        // Batches observed but not yet committed: they go into the next transaction together.
        var pending: BatchCommit?
        var pendingHashes: Set<String> = []
        let policy = options.commitPolicy
        var lastCommitSeconds = 0.0
        var lastCommitEnd = Date()
        func commitPending() throws {
            guard let group = pending else { return }
            let t = Date()
            let ids = try store.commit(group, session: session, expectedBatches: batchCount)
            lastCommitEnd = Date()
            lastCommitSeconds = lastCommitEnd.timeIntervalSince(t)
            summary.transactions += 1
            summary.commitSeconds += lastCommitSeconds
            for t in group.tensors { state[t.record.name]?.record.id = ids[t.record.name]! }
            for (i, var b) in group.batches.enumerated() {
                b.seq = batchCount + i
                onEvent(.committed(b))
            }
            batchCount += group.batches.count
            summary.added += group.batches.count
            pending = nil
            pendingHashes = []
        }

        do {
            while let batch = try prefetcher.next() {
                var existing = try store.containsBatch(contentHash: batch.contentHash, session: session.id)
                if existing == nil && pendingHashes.contains(batch.contentHash) {
                    try commitPending()
                    existing = try store.containsBatch(contentHash: batch.contentHash, session: session.id)
                }
                if let existing {
                    // Counted already; but the run's flags still apply to the tensors it holds, whose
                    // stored rows must be current first.
                    try commitPending()
                    let plan = try resolve(batch, session: session, state: state)
                    let changed = plan.compactMap { t -> BatchCommit.Tensor? in
                        guard !t.isNew, let s = state[t.record.name], s.scheme != t.scheme || s.record.role != t.record.role else { return nil }
                        return t
                    }
                    if !changed.isEmpty {
                        try store.updateSettings(changed)
                        for t in changed { state[t.record.name] = TensorState(record: t.record, stats: t.stats, scheme: t.scheme) }
                        onEvent(.rederived(changed.map(\.record.name)))
                    }
                    summary.skipped += 1
                    onEvent(.skippedDuplicate(source: batch.source, existing: existing, unobserved: plan.filter(\.isNew).map(\.record.name)))
                    continue
                }
                let commit = try observe(batch, session: session, state: state)
                for t in commit.tensors { state[t.record.name] = TensorState(record: t.record, stats: t.stats, scheme: t.scheme) }
                if pending == nil { pending = commit } else { pending!.append(commit) }
                pendingHashes.insert(batch.contentHash)
                summary.bytes += batch.byteCount
                if policy.isDue(batches: pending!.batches.count, waited: Date().timeIntervalSince(lastCommitEnd), lastCommit: lastCommitSeconds) {
                    try commitPending()
                }
            }
            try commitPending()
        } catch {
            // What was observed before the failure is kept (unless committing was what failed).
            try? commitPending()
            try? store.setStatus(.interrupted, session: session.id)
            throw error
        }
        try store.setStatus(.ready, session: session.id)
        summary.totalBatches = batchCount
        summary.tensors = state.count
        summary.seconds = Date().timeIntervalSince(start)
        return summary
    }

    /// Observes every selected tensor of `batch` against the current state; touches nothing stored.
    func observe(_ batch: Batch, session: Session, state: [String: TensorState]) throws -> BatchCommit {
        var updates = try resolve(batch, session: session, state: state)
        let selected = batch.tensors.filter { Glob.matchesAny(options.tensorFilter, $0.name) }
        // Every core, pieces of at most a few MiB; each piece's pages are dropped from memory once
        // read, so a run holds what it reads now, not whole batches.
        let ranges = RangeKernel.observe(
            selected, channelAxes: updates.map(\.record.channelAxis), threads: Self.cores
        ) { i, bytes in selected[i].releasePages(bytes) }
        var elements = 0
        for (i, tensor) in selected.enumerated() {
            let range = ranges[i]
            if options.nonfinite == .error && range.nonfinite > 0 {
                throw InputError(
                    file: batch.source, tensor: tensor.name,
                    "\(range.nonfinite) NaN/Inf values (--nonfinite error); use --nonfinite ignore to leave them out of the ranges")
            }
            updates[i].stats.accumulate(range)
            elements += tensor.elementCount
        }
        let record = BatchRecord(
            seq: 0, source: batch.source, contentHash: batch.contentHash, tensors: updates.count, elements: elements,
            bytes: batch.byteCount, addedAt: Timestamp.now())
        return BatchCommit(batch: record, tensors: updates)
    }

    /// The settings, record and current statistics of every selected tensor of `batch`, checked
    /// against what the session holds; reads no tensor data.
    func resolve(_ batch: Batch, session: Session, state: [String: TensorState]) throws -> [BatchCommit.Tensor] {
        var updates: [BatchCommit.Tensor] = []
        for tensor in batch.tensors where Glob.matchesAny(options.tensorFilter, tensor.name) {
            let existing = state[tensor.name]
            let settings = options.settings(for: tensor.name, stored: existing?.settings)
            try Self.validate(settings, tensor: tensor.name, session: session.name)
            let axis = try Self.channelAxis(settings.observer.channelAxis, of: tensor, source: batch.source)
            let channels = axis.map { tensor.shape[$0] } ?? 1
            var observer = settings.observer
            observer.channelAxis = axis
            let entry: BatchCommit.Tensor
            if let existing {
                try Self.checkCompatible(stored: existing, observer: observer, channels: channels, tensor: tensor, batch: batch, session: session)
                var record = existing.record
                record.role = settings.role
                entry = BatchCommit.Tensor(record: record, stats: existing.stats, scheme: settings.scheme, isNew: false)
            } else {
                let record = TensorRecord(
                    id: 0, name: tensor.name, role: settings.role, dtype: tensor.dtype, shape: tensor.shape,
                    channelAxis: axis, channels: channels)
                entry = BatchCommit.Tensor(
                    record: record, stats: TensorStats(observer: observer, channels: channels), scheme: settings.scheme, isNew: true)
            }
            updates.append(entry)
        }
        guard !updates.isEmpty else {
            throw InputError(
                file: batch.source,
                options.tensorFilter.isEmpty
                    ? "the batch holds no tensor" : "no tensor matches --tensor \(options.tensorFilter.joined(separator: " "))")
        }
        return updates
    }

    static let cores = ProcessInfo.processInfo.activeProcessorCount

    /// Refuses to fold a batch into statistics that were observed with other settings.
    static func checkCompatible(
        stored: TensorState, observer: ObserverConfig, channels: Int, tensor: TensorData, batch: Batch, session: Session
    ) throws {
        let was = stored.stats.observer
        var differences: [String] = []
        if observer.kind != was.kind { differences.append("observer \(observer.kind.rawValue) (stored: \(was.kind.rawValue))") }
        if observer.kind == .ema && was.kind == .ema && observer.averagingConstant != was.averagingConstant {
            differences.append("averaging constant \(observer.averagingConstant) (stored: \(was.averagingConstant))")
        }
        if observer.channelAxis != was.channelAxis {
            func text(_ a: Int?) -> String { a.map { "per-channel axis \($0)" } ?? "per-tensor" }
            differences.append("\(text(observer.channelAxis)) (stored: \(text(was.channelAxis)))")
        }
        if !differences.isEmpty {
            throw StoreError.incompatible(
                session: session.name, tensor: tensor.name,
                "this run observes it with \(differences.joined(separator: ", ")). Statistics observed differently "
                    + "cannot be mixed: drop the flag or config rule, or calibrate into a new session (--session \(session.name)-2)")
        }
        if channels != stored.record.channels {
            throw InputError(
                file: batch.source, tensor: tensor.name,
                "per-channel axis \(observer.channelAxis!) has \(channels) channels (shape \(tensor.shape)), "
                    + "but earlier batches had \(stored.record.channels); the channel axis must keep its size")
        }
    }

    /// The non-negative channel axis of `tensor`, or nil when per-tensor.
    static func channelAxis(_ axis: Int?, of tensor: TensorData, source: String) throws -> Int? {
        guard let axis else { return nil }
        let rank = tensor.shape.count
        let a = axis < 0 ? rank + axis : axis
        guard a >= 0 && a < rank else {
            throw InputError(
                file: source, tensor: tensor.name, "per-channel axis \(axis) is out of range for shape \(tensor.shape)")
        }
        return a
    }

    static func validate(_ settings: TensorSettings, tensor: String? = nil, session: String? = nil) throws {
        do {
            try settings.scheme.validate()
            let c = settings.observer.averagingConstant
            if settings.observer.kind == .ema && !(c > 0 && c <= 1) {
                throw SchemeError("--averaging-constant must be in (0, 1], got \(c)")
            }
        } catch let error as SchemeError where tensor != nil {
            throw StoreError.incompatible(session: session ?? "", tensor: tensor, error.description)
        }
    }
}
