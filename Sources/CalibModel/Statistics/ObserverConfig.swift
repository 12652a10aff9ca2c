import CalibSupport

/// Which running statistic a tensor keeps, and over which axis.
public enum ObserverKind: String, Sendable, Codable, CaseIterable {
    /// Running min/max over every batch (AIMET min_max, torch MinMaxObserver).
    case minmax
    /// torch MovingAverageMinMaxObserver: the first batch sets the state, then `state += c * (batch - state)`.
    case ema
    /// A histogram in the rules of one tool (`HistogramState`), with the running min/max beside it.
    case histogram

    /// Whether `calib run` can fold batches with it (every kind; `TensorSettings.validate` says
    /// which conventions the histogram observer is wired for).
    public var isRunnable: Bool { true }
}

/// The observer settings a tensor's statistics were accumulated with. Mixing batches observed with
/// different settings would make the statistics meaningless, so a session records them.
public struct ObserverConfig: Sendable, Hashable, Codable {
    public var kind: ObserverKind
    /// `c` of the moving average (torch's `averaging_constant`); unused by `minmax`.
    public var averagingConstant: Float
    /// Channel axis as given by the user (negative counts from the end); nil for per-tensor.
    public var channelAxis: Int?

    public init(kind: ObserverKind = .minmax, averagingConstant: Float = 0.01, channelAxis: Int? = nil) {
        self.kind = kind
        self.averagingConstant = averagingConstant
        self.channelAxis = channelAxis
    }

    enum CodingKeys: String, CodingKey {
        case kind = "observer"
        case averagingConstant = "averaging_constant"
        case channelAxis = "per_channel_axis"
    }
}

extension ObserverConfig {
    /// What differs between statistics observed with `self` (stored) and with `other` (this run), in
    /// words; empty when batches observed with both can be folded together.
    public func differences(from other: ObserverConfig) -> [String] {
        var differences: [String] = []
        if other.kind != kind { differences.append("observer \(other.kind.rawValue) (stored: \(kind.rawValue))") }
        if other.kind == .ema && kind == .ema && other.averagingConstant != averagingConstant {
            differences.append("averaging constant \(other.averagingConstant) (stored: \(averagingConstant))")
        }
        if other.channelAxis != channelAxis {
            func text(_ a: Int?) -> String { a.map { "per-channel axis \($0)" } ?? "per-tensor" }
            differences.append("\(text(other.channelAxis)) (stored: \(text(channelAxis)))")
        }
        return differences
    }

    /// Refuses settings no observer accepts.
    public func validate() throws(SchemeError) {
        if kind == .ema && !(averagingConstant > 0 && averagingConstant <= 1) {
            throw SchemeError("--averaging-constant must be in (0, 1], got \(averagingConstant)")
        }
    }
}
