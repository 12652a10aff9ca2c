import CalibSupport

/// Scale and offset for one tensor, one value per channel (a single value when per-tensor).
///
/// Offsets use AIMET's sign: `q = clamp(rne(x / scale) - offset, qmin, qmax)` and
/// `x̂ = (q + offset) * scale`; `zeroPoint = -offset` is what PyTorch, ONNX and TensorRT call it.
public struct Encoding: Sendable, Equatable {
    public var scheme: QuantScheme
    /// The channel axis of the tensor the encoding applies to; nil when per-tensor.
    public var channelAxis: Int?
    public var scale: [Float]
    public var offset: [Int]
    /// The representable range: `scale * (offset + qmin)` and `scale * (offset + qmax)`.
    public var min: [Float]
    public var max: [Float]

    public init(scheme: QuantScheme, channelAxis: Int?, scale: [Float], offset: [Int], min: [Float], max: [Float]) {
        self.scheme = scheme
        self.channelAxis = channelAxis
        self.scale = scale
        self.offset = offset
        self.min = min
        self.max = max
    }

    public var zeroPoint: [Int] { offset.map { -$0 } }
    public var channelCount: Int { scale.count }
}
