import CXXHash
import CalibModel
import CalibSupport

/// Incremental hash of a batch's bytes, giving `Batch.contentHash`.
final class ContentHasher {
    private var sha: SHA256?
    private let xxh: OpaquePointer?

    init(_ algorithm: ContentHashAlgorithm) {
        switch algorithm {
        case .sha256:
            sha = SHA256()
            xxh = nil
        case .xxh3_128:
            guard let state = XXH3_createState() else { fatalError("out of memory for an XXH3 state") }
            XXH3_128bits_reset(state)
            xxh = state
        }
    }

    deinit { if let xxh { XXH3_freeState(xxh) } }

    func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        if let xxh {
            _ = calib_xxh3_128_update(xxh, base, bytes.count)
        } else {
            sha!.update(bytes)
        }
    }

    func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Lowercase hex of the digest.
    func finalize() -> String {
        if let xxh {
            var canonical = XXH128_canonical_t()
            XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(xxh))
            return withUnsafeBytes(of: canonical.digest) { Self.hex($0) }
        }
        return sha!.finalize().withUnsafeBytes { Self.hex($0) }
    }

    /// `xxh128sum`'s spelling of an XXH3-128 hash: the high 64 bits first, big-endian.
    static func hex(high: UInt64, low: UInt64) -> String {
        withUnsafeBytes(of: (high.bigEndian, low.bigEndian)) { hex($0) }
    }

    private static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: hex, as: UTF8.self)
    }

    /// The hex digest of one buffer.
    static func hash(_ bytes: UnsafeRawBufferPointer, _ algorithm: ContentHashAlgorithm) -> String {
        let hasher = ContentHasher(algorithm)
        hasher.update(bytes)
        return hasher.finalize()
    }
}
