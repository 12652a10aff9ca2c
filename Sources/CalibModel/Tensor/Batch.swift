import CalibSupport

/// One calibration batch: the tensors one forward pass produced, read from one file, one
/// directory of .npy files, or one frame of a stdin stream.
public struct Batch: Sendable {
    /// Where it came from, as shown to the user (a path, or `stdin#N`).
    public let source: String
    /// Hex hash of the batch's bytes (`ContentHashAlgorithm`): the identity that prevents double counting.
    public let contentHash: String
    /// Total bytes the batch occupies in its source.
    public let byteCount: Int
    public let tensors: [TensorData]

    public init(source: String, contentHash: String, byteCount: Int, tensors: [TensorData]) {
        self.source = source
        self.contentHash = contentHash
        self.byteCount = byteCount
        self.tensors = tensors
    }
}
