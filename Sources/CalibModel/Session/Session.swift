import CalibSupport

/// A named calibration: its settings, its provenance, and (in the store) its batches and tensors.
public struct Session: Sendable, Equatable {
    public enum Status: String, Sendable, Codable {
        /// Created, no batch yet.
        case empty
        /// A `calib run` is writing to it (`writer` names it), or was killed outright while doing so
        /// (`writerGone`; resume with the same command).
        case running
        /// The last run finished.
        case ready
        /// The last run stopped on an error or a signal; what it committed before is intact.
        case interrupted
    }

    /// Where the session's numbers come from.
    public enum Origin: String, Sendable, Codable {
        /// Observed by `calib run`.
        case calibrated
        /// Read from another tool's file by `calib import`.
        case imported
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
    public var origin: Origin
    /// `FORMAT:PATH` for an imported session.
    public var importedFrom: String?
    /// How the session's batches are identified; fixed when it is created (schema 3 made XXH3-128 the default).
    public var batchHash: ContentHashAlgorithm
    /// The process of the run writing the session (schema 6); nil when no run is writing.
    public var writer: ProcessIdentity?

    public init(
        id: Int64, name: String, createdAt: String, updatedAt: String, status: Status, observer: ObserverConfig,
        tensorFilter: [String], scheme: QuantScheme, toolVersion: String, model: String?, dataset: String?, notes: String?,
        origin: Origin, importedFrom: String?, batchHash: ContentHashAlgorithm, writer: ProcessIdentity? = nil
    ) {
        self.writer = writer
        self.id = id
        self.name = name
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.status = status
        self.observer = observer
        self.tensorFilter = tensorFilter
        self.scheme = scheme
        self.toolVersion = toolVersion
        self.model = model
        self.dataset = dataset
        self.notes = notes
        self.origin = origin
        self.importedFrom = importedFrom
        self.batchHash = batchHash
    }
}

extension Session {
    /// `running`, but the run's process has ended without saying so (killed outright): what it
    /// committed is intact, and the same command resumes it.
    public var writerGone: Bool { status == .running && (writer?.isGone ?? false) }

    /// The status as readers show it: a `running` session whose writer is gone reads `interrupted`.
    public var shownStatus: Status { writerGone ? .interrupted : status }

    /// The status in words, for tables and headings.
    public var statusText: String {
        if writerGone { return "interrupted (writer gone)" }
        if status == .running, let w = writer { return "running (pid \(w.pid))" }
        return status.rawValue
    }
}

/// A session with its counts, as `calib sessions` lists it.
public struct SessionSummary: Sendable, Equatable {
    public var session: Session
    public var batches: Int
    public var tensors: Int
    public var elements: Int

    public init(session: Session, batches: Int, tensors: Int, elements: Int) {
        self.session = session
        self.batches = batches
        self.tensors = tensors
        self.elements = elements
    }
}

/// A tensor of a session as first seen, with where its channels are.
public struct TensorRecord: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var role: TensorRole
    public var dtype: DType
    public var shape: [Int]
    /// Non-negative channel axis, nil when per-tensor.
    public var channelAxis: Int?
    public var channels: Int

    public init(id: Int64, name: String, role: TensorRole, dtype: DType, shape: [Int], channelAxis: Int?, channels: Int) {
        self.id = id
        self.name = name
        self.role = role
        self.dtype = dtype
        self.shape = shape
        self.channelAxis = channelAxis
        self.channels = channels
    }
}

/// Everything `show` and `export` need about one tensor.
public struct TensorReport: Sendable, Equatable {
    public var tensor: TensorRecord
    /// nil for an imported tensor whose file carried no ranges.
    public var stats: TensorStats?
    public var encoding: Encoding

    public init(tensor: TensorRecord, stats: TensorStats?, encoding: Encoding) {
        self.tensor = tensor
        self.stats = stats
        self.encoding = encoding
    }

    /// The tensor's settings as stored: its role, observer and the scheme of its encoding.
    public var settings: TensorSettings {
        TensorSettings(
            role: tensor.role, observer: stats?.observer ?? ObserverConfig(channelAxis: tensor.channelAxis),
            scheme: encoding.scheme)
    }
}

/// The row a committed batch leaves in `batches`.
public struct BatchRecord: Sendable, Equatable {
    public var seq: Int
    public var source: String
    /// The batch's content hash under its session's `batchHash`, in hex.
    public var contentHash: String
    public var tensors: Int
    public var elements: Int
    public var bytes: Int
    public var addedAt: String

    public init(seq: Int, source: String, contentHash: String, tensors: Int, elements: Int, bytes: Int, addedAt: String) {
        self.seq = seq
        self.source = source
        self.contentHash = contentHash
        self.tensors = tensors
        self.elements = elements
        self.bytes = bytes
        self.addedAt = addedAt
    }
}

/// A named encoding set made by `calib derive`.
public struct EncodingSet: Sendable, Equatable {
    public var label: String
    /// The derive options, as JSON.
    public var options: String
    /// The session's batch count when it was derived: later batches are not in it.
    public var batches: Int
    public var createdAt: String

    public init(label: String, options: String, batches: Int, createdAt: String) {
        self.label = label
        self.options = options
        self.batches = batches
        self.createdAt = createdAt
    }
}
