import CalibDerivation
import CalibFormats
import CalibModel
import CalibObservers
import CalibReaders
import CalibStore
import CalibSupport

/// What a `calib run` asks for.
public struct RunOptions: Sendable {
    public var session: String
    /// The run's flags (`--role`, `--observer`, `--bitwidth`, …); they apply to every tensor this
    /// run reads, after the `config` rules.
    public var settings: SettingsOverride
    /// `--config` rules.
    public var config: CalibrationConfig
    /// `--tensor` globs; empty means every tensor.
    public var tensorFilter: [String]
    public var nonfinite: NonFinitePolicy
    public var model: String?
    public var dataset: String?
    public var note: String?
    /// When observed batches are committed.
    public var commitPolicy: CommitPolicy
    /// `--method` and its options for AIMET and onnxruntime histogram observers: the method their
    /// default encoding is derived with, stored with the histogram state; nil keeps the stored one
    /// (TF-enhanced or entropy for a new tensor).
    public var method: MethodRequest?
    /// `--bins`: onnxruntime's `num_bins` for new tensors (the method's default when nil); fixed
    /// once a tensor's histograms exist.
    public var bins: Int?
    /// `--collect`: how this run feeds onnxruntime histograms; nil keeps the stored mode (`all` for
    /// a new tensor).
    public var collect: OnnxRuntimeCollect?
    /// `--histogram`: the rules new histogram tensors follow (nil: by convention).
    public var histogramRules: HistogramRules?
    /// The inputs read again from the start, for `--collect all`'s extent pass; nil when they
    /// cannot be (standard input).
    public var reread: (@Sendable () throws -> BatchReader)?
    /// A signal number when the run should stop (checked between batches and while waiting for one).
    public var stopSignal: @Sendable () -> Int32? = { nil }

    public init(
        session: String, settings: SettingsOverride = SettingsOverride(), config: CalibrationConfig = CalibrationConfig(),
        tensorFilter: [String] = [], nonfinite: NonFinitePolicy = .ignore, model: String? = nil,
        dataset: String? = nil, note: String? = nil, commitPolicy: CommitPolicy = .adaptive
    ) {
        self.commitPolicy = commitPolicy
        self.session = session
        self.settings = settings
        self.config = config
        self.tensorFilter = tensorFilter
        self.nonfinite = nonfinite
        self.model = model
        self.dataset = dataset
        self.note = note
    }

    /// The settings of tensor `name`: its stored settings (or its role's defaults when new), then
    /// the config rules, then the run's flags.
    public func settings(for name: String, stored: TensorSettings?) -> TensorSettings {
        let role = settings.role ?? config.role(for: name) ?? stored?.role ?? .activation
        var base = stored ?? TensorSettings.defaults(for: role)
        base.role = role
        return settings.applied(to: config.applied(to: base, name: name))
    }
}

/// What to do with NaN and ±Inf values in a batch.
public enum NonFinitePolicy: String, Sendable, CaseIterable {
    /// Leave them out of the ranges and count them (the default).
    case ignore
    /// Reject the batch, naming the tensor.
    case error
}

/// How many batches a run puts in one transaction. Every batch is committed whole, with its
/// statistics, in one transaction; several batches may share one. A session of thousands of
/// per-channel tensors writes megabytes of statistics and encodings per commit, so committing every
/// batch would let SQLite dominate the run; sharing a transaction writes each tensor once for all
/// its batches. A crash loses only the batches of the transaction in progress, which a re-run
/// observes again.
public struct CommitPolicy: Sendable, Equatable {
    /// At most this many batches per transaction.
    public var maxBatches: Int
    /// Commit once the batches waiting took at least this multiple of the last commit's duration to
    /// observe, so committing takes at most about 1 / (1 + ratio) of the run.
    public var costRatio: Double
    /// Commit at least this often (seconds): what a crash can cost to redo.
    public var maxSeconds: Double
    /// What the run's first commit is assumed to cost (seconds) before one was timed, so that a
    /// short run is one transaction instead of one after its first batch and a few more.
    public var firstCommitEstimate: Double

    public init(maxBatches: Int, costRatio: Double, maxSeconds: Double, firstCommitEstimate: Double = 0) {
        self.maxBatches = maxBatches
        self.costRatio = costRatio
        self.maxSeconds = maxSeconds
        self.firstCommitEstimate = firstCommitEstimate
    }

    /// Commits take at most about 5 % of a run, and a crash costs at most ~10 s of observing. The
    /// committing thread takes a core from the observers while it writes, so its share is the
    /// run's: at 3 times (a quarter), a 1 GiB run spent 10-16 ms of 70 in 5-9 transactions. The
    /// first commit waits for ~0.1 s of observing (20 x 5 ms).
    public static let adaptive = CommitPolicy(maxBatches: 256, costRatio: 19, maxSeconds: 10, firstCommitEstimate: 0.005)
    /// One transaction per batch.
    public static let everyBatch = CommitPolicy(maxBatches: 1, costRatio: 0, maxSeconds: 0)

    /// `lastCommit`: how long the last commit took; nil before the first.
    func isDue(batches: Int, waited: Double, lastCommit: Double?) -> Bool {
        batches >= maxBatches || waited >= maxSeconds || waited >= costRatio * (lastCommit ?? firstCommitEstimate)
    }
}
