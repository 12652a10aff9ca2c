import CalibSupport

/// The accumulated statistics of one tensor over every batch a session has seen.
public struct TensorStats: Sendable, Equatable {
    public var observer: ObserverConfig
    /// Per channel (one entry when per-tensor). `+inf`/`-inf` while no finite value has been seen.
    public var min: [Float]
    public var max: [Float]
    public var batches: Int
    public var elements: Int
    public var nonfinite: Int

    public init(observer: ObserverConfig, channels: Int) {
        self.observer = observer
        min = Array(repeating: .infinity, count: channels)
        max = Array(repeating: -.infinity, count: channels)
        batches = 0
        elements = 0
        nonfinite = 0
    }

    public init(observer: ObserverConfig, min: [Float], max: [Float], batches: Int, elements: Int, nonfinite: Int) {
        self.observer = observer
        self.min = min
        self.max = max
        self.batches = batches
        self.elements = elements
        self.nonfinite = nonfinite
    }

    public var channels: Int { min.count }
}
