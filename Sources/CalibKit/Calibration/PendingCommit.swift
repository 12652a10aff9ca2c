import CalibDerivation
import CalibFormats
import CalibModel
import CalibObservers
import CalibReaders
import CalibStore
import CalibSupport
import Foundation

/// A tensor as a run tracks it: its record, its statistics so far and the scheme its default
/// encoding is derived with.
struct TensorUpdate: Sendable {
    /// `id` is 0 until the tensor's first commit.
    var record: TensorRecord
    var stats: TensorStats
    var scheme: QuantScheme
    /// Not stored yet: the commit inserts it.
    var isNew: Bool

    var settings: TensorSettings { TensorSettings(role: record.role, observer: stats.observer, scheme: scheme) }
}

/// What the next transaction will write: batches observed since the last commit, in order, and the
/// latest state of every tensor they (or a settings change) touched. One value instead of loose
/// locals, so the loop that fills it reads as the pipeline.
struct PendingCommit {
    private(set) var batches: [BatchRecord] = []
    private(set) var tensors: [TensorUpdate] = []
    private var index: NameMap<Int> = [:]
    private var hashes: [String: Int] = [:]
    /// When the last commit ended (the run's start before the first), and how long it took.
    private(set) var lastCommitEnd = Date()
    private(set) var lastCommitSeconds: Double? = nil

    var isEmpty: Bool { batches.isEmpty && tensors.isEmpty }

    /// The position of a waiting batch with this content hash.
    func position(ofContentHash hash: String) -> Int? { hashes[hash] }

    /// Adds an observed batch (or, with `batch` nil, tensors whose settings changed).
    mutating func add(_ batch: BatchRecord?, tensors updates: [TensorUpdate]) {
        if let batch {
            hashes[batch.contentHash] = batches.count
            batches.append(batch)
        }
        for var t in updates {
            guard let i = index[t.record.name] else {
                index[t.record.name] = tensors.count
                tensors.append(t)
                continue
            }
            // New in an earlier batch of this transaction: still inserted by it.
            if tensors[i].isNew {
                t.isNew = true
                t.record.id = 0
            }
            tensors[i] = t
        }
    }

    func isDue(_ policy: CommitPolicy) -> Bool {
        !isEmpty
            && policy.isDue(
                batches: batches.count, waited: Date().timeIntervalSince(lastCommitEnd), lastCommit: lastCommitSeconds)
    }

    /// The rows to store: each tensor's default encoding derived from its statistics.
    func rows() -> BatchCommit {
        BatchCommit(
            batches: batches,
            tensors: tensors.map { Derivation.rows(for: $0.record, stats: $0.stats, scheme: $0.scheme, isNew: $0.isNew) })
    }

    /// Empties the value after a commit that took `seconds`.
    mutating func committed(seconds: Double) {
        self = PendingCommit()
        lastCommitSeconds = seconds
    }
}
