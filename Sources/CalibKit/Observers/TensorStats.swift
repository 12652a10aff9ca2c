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

    /// Folds one batch in. A channel with no finite value in the batch keeps its state.
    public mutating func accumulate(_ batch: BatchRange) {
        precondition(batch.min.count == channels, "channel count changed")
        switch observer.kind {
        case .minmax:
            // IEEE total order, as the kernels compare within a batch: -0 < +0, so the stored range
            // is the same bits whatever order the batches come in.
            for c in 0..<channels {
                if batch.min[c].isTotallyOrdered(belowOrEqualTo: min[c]) { min[c] = batch.min[c] }
                if max[c].isTotallyOrdered(belowOrEqualTo: batch.max[c]) { max[c] = batch.max[c] }
            }
        case .ema:
            let k = observer.averagingConstant
            for c in 0..<channels {
                if batch.min[c].isFinite {
                    min[c] = min[c].isFinite ? min[c] + k * (batch.min[c] - min[c]) : batch.min[c]
                }
                if batch.max[c].isFinite {
                    max[c] = max[c].isFinite ? max[c] + k * (batch.max[c] - max[c]) : batch.max[c]
                }
            }
        }
        batches += 1
        elements += batch.elements
        nonfinite += batch.nonfinite
    }

    /// The encoding these statistics give under `scheme`.
    public func encoding(_ scheme: QuantScheme, channelAxis: Int?) -> Encoding {
        Encoding(observedMin: min, observedMax: max, scheme: scheme, channelAxis: channelAxis)
    }
}
