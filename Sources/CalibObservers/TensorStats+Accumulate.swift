import CalibModel

extension TensorStats {
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
}
