import CalibSupport

/// How a session identifies its batches: the hash of each batch's bytes that lets the store notice
/// the same batch fed twice, whatever path or stream it came from.
public enum ContentHashAlgorithm: String, Sendable, CaseIterable {
    /// Sessions created before schema 3. SHA-256 ran at ~1.5 GB/s on one core here, which capped a
    /// whole `calib run` at that rate, so newer sessions use XXH3-128.
    case sha256
    /// XXH3-128 (seed 0), written as `xxh128sum` prints it: 32 hex digits, high 64 bits first. It runs
    /// at memory bandwidth (~15 GB/s from DRAM on one core). It is not cryptographic: it guards
    /// against counting a batch twice by accident (a collision between two real batches has
    /// probability ~2^-128), not against someone forging a batch that collides on purpose.
    case xxh3_128 = "xxh3-128"

    /// What a new session uses.
    public static let current = ContentHashAlgorithm.xxh3_128
}
