import Foundation

/// Streams batches through the observers into a session: reader → observer → store.
///
/// Each batch commits in its own transaction (batch row + statistics + re-derived encodings), so a
/// run that stops for any reason leaves every earlier batch intact, and re-running the same command
/// resumes: batches already stored are recognised by their content hash and skipped.
public final class CalibrationRunner {
    public enum Event: Sendable {
        /// A batch was folded in and committed.
        case committed(BatchRecord)
        /// A batch whose content the session already holds; it was not counted again.
        case skippedDuplicate(source: String, existing: BatchRecord)
    }

    public struct Summary: Sendable, Equatable {
        public var session: String
        public var added: Int
        public var skipped: Int
        public var totalBatches: Int
        public var tensors: Int
        public var bytes: Int
        public var seconds: Double
    }

    let store: CalibStore
    let options: RunOptions

    public init(store: CalibStore, options: RunOptions) {
        self.store = store
        self.options = options
    }

    /// Opens (or creates) the session, checking that this run's settings can be mixed with it.
    public func prepareSession() throws -> Session {
        let o = options
        guard var session = try store.session(named: o.session) else {
            let observer = ObserverConfig(
                kind: o.observer ?? .minmax, averagingConstant: o.averagingConstant ?? 0.01, channelAxis: o.channelAxis)
            let scheme = o.scheme(over: QuantScheme())
            try scheme.validate()
            try Self.validate(observer)
            return try store.createSession(
                name: o.session, observer: observer, tensorFilter: o.tensorFilter, scheme: scheme,
                model: o.model, dataset: o.dataset, notes: o.note)
        }
        var differences: [String] = []
        if let kind = o.observer, kind != session.observer.kind {
            differences.append("--observer \(kind.rawValue) (stored: \(session.observer.kind.rawValue))")
        }
        if let c = o.averagingConstant, session.observer.kind == .ema || o.observer == .ema, c != session.observer.averagingConstant {
            differences.append("--averaging-constant \(c) (stored: \(session.observer.averagingConstant))")
        }
        if let axis = o.channelAxis, axis != session.observer.channelAxis {
            differences.append("--per-channel-axis \(axis) (stored: \(session.observer.channelAxis.map(String.init) ?? "per-tensor"))")
        }
        if !o.tensorFilter.isEmpty, o.tensorFilter != session.tensorFilter {
            differences.append("--tensor \(o.tensorFilter.joined(separator: " ")) (stored: \(session.tensorFilter.isEmpty ? "all tensors" : session.tensorFilter.joined(separator: " ")))")
        }
        if !differences.isEmpty {
            throw StoreError.incompatible(
                session: session.name, tensor: nil,
                "this run's statistics settings differ from the session's: \(differences.joined(separator: "; ")). "
                    + "Statistics observed differently cannot be mixed; start a new session with another --session name")
        }
        let scheme = o.scheme(over: session.scheme)
        try scheme.validate()
        if scheme != session.scheme {
            try store.setScheme(scheme, session: session.id)
            session.scheme = scheme
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
        var state: [String: (record: TensorRecord, stats: TensorStats)] = [:]
        for (record, stats) in try store.statistics(session: session.id) { state[record.name] = (record, stats) }
        var batchCount = try store.batches(session: session.id).count
        var summary = Summary(session: session.name, added: 0, skipped: 0, totalBatches: batchCount, tensors: state.count, bytes: 0, seconds: 0)
        try store.setStatus(.running, session: session.id)
        do {
            while let batch = try reader.next() {
                if let existing = try store.containsBatch(sha256: batch.contentHash, session: session.id) {
                    summary.skipped += 1
                    onEvent(.skippedDuplicate(source: batch.source, existing: existing))
                    continue
                }
                let commit = try observe(batch, session: session, state: state)
                let ids = try store.commit(commit, session: session, expectedBatches: batchCount)
                for var update in commit.tensors {
                    update.record.id = ids[update.record.name]!
                    state[update.record.name] = (update.record, update.stats)
                }
                batchCount += 1
                summary.added += 1
                summary.bytes += batch.byteCount
                onEvent(.committed(commit.batch))
            }
        } catch {
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
    func observe(
        _ batch: Batch, session: Session, state: [String: (record: TensorRecord, stats: TensorStats)]
    ) throws -> BatchCommit {
        var updates: [(record: TensorRecord, stats: TensorStats, isNew: Bool)] = []
        var elements = 0
        for tensor in batch.tensors where Glob.matchesAny(session.tensorFilter, tensor.name) {
            let axis = try Self.channelAxis(session.observer.channelAxis, of: tensor, source: batch.source)
            let channels = axis.map { tensor.shape[$0] } ?? 1
            var entry: (record: TensorRecord, stats: TensorStats, isNew: Bool)
            if let (record, stats) = state[tensor.name] {
                guard record.channels == channels else {
                    throw InputError(
                        file: batch.source, tensor: tensor.name,
                        "per-channel axis \(session.observer.channelAxis!) has \(channels) channels (shape \(tensor.shape)), "
                            + "but earlier batches had \(record.channels); the channel axis must keep its size")
                }
                entry = (record, stats, false)
            } else {
                let record = TensorRecord(
                    id: 0, name: tensor.name, dtype: tensor.dtype, shape: tensor.shape, channelAxis: axis, channels: channels)
                entry = (record, TensorStats(observer: session.observer, channels: channels), true)
            }
            entry.stats.accumulate(RangeKernel.observe(tensor, channelAxis: axis))
            elements += tensor.elementCount
            updates.append(entry)
        }
        guard !updates.isEmpty else {
            throw InputError(
                file: batch.source,
                session.tensorFilter.isEmpty
                    ? "the batch holds no tensor" : "no tensor matches --tensor \(session.tensorFilter.joined(separator: " "))")
        }
        let record = BatchRecord(
            seq: 0, source: batch.source, sha256: batch.contentHash, tensors: updates.count, elements: elements,
            bytes: batch.byteCount, addedAt: Timestamp.now())
        return BatchCommit(batch: record, tensors: updates)
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

    static func validate(_ observer: ObserverConfig) throws {
        if observer.kind == .ema && !(observer.averagingConstant > 0 && observer.averagingConstant <= 1) {
            throw SchemeError("--averaging-constant must be in (0, 1], got \(observer.averagingConstant)")
        }
    }
}
