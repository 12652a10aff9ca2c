import CalibSupport

/// The finite range of one tensor in one batch, per channel, plus the counts kept beside it.
public struct BatchRange: Sendable, Equatable {
    /// Per channel; `+inf`/`-inf` for a channel with no finite value in this batch.
    public var min: [Float]
    public var max: [Float]
    public var elements: Int
    /// NaN and ±Inf values, left out of `min`/`max`.
    public var nonfinite: Int

    public init(min: [Float], max: [Float], elements: Int, nonfinite: Int) {
        self.min = min
        self.max = max
        self.elements = elements
        self.nonfinite = nonfinite
    }
}
