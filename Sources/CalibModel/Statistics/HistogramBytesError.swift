/// Bytes given to `AimetHistogram(serialized:)` or `TorchHistogram(serialized:)` that they did not write.
public struct HistogramBytesError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ message: String) { description = message }
}
