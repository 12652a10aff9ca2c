import CalibModel

/// How one kind of observer folds a batch into a tensor's state. The kernels reduce each batch to a
/// `BatchRange` on every core first; an observer only decides what the state keeps.
public protocol Observer: Sendable {
    /// Folds one batch in. A channel with no finite value in the batch keeps its state.
    func fold(_ batch: BatchRange, into state: inout ObserverState)
    /// The state of two disjoint sets of batches together, as if observed in one run; nil when the
    /// observer depends on batch order (then shards cannot be merged exactly).
    func merge(_ a: ObserverState, _ b: ObserverState) -> ObserverState?
}

/// Running min/max over every batch (AIMET min_max, torch MinMaxObserver): associative and
/// commutative, so shards merge exactly.
public struct MinMaxObserver: Observer {
    public init() {}

    public func fold(_ batch: BatchRange, into state: inout ObserverState) {
        state.updateRange { lo, hi in Self.widen(&lo, &hi, batch.min, batch.max) }
    }

    /// Ranges merge, and so do canonical histograms on one grid (their counts add; the merged
    /// state keeps `a`'s method); the reference tools' histograms depend on batch order and do not.
    public func merge(_ a: ObserverState, _ b: ObserverState) -> ObserverState? {
        switch (a, b) {
        case (.range, .range(let blo, let bhi)):
            var out = a
            out.updateRange { lo, hi in Self.widen(&lo, &hi, blo, bhi) }
            return out
        case (
            .histogram(var lo, var hi, .canonical(var h, let method, let bins)),
            .histogram(let blo, let bhi, .canonical(let hb, _, _))
        ):
            guard h.mantissaBits == hb.mantissaBits else { return nil }
            Self.widen(&lo, &hi, blo, bhi)
            h.merge(hb)
            return .histogram(min: lo, max: hi, .canonical(h, method: method, onnxruntimeBins: bins))
        default:
            return nil
        }
    }

    /// IEEE total order, as the kernels compare within a batch: -0 < +0, so the result is the same
    /// bits whatever order the batches (or shards) come in.
    static func widen(_ lo: inout [Float], _ hi: inout [Float], _ blo: [Float], _ bhi: [Float]) {
        precondition(blo.count == lo.count, "channel count changed")
        for c in lo.indices {
            if blo[c].isTotallyOrdered(belowOrEqualTo: lo[c]) { lo[c] = blo[c] }
            if hi[c].isTotallyOrdered(belowOrEqualTo: bhi[c]) { hi[c] = bhi[c] }
        }
    }
}

/// torch's MovingAverageMinMaxObserver: the first batch sets the state, then
/// `state += c * (batch - state)`. Order-dependent: not mergeable.
public struct MovingAverageObserver: Observer {
    public let averagingConstant: Float

    public init(averagingConstant: Float) { self.averagingConstant = averagingConstant }

    public func fold(_ batch: BatchRange, into state: inout ObserverState) {
        let k = averagingConstant
        state.updateRange { lo, hi in
            precondition(batch.min.count == lo.count, "channel count changed")
            for c in lo.indices {
                if batch.min[c].isFinite { lo[c] = lo[c].isFinite ? lo[c] + k * (batch.min[c] - lo[c]) : batch.min[c] }
                if batch.max[c].isFinite { hi[c] = hi[c].isFinite ? hi[c] + k * (batch.max[c] - hi[c]) : batch.max[c] }
            }
        }
    }

    public func merge(_ a: ObserverState, _ b: ObserverState) -> ObserverState? { nil }
}

extension ObserverState {
    /// Changes the range in place: the state lets go of its arrays first, so they are not copied.
    mutating func updateRange(_ body: (inout [Float], inout [Float]) -> Void) {
        switch self {
        case .range(var lo, var hi):
            self = .range(min: [], max: [])
            body(&lo, &hi)
            self = .range(min: lo, max: hi)
        case .histogram(var lo, var hi, let h):
            self = .range(min: [], max: [])
            body(&lo, &hi)
            self = .histogram(min: lo, max: hi, h)
        }
    }
}

extension ObserverConfig {
    /// The observer these settings name.
    public var observer: any Observer {
        switch kind {
        // A histogram observer keeps the running min/max beside its histogram.
        case .minmax, .histogram: MinMaxObserver()
        case .ema: MovingAverageObserver(averagingConstant: averagingConstant)
        }
    }
}

extension TensorStats {
    /// Folds one batch in, with the tensor's own observer.
    public mutating func accumulate(_ batch: BatchRange) {
        observer.observer.fold(batch, into: &state)
        batches += 1
        elements += batch.elements
        nonfinite += batch.nonfinite
    }

    /// These statistics and `other`'s (of disjoint batches) together; nil when the observer is
    /// order-dependent or the settings differ.
    public func merged(with other: TensorStats) -> TensorStats? {
        guard observer == other.observer, let state = observer.observer.merge(state, other.state) else { return nil }
        var out = self
        out.state = state
        out.batches += other.batches
        out.elements += other.elements
        out.nonfinite += other.nonfinite
        return out
    }
}
