import CKernels
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
        var none: [LaneReduction] = []
        return try hash(pieceBytes: pieceBytes, reducing: &none, visit: visit)
    }

    /// Whether `hash(reducing:visit:)` reduces the 32-bit lanes of tensor `index` in its own loads:
    /// an XXH3-128 batch of one mapped file (longer than XXH3's short-input path), and a tensor
    /// whose bytes start at a multiple of 4 in the file.
    public func reducesLanes(ofTensor index: Int) -> Bool {
        guard case .mapped(_, let file, let tensors, .xxh3_128) = content, file.bytes.count >= Int(CK_XXH3_MIN),
            let base = file.bytes.baseAddress, let start = tensors[index].bytes.baseAddress, !tensors[index].bytes.isEmpty
        else { return false }
        return base.distance(to: start) % 4 == 0 && tensors[index].bytes.count % 4 == 0
    }

    /// As `hash(visit:)`, and reduces the lanes of each tensor in `lanes` (in file order, each one
    /// `reducesLanes(ofTensor:)` allows) in the loads the hash makes, so those bytes are not read
    /// again to observe them. Each `LaneReduction.reduced` says whether it was done.
    public func hash(
        pieceBytes: Int = defaultPiece, reducing lanes: inout [LaneReduction], visit: (UnsafeRawPointer?) -> Void
    ) throws -> Batch {
        switch content {
        case .hashed(let batch):
            visit(nil)
            return batch
        case .mapped(let source, let file, let tensors, .xxh3_128) where !lanes.isEmpty && file.bytes.count >= Int(CK_XXH3_MIN):
            let bytes = file.bytes
            let base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            var segments = lanes.map { l -> ck_lanes in
                let t = tensors[l.tensor].bytes
                let begin = UnsafeRawPointer(base).distance(to: t.baseAddress!)
                var segment = ck_lanes()
                ck_lanes_init(&segment, begin, begin + t.count)
                return segment
            }
            var state = ck_xxh3()
            ck_xxh3_begin(&state, Int32(CK_ISA_BEST))
            var low: UInt64 = 0, high: UInt64 = 0
            try file.guarded {
                var offset = 0, released = 0
                while offset < bytes.count {
                    let end = Swift.min(bytes.count, offset + pieceBytes)
                    ck_xxh3_update(&state, base, bytes.count, end, &segments, segments.count)
                    // What the hash has consumed (it keeps the last block for its finish).
                    let ready = end == bytes.count ? end : state.done
                    if end == bytes.count {
                        ck_xxh3_finish(&state, base, bytes.count, &segments, segments.count, &low, &high)
                    }
                    visit(UnsafeRawPointer(base) + ready)
                    offset = end
                    released = file.releaseBlocks(from: released, to: ready)
                }
            }
            for k in lanes.indices {
                let s = segments[k]
                lanes[k].reduced = (s.max_s, s.min_s, s.max_u, s.min_u)
            }
            return Batch(
                source: source, contentHash: ContentHasher.hex(high: high, low: low), byteCount: bytes.count,
                tensors: tensors, checkUnchanged: file.checkUnchanged)
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

/// The four reductions of a tensor's raw 32-bit patterns that the hash's loads gave
/// (`PendingBatch.hash(reducing:visit:)`): signed max and min, unsigned max and min.
public struct LaneReduction: Sendable {
    /// The tensor's index in the batch.
    public let tensor: Int
    /// nil until the hash reduced them.
    public var reduced: (maxSigned: Int32, minSigned: Int32, maxUnsigned: UInt32, minUnsigned: UInt32)?

    public init(tensor: Int) { self.tensor = tensor }
}
