import CalibSupport

/// The finite range of one tensor in one batch, per channel, plus the counts kept beside it.
public struct BatchRange: Sendable, Equatable {
    /// Per channel; `+inf`/`-inf` for a channel with no finite value in this batch.
    public var min: [Float]
    public var max: [Float]
    public var elements: Int
    /// NaN and ±Inf values, left out of `min`/`max`.
    public var nonfinite: Int
    /// Finite float64 values beyond float32's range (`|x| > 3.4028235e38`, such as `1e39`): not
    /// NaN/Inf, but no float32 range or encoding can hold them. Counted apart from `nonfinite`,
    /// left out of `min`/`max`; the runner refuses a batch that holds any.
    public var beyondFloat32: Int
    /// Part of the tensor could not be read: its file was truncated while it was mapped (the
    /// missing bytes read as zeros). The range must not be used.
    public var unreadable = false

    public init(min: [Float], max: [Float], elements: Int, nonfinite: Int, beyondFloat32: Int = 0) {
        self.min = min
        self.max = max
        self.elements = elements
        self.nonfinite = nonfinite
        self.beyondFloat32 = beyondFloat32
    }
}
