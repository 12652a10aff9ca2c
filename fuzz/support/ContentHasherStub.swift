/// Stands in for Sources/CalibReaders/ContentHasher.swift in the fuzz build, which does not link
/// libxxhash: FNV-1a 64 for every algorithm, the same API. It is content-sensitive,
/// so the stdin-frames invariant "a frame's hash is the hash of its input bytes" still means something.
final class ContentHasher {
    private var state: UInt64 = 0xcbf2_9ce4_8422_2325

    init(_ algorithm: ContentHashAlgorithm) {}

    func update(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes { state = (state ^ UInt64(byte)) &* 0x100_0000_01b3 }
    }

    func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    func finalize() -> String { String(state, radix: 16) }

    static func hash(_ bytes: UnsafeRawBufferPointer, _ algorithm: ContentHashAlgorithm) -> String {
        let hasher = ContentHasher(algorithm)
        hasher.update(bytes)
        return hasher.finalize()
    }
}
