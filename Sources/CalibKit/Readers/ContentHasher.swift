import Crypto

/// Incremental SHA-256 of a batch's bytes, giving `Batch.contentHash`: the identity that lets the
/// store notice the same batch fed twice, whatever path or stream it came from.
struct ContentHasher {
    private var sha = SHA256()

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        sha.update(bufferPointer: bytes)
    }

    mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Lowercase hex of the digest.
    func finalize() -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        for byte in sha.finalize() {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: hex, as: UTF8.self)
    }

    /// The hex digest of one buffer.
    static func hash(_ bytes: UnsafeRawBufferPointer) -> String {
        var hasher = ContentHasher()
        hasher.update(bytes)
        return hasher.finalize()
    }
}
