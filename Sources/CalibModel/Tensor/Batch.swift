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
    /// Throws, naming the file, when a file of the batch changed since it was opened (before it was
    /// hashed). Called once the batch is observed: the hash and the statistics then provably come
    /// from the same bytes. Batches held in memory (stdin frames) cannot change and pass.
    public let checkUnchanged: @Sendable () throws -> Void

    public init(
        source: String, contentHash: String, byteCount: Int, tensors: [TensorData],
        checkUnchanged: @escaping @Sendable () throws -> Void = {}
    ) {
        self.source = source
        self.contentHash = contentHash
        self.byteCount = byteCount
        self.tensors = tensors
        self.checkUnchanged = checkUnchanged
    }
}
