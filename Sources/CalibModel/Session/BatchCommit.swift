import CalibSupport

/// A tensor's rows as the store writes them: its record, its statistics and the default encoding
/// derived from them. The derivation stage fills in `encoding`; the store only stores.
public struct TensorRows: Sendable {
    /// `id` is ignored when `isNew`.
    public var record: TensorRecord
    public var stats: TensorStats
    public var encoding: Encoding
    /// The first of the committed batches created the tensor: it is inserted, not updated.
    public var isNew: Bool

    public init(record: TensorRecord, stats: TensorStats, encoding: Encoding, isNew: Bool) {
        self.record = record
        self.stats = stats
        self.encoding = encoding
        self.isNew = isNew
    }
}

/// What one transaction adds to a session: one or more batch rows, in order, and the rows of each
/// tensor they held after the last of them.
public struct BatchCommit: Sendable {
    /// The batches, in order; their `seq` is assigned by the commit.
    public var batches: [BatchRecord]
    /// One entry per tensor, each named once.
    public var tensors: [TensorRows]

    public init(batches: [BatchRecord], tensors: [TensorRows]) {
        self.batches = batches
        self.tensors = tensors
    }
}
