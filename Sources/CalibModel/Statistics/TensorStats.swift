import CalibSupport

/// What an observer keeps for one tensor between batches. Every state holds a range per channel
/// (what min/max-based methods and the export of ranges need); the histogram observers add a case
/// that keeps their counts beside it.
public enum ObserverState: Sendable, Equatable {
    /// Per channel: the running (or moving-average) min and max; `+inf`/`-inf` while no finite value
    /// has been seen.
    case range(min: [Float], max: [Float])
    /// A histogram observer: the running min/max per channel, as `range` keeps it, and the
    /// histogram state the tool's methods are derived from.
    case histogram(min: [Float], max: [Float], HistogramState)

    public var min: [Float] {
        switch self {
        case .range(let min, _), .histogram(let min, _, _): min
        }
    }

    public var max: [Float] {
        switch self {
        case .range(_, let max), .histogram(_, let max, _): max
        }
    }

    /// The histogram state, for a histogram observer.
    public var histogram: HistogramState? {
        if case .histogram(_, _, let h) = self { return h }
        return nil
    }
}

/// The accumulated statistics of one tensor over every batch a session has seen.
public struct TensorStats: Sendable, Equatable {
    public var observer: ObserverConfig
    public var state: ObserverState
    public var batches: Int
    public var elements: Int
    public var nonfinite: Int

    /// The state before any batch.
    public init(observer: ObserverConfig, channels: Int) {
        self.init(
            observer: observer, min: Array(repeating: .infinity, count: channels),
            max: Array(repeating: -.infinity, count: channels),
            batches: 0, elements: 0, nonfinite: 0)
    }

    public init(observer: ObserverConfig, min: [Float], max: [Float], batches: Int, elements: Int, nonfinite: Int) {
        self.observer = observer
        state = .range(min: min, max: max)
        self.batches = batches
        self.elements = elements
        self.nonfinite = nonfinite
    }

    /// Statistics with any state (a histogram observer's, read back from a store).
    public init(observer: ObserverConfig, state: ObserverState, batches: Int, elements: Int, nonfinite: Int) {
        self.observer = observer
        self.state = state
        self.batches = batches
        self.elements = elements
        self.nonfinite = nonfinite
    }

    /// Per channel (one entry when per-tensor). `+inf`/`-inf` while no finite value has been seen.
    public var min: [Float] { state.min }
    public var max: [Float] { state.max }
    public var channels: Int { state.min.count }
    public var histogram: HistogramState? { state.histogram }
}
