/// Which running statistic a tensor keeps, and over which axis.
public enum ObserverKind: String, Sendable, Codable, CaseIterable {
    /// Running min/max over every batch (AIMET min_max, torch MinMaxObserver).
    case minmax
    /// torch MovingAverageMinMaxObserver: the first batch sets the state, then `state += c * (batch - state)`.
    case ema
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
