/// A named calibration: its settings, its provenance, and (in the store) its batches and tensors.
public struct Session: Sendable, Equatable {
    public enum Status: String, Sendable, Codable {
        /// Created, no batch yet.
        case empty
        /// A `calib run` is writing to it, or was killed while doing so (resume with the same command).
        case running
        /// The last run finished.
        case ready
        /// The last run stopped on an error; what it committed before is intact.
        case interrupted
    }

    public var id: Int64
    public var name: String
    public var createdAt: String
    public var updatedAt: String
    public var status: Status
    public var observer: ObserverConfig
    /// `--tensor` globs the session observes; empty means every tensor.
    public var tensorFilter: [String]
    public var scheme: QuantScheme
    public var toolVersion: String
    public var model: String?
    public var dataset: String?
    public var notes: String?
}

/// A session with its counts, as `calib sessions` lists it.
public struct SessionSummary: Sendable, Equatable {
    public var session: Session
    public var batches: Int
    public var tensors: Int
    public var elements: Int
}

/// A tensor of a session as first seen, with where its channels are.
public struct TensorRecord: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var dtype: DType
    public var shape: [Int]
    /// Non-negative channel axis, nil when per-tensor.
    public var channelAxis: Int?
    public var channels: Int
}

/// Everything `show` and `export` need about one tensor.
public struct TensorReport: Sendable, Equatable {
    public var tensor: TensorRecord
    public var stats: TensorStats
    public var encoding: Encoding
}

/// The row a committed batch leaves in `batches`.
public struct BatchRecord: Sendable, Equatable {
    public var seq: Int
    public var source: String
    public var sha256: String
    public var tensors: Int
    public var elements: Int
    public var bytes: Int
    public var addedAt: String
}
