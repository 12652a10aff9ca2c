import CalibDerivation
import CalibModel
import CalibObservers
import CalibStore
import CalibSupport
import Foundation

/// One shard `calib merge` reads: a session of a database opened read-only.
public struct MergeInput {
    public let store: CalibStore
    /// nil: the database's only session.
    public let session: String?
    /// How the input was named on the command line (`PATH` or `PATH:SESSION`), for messages.
    public let name: String

    public init(store: CalibStore, session: String?, name: String) {
        self.store = store
        self.session = session
        self.name = name
    }
}

/// A merge refused before anything was written: names the shard (and tensor) and says what to do.
public struct MergeError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Combines shard sessions (`calib run --shard I/N` on N workers) into one min/max session equal to
/// one run over all their batches.
///
/// Min/max statistics are a reduction that neither order nor repetition changes: the merged minimum
/// is the minimum of the shards' minima, per tensor and per channel, bit for bit what one run keeps.
/// Counts (batches, elements, NaN/Inf) are sums, so a batch two shards both hold (same content hash)
/// must be counted once: its share of a tensor's counts is subtracted from the later shard. The
/// store keeps per-tensor totals, not per-batch counts, so that share is only known exactly when the
/// shard saw the tensor in every one of its batches with one shape and no NaN/Inf (each batch then
/// adds 1 batch and `shape.product` elements); otherwise the merge is refused rather than guessed.
/// A shard whose batches the session already holds adds nothing, so merging again is a no-op and a
/// merge can be repeated with the same result. EMA depends on batch order and is refused.
public struct ShardMerge {
    public let output: CalibStore
    public let session: String

    public init(output: CalibStore, session: String) {
        self.output = output
        self.session = session
    }

    /// What a merge did.
    public struct Summary: Sendable, Equatable {
        public var session: String
        /// Batches added to the session.
        public var added: Int
        /// Batches of the inputs the session already held (from an earlier merge or another shard).
        public var duplicates: Int
        public var totalBatches: Int
        public var tensors: Int
    }

    /// Reads every input, then writes the merged session in one transaction (nothing on any refusal).
    public func run(_ inputs: [MergeInput]) throws -> Summary {
        guard !inputs.isEmpty else { throw MergeError("give at least one shard database to merge (IN.sqlite[:SESSION])") }
        try Names.sessionProblem(session).map { throw MergeError("--session '\(session)': \($0)") }
        var existing = try output.session(named: session)
        if let s = existing {
            try Self.refuseUnmergeable(s, what: "the output session '\(s.name)'")
        }
        var tensors: NameMap<TensorUpdate> = [:]
        var held = Set<String>()
        var heldSource: [String: String] = [:]
        let expected = try existing.map { try output.batchCount(session: $0.id) } ?? 0
        if let s = existing {
            for r in try output.reports(session: s) {
                guard let stats = r.stats else { continue }
                tensors[r.tensor.name] = TensorUpdate(record: r.tensor, stats: stats, scheme: r.encoding.scheme, isNew: false)
            }
            for b in try output.batches(session: s.id) {
                held.insert(b.contentHash)
                heldSource[b.contentHash] = "\(s.name) batch #\(b.seq)"
            }
        }
        var draft: SessionDraft?
        var added: [BatchRecord] = []
        var origins: [String] = []
        var touched: [String] = []
        var touchedSet = Set<ExactName>()
        var duplicates = 0

        for input in inputs {
            let shard = try Self.session(of: input)
            try Self.refuseUnmergeable(shard, what: "session '\(shard.name)' of \(input.name)")
            let reference = existing ?? draft.map { Self.standIn($0) }
            if let reference {
                try Self.checkSessionsAgree(reference, shard, input: input)
            } else {
                draft = SessionDraft(
                    name: session, observer: shard.observer, tensorFilter: shard.tensorFilter, scheme: shard.scheme,
                    model: shard.model, dataset: shard.dataset, notes: shard.notes)
                try draft!.validate()
            }
            if shard.batchHash != (existing?.batchHash ?? .current) {
                throw MergeError(
                    "\(input.name): its batches are hashed with \(shard.batchHash.rawValue), the merged session's with "
                        + "\((existing?.batchHash ?? .current).rawValue), so duplicates cannot be recognised; re-run that shard "
                        + "with this calib")
            }
            let batches = try input.store.batches(session: shard.id)
            let fresh = batches.filter { !held.contains($0.contentHash) }
            let repeated = batches.filter { held.contains($0.contentHash) }
            duplicates += repeated.count
            // Every batch already counted: min/max would not move, and the counts must not.
            guard !fresh.isEmpty else { continue }
            let reports = try input.store.reports(session: shard)
            // Batches and statistics are read apart: a worker still committing between the two
            // would leave statistics that count a batch the list lacks.
            guard try input.store.batchCount(session: shard.id) == batches.count else {
                throw MergeError(
                    "\(input.name): session '\(shard.name)' gained batches while it was read: a worker is still writing it; "
                        + "merge once it has finished")
            }
            for r in reports {
                guard let stats = r.stats else {
                    throw MergeError("\(input.name), tensor '\(r.tensor.name)': holds no statistics; it cannot be merged")
                }
                try Self.refuseEMA(stats.observer, what: "\(input.name), tensor '\(r.tensor.name)'")
                try Self.refuseHistogram(stats, what: "\(input.name), tensor '\(r.tensor.name)'")
                var share = (batches: 0, elements: 0)
                if !repeated.isEmpty {
                    share = try Self.share(
                        of: repeated, in: batches.count, stats: stats, tensor: r.tensor, input: input,
                        example: heldSource[repeated[0].contentHash] ?? "")
                }
                if var merged = tensors[r.tensor.name] {
                    try Self.checkTensorsAgree(merged, r, input: input)
                    guard let combined = Self.combine(merged.stats, stats, minus: share) else {
                        throw MergeError(
                            "\(input.name), tensor '\(r.tensor.name)': its statistics cannot be merged (observer "
                                + "\(stats.observer.kind.rawValue)); calibrate the shards with --observer minmax")
                    }
                    merged.stats = combined
                    tensors[r.tensor.name] = merged
                } else {
                    var stats = stats
                    stats.batches -= share.batches
                    stats.elements -= share.elements
                    var record = r.tensor
                    record.id = 0
                    tensors[r.tensor.name] = TensorUpdate(record: record, stats: stats, scheme: r.encoding.scheme, isNew: true)
                }
                if touchedSet.insert(ExactName(r.tensor.name)).inserted { touched.append(r.tensor.name) }
            }
            for b in fresh {
                held.insert(b.contentHash)
                heldSource[b.contentHash] = "\(input.name) batch #\(b.seq)"
                added.append(b)
                origins.append("\(input.store.path):\(shard.name)")
            }
        }
        var total = expected
        if !added.isEmpty {
            let commit = BatchCommit(
                batches: added,
                tensors: touched.map { name in
                    let t = tensors[name]!
                    return Derivation.rows(for: t.record, stats: t.stats, scheme: t.scheme, isNew: t.isNew)
                })
            let target = existing ?? Self.standIn(draft!)
            let stored = try output.commitMerge(
                commit, origins: origins, session: target, expectedBatches: expected, creating: existing == nil ? draft : nil)
            existing = stored.session
            total += added.count
        }
        return Summary(session: session, added: added.count, duplicates: duplicates, totalBatches: total, tensors: tensors.count)
    }

    /// The input's named session, or its only one.
    static func session(of input: MergeInput) throws -> Session {
        if let name = input.session {
            guard let s = try input.store.session(named: name) else {
                let names = try input.store.sessions().map { "'\($0.session.name)'" }.joined(separator: ", ")
                throw MergeError("\(input.name): no session '\(name)' (it holds \(names.isEmpty ? "none" : names))")
            }
            return s
        }
        let all = try input.store.sessions().map(\.session)
        guard all.count == 1 else {
            let names = all.map { "'\($0.name)'" }.joined(separator: ", ")
            throw MergeError(
                "\(input.name): holds \(all.isEmpty ? "no session" : "\(all.count) sessions (\(names))"); name one as "
                    + "\(input.store.path):SESSION")
        }
        return all[0]
    }

    static func refuseUnmergeable(_ s: Session, what: String) throws {
        if s.origin == .imported {
            throw MergeError(
                "\(what) is imported: it holds encodings, not the statistics a merge combines; merge calibrated sessions")
        }
        try refuseEMA(s.observer, what: what)
    }

    static func refuseEMA(_ observer: ObserverConfig, what: String) throws {
        guard observer.kind == .ema else { return }
        throw MergeError(
            "\(what) observes with ema: a moving average depends on the order the batches arrive in, so shards observed "
                + "apart cannot be combined into what one run would give; calibrate the shards with --observer minmax")
    }

    /// The reference-exact histograms (aimet, pytorch, onnxruntime) re-bin as batches widen the
    /// range, so their counts depend on batch order: two shards' histograms cannot give one run's.
    /// calib's canonical histogram merges exactly (`--histogram calib`).
    static func refuseHistogram(_ stats: TensorStats, what: String) throws {
        guard let h = stats.histogram, let tool = h.convention else { return }
        throw MergeError(
            "\(what) holds \(tool.rawValue) histograms: they are re-binned in the order batches arrive, so shards observed "
                + "apart cannot be combined into what one run would give; calibrate the shards with --observer histogram "
                + "--histogram calib (exactly mergeable) or --observer minmax")
    }

    /// The settings every shard must share for their statistics to mean the same thing.
    static func checkSessionsAgree(_ reference: Session, _ shard: Session, input: MergeInput) throws {
        var differences = reference.observer.differences(from: shard.observer)
        differences += schemeDifferences(shard.scheme, reference.scheme)
        if reference.tensorFilter != shard.tensorFilter {
            differences.append("--tensor \(shard.tensorFilter) (stored: \(reference.tensorFilter))")
        }
        guard differences.isEmpty else {
            throw MergeError(
                "\(input.name): session '\(shard.name)' was run with \(differences.joined(separator: ", ")); shards must be "
                    + "run with the same command line (only --shard differs)")
        }
    }

    static func checkTensorsAgree(_ merged: TensorUpdate, _ r: TensorReport, input: MergeInput) throws {
        var differences = merged.stats.observer.differences(from: r.stats!.observer)
        if merged.record.channels != r.tensor.channels {
            differences.append("\(r.tensor.channels) channels (stored: \(merged.record.channels))")
        }
        if merged.record.dtype != r.tensor.dtype {
            differences.append("dtype \(r.tensor.dtype.rawValue) (stored: \(merged.record.dtype.rawValue))")
        }
        if merged.record.role != r.tensor.role {
            differences.append("role \(r.tensor.role.rawValue) (stored: \(merged.record.role.rawValue))")
        }
        differences += schemeDifferences(r.encoding.scheme, merged.scheme)
        guard differences.isEmpty else {
            throw MergeError(
                "\(input.name), tensor '\(r.tensor.name)': observed with \(differences.joined(separator: ", ")); statistics "
                    + "observed differently cannot be merged: re-run that shard with the same settings")
        }
    }

    /// `scheme`'s settings that differ from `merged`'s, as flags would spell them.
    static func schemeDifferences(_ scheme: QuantScheme, _ merged: QuantScheme) -> [String] {
        var d: [String] = []
        func add<T: Equatable>(_ name: String, _ a: T, _ b: T) { if a != b { d.append("\(name) \(a) (stored: \(b))") } }
        add("convention", scheme.convention.rawValue, merged.convention.rawValue)
        add("bitwidth", scheme.bitwidth, merged.bitwidth)
        add("symmetric", scheme.symmetric, merged.symmetric)
        add("signed", scheme.signed, merged.signed)
        add("reduce-range", scheme.reduceRange, merged.reduceRange)
        return d
    }

    /// The counts `repeated` batches added to this shard's tensor, when they can be known exactly.
    static func share(
        of repeated: [BatchRecord], in shardBatches: Int, stats: TensorStats, tensor: TensorRecord, input: MergeInput,
        example: String
    ) throws -> (batches: Int, elements: Int) {
        if stats.histogram != nil {
            throw MergeError(
                "\(input.name), tensor '\(tensor.name)': \(repeated.count) of the shard's batches are already merged (e.g. "
                    + "\(repeated[0].source), as \(example)); a histogram does not record which counts each batch added, so "
                    + "they cannot be counted once: re-run that shard without those batches (shards from one `--shard I/N` "
                    + "command line never overlap)")
        }
        let perBatch = tensor.shape.reduce(1, *)
        guard stats.batches == shardBatches, stats.nonfinite == 0, stats.elements == stats.batches * perBatch else {
            throw MergeError(
                "\(input.name), tensor '\(tensor.name)': \(repeated.count) of the shard's batches are already merged (e.g. "
                    + "\(repeated[0].source), as \(example)), but the tensor's counts cannot be split per batch (it is not in "
                    + "every batch with one shape, or it holds NaN/Inf), so they cannot be counted once; re-run that shard "
                    + "without those batches (shards from one `--shard I/N` command line never overlap)")
        }
        return (repeated.count, repeated.count * perBatch)
    }

    /// `a` and `b` folded together by the observer's own merge (min of minima, max of maxima per
    /// channel in IEEE total order, so -0 and +0 come out as one run keeps them), counts summed, `b`'s
    /// share of batches already in `a` left out.
    static func combine(_ a: TensorStats, _ b: TensorStats, minus share: (batches: Int, elements: Int)) -> TensorStats? {
        guard var out = a.merged(with: b) else { return nil }
        out.batches -= share.batches
        out.elements -= share.elements
        return out
    }

    /// A session value for a draft not stored yet (id 0), for the checks and the commit.
    static func standIn(_ draft: SessionDraft) -> Session {
        Session(
            id: 0, name: draft.name, createdAt: "", updatedAt: "", status: .empty, observer: draft.observer,
            tensorFilter: draft.tensorFilter, scheme: draft.scheme, toolVersion: CalibVersion.current, model: draft.model,
            dataset: draft.dataset, notes: draft.notes, origin: .calibrated, importedFrom: nil, batchHash: .current)
    }
}
