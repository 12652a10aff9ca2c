import CalibModel
import CalibSupport

/// A batch read (mapped and parsed) whose content hash is still to be taken: `hash(visit:)`
/// streams its bytes through the hash in cache-sized pieces and hands each piece to the caller
/// right after, so whoever observes the tensors reads each byte while it is still in cache instead
/// of reading the whole batch from memory a second time.
///
/// The hash is the one `BatchReader.next(hash:)` gives (`xxh128sum FILE` for a file batch).
public struct PendingBatch: @unchecked Sendable {
    public var source: String { content.source }
    public var tensors: [TensorData] { content.tensors }

    enum Content {
        /// One mapped file, not hashed yet.
        case mapped(source: String, file: MappedFile, tensors: [TensorData], algorithm: ContentHashAlgorithm)
        /// Hashed already as it was read (stdin frames, npy directories).
        case hashed(Batch)

        var source: String {
            switch self {
            case .mapped(let source, _, _, _): source
            case .hashed(let batch): batch.source
            }
        }

        var tensors: [TensorData] {
            switch self {
            case .mapped(_, _, let tensors, _): tensors
            case .hashed(let batch): batch.tensors
            }
        }
    }

    let content: Content

    /// Bytes hashed per piece: small enough that the piece is still in L2 when it is observed.
    public static let defaultPiece = 512 << 10

    /// Hashes the batch piece by piece, in file order. After each piece, `visit(end)` is called with
    /// the address where the bytes hashed so far end (every byte of the file below it is hashed), or
    /// once with nil when the batch was hashed as it was read (then every byte is ready). Pages
    /// behind the pieces are dropped from the resident set in whole 2 MiB blocks, so a huge-page
    /// mapping of the page cache is not split. Throws when the file shrank meanwhile.
    public func hash(pieceBytes: Int = defaultPiece, visit: (UnsafeRawPointer?) -> Void) throws -> Batch {
        switch content {
        case .hashed(let batch):
            visit(nil)
            return batch
        case .mapped(let source, let file, let tensors, let algorithm):
            let hasher = ContentHasher(algorithm)
            try file.guarded {
                let bytes = file.bytes
                var offset = 0, released = 0
                while offset < bytes.count {
                    let piece = UnsafeRawBufferPointer(rebasing: bytes[offset..<Swift.min(bytes.count, offset + pieceBytes)])
                    hasher.update(piece)
                    visit(piece.baseAddress! + piece.count)
                    offset += piece.count
                    released = file.releaseBlocks(from: released, to: offset)
                }
                if bytes.isEmpty { visit(nil) }
            }
            return Batch(
                source: source, contentHash: hasher.finalize(), byteCount: file.bytes.count, tensors: tensors,
                checkUnchanged: file.checkUnchanged)
        }
    }
}
