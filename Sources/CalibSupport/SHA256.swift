/// SHA-256 (FIPS 180-4), in Swift: the batch identity of sessions made before schema 3 and the
/// checksum of each applied migration. It replaced swift-crypto, whose BoringSSL was ~360 of the
/// ~390 steps of a first release build, for hashing that is never on a hot path.
///
/// Incremental: call `update` any number of times with arbitrary split points, then `finalize` once.
/// The value is a plain struct of fixed-size tuples (no heap storage), so it is `Sendable`, cheap to copy,
/// and copying it mid-stream forks the computation (useful for hashing a common prefix once).
public struct SHA256: Sendable {
    /// The eight 32-bit chaining words H0...H7. A tuple rather than an array: no allocation, no CoW, no bounds checks.
    private var state: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)
    /// Holds only the partial tail (< 64 bytes) between `update` calls; full blocks never pass through here.
    private var tail: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
    /// Number of valid bytes in `tail` (0..<64).
    private var tailCount: Int
    /// Total message length in bytes; the padding stores `length << 3` bits, which covers every message under 2^61 bytes.
    private var length: UInt64

    public init() {
        state = (0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19)
        tail = (0, 0, 0, 0, 0, 0, 0, 0)
        tailCount = 0
        length = 0
    }

    /// Absorbs `bytes`.
    ///
    /// Only the bytes needed to complete a pending partial block, and the final partial block, are copied; every
    /// whole 64-byte block in between is compressed straight out of the caller's memory, so large inputs cost no
    /// memcpy at all.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var p = bytes.baseAddress, bytes.count > 0 else { return }
        var n = bytes.count
        length &+= UInt64(truncatingIfNeeded: n)

        if tailCount > 0 {
            let take = min(64 - tailCount, n)
            let offset = tailCount
            withUnsafeMutableBytes(of: &tail) { t in
                (t.baseAddress! + offset).copyMemory(from: p, byteCount: take)
            }
            tailCount += take
            p += take
            n -= take
            guard tailCount == 64 else { return }
            let copy = tail  // local copy so the read of `tail` does not overlap the inout access to `state`
            withUnsafeBytes(of: copy) { SHA256.compress(&state, $0.baseAddress!, blocks: 1) }
            tailCount = 0
        }

        let whole = n >> 6
        if whole > 0 {
            SHA256.compress(&state, p, blocks: whole)
            p += whole << 6
            n -= whole << 6
        }

        if n > 0 {
            withUnsafeMutableBytes(of: &tail) { t in
                t.baseAddress!.copyMemory(from: p, byteCount: n)
            }
            tailCount = n
        }
    }

    /// Convenience for any byte sequence (`[UInt8]`, `ArraySlice`, `Data`, `String.UTF8View`, ...).
    ///
    /// Contiguous collections take the zero-copy raw-pointer path; anything else is gathered into a 4 KiB stack
    /// buffer so that the block loop still sees large contiguous runs.
    public mutating func update<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        let done: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
        if done != nil { return }
        withUnsafeTemporaryAllocation(byteCount: 4096, alignment: 8) { buf in
            var i = 0
            for byte in bytes {
                buf[i] = byte
                i += 1
                if i == 4096 {
                    update(UnsafeRawBufferPointer(buf))
                    i = 0
                }
            }
            if i > 0 { update(UnsafeRawBufferPointer(rebasing: buf[0..<i])) }
        }
    }

    /// Applies the final padding and returns the 32-byte digest.
    ///
    /// `consuming` because a hash context must not be reused after finalization; the padding is applied to the
    /// consumed copy, so a caller that still holds a (copyable) earlier copy can keep updating that one.
    public consuming func finalize() -> [UInt8] {
        let bitLength = length &<< 3
        var count = tailCount
        var block = tail
        withUnsafeMutableBytes(of: &block) { t in
            t[count] = 0x80
            count += 1
            if count > 56 {
                // No room for the 8-byte length: finish this block with zeros and pad a fresh one.
                for i in count..<64 { t[i] = 0 }
                SHA256.compress(&state, UnsafeRawPointer(t.baseAddress!), blocks: 1)
                count = 0
            }
            for i in count..<56 { t[i] = 0 }
            t.storeBytes(of: bitLength.bigEndian, toByteOffset: 56, as: UInt64.self)
            SHA256.compress(&state, UnsafeRawPointer(t.baseAddress!), blocks: 1)
        }
        let s = state
        return [UInt8](unsafeUninitializedCapacity: 32) { out, initialized in
            let raw = UnsafeMutableRawBufferPointer(out)
            raw.storeBytes(of: s.0.bigEndian, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: s.1.bigEndian, toByteOffset: 4, as: UInt32.self)
            raw.storeBytes(of: s.2.bigEndian, toByteOffset: 8, as: UInt32.self)
            raw.storeBytes(of: s.3.bigEndian, toByteOffset: 12, as: UInt32.self)
            raw.storeBytes(of: s.4.bigEndian, toByteOffset: 16, as: UInt32.self)
            raw.storeBytes(of: s.5.bigEndian, toByteOffset: 20, as: UInt32.self)
            raw.storeBytes(of: s.6.bigEndian, toByteOffset: 24, as: UInt32.self)
            raw.storeBytes(of: s.7.bigEndian, toByteOffset: 28, as: UInt32.self)
            initialized = 32
        }
    }

    /// One-shot digest of `bytes` (32 bytes).
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var h = SHA256()
        h.update(bytes)
        return h.finalize()
    }

    /// Lowercase hex (64 characters) of the SHA-256 digest of `bytes`.
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        var h = SHA256()
        h.update(bytes)
        let digest = h.finalize()
        return String(unsafeUninitializedCapacity: 64) { out in
            let digits: StaticString = "0123456789abcdef"
            let d = digits.utf8Start
            for i in 0..<32 {
                out[2 &* i] = d[Int(digest[i] &>> 4)]
                out[2 &* i &+ 1] = d[Int(digest[i] & 0x0f)]
            }
            return 64
        }
    }

    // MARK: - Compression

    /// Compresses `blocks` consecutive 64-byte blocks starting at `p` (any alignment) into `state`.
    ///
    /// The chaining words live in locals for the whole run and are written back once, and the message schedule is a
    /// rolling window of 16 locals (W[t] only depends on W[t-16...t-2]), so the loop touches no heap memory and
    /// LLVM can keep everything in registers. The 64 rounds are unrolled by hand with the round constants as
    /// literals; the working-variable rotation a..h is done by renaming arguments instead of moving values.
    private static func compress(
        _ state: inout (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32),
        _ p: UnsafeRawPointer, blocks: Int
    ) {
        var (h0, h1, h2, h3, h4, h5, h6, h7) = state
        var p = p
        for _ in 0..<blocks {
            // Big-endian words, loaded unaligned because the caller's buffer can start anywhere.
            var w0 = load(p, 0), w1 = load(p, 1), w2 = load(p, 2), w3 = load(p, 3)
            var w4 = load(p, 4), w5 = load(p, 5), w6 = load(p, 6), w7 = load(p, 7)
            var w8 = load(p, 8), w9 = load(p, 9), w10 = load(p, 10), w11 = load(p, 11)
            var w12 = load(p, 12), w13 = load(p, 13), w14 = load(p, 14), w15 = load(p, 15)
            var a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7

            step(a, b, c, &d, e, f, g, &h, 0x428a2f98 &+ w0)
            step(h, a, b, &c, d, e, f, &g, 0x71374491 &+ w1)
            step(g, h, a, &b, c, d, e, &f, 0xb5c0fbcf &+ w2)
            step(f, g, h, &a, b, c, d, &e, 0xe9b5dba5 &+ w3)
            step(e, f, g, &h, a, b, c, &d, 0x3956c25b &+ w4)
            step(d, e, f, &g, h, a, b, &c, 0x59f111f1 &+ w5)
            step(c, d, e, &f, g, h, a, &b, 0x923f82a4 &+ w6)
            step(b, c, d, &e, f, g, h, &a, 0xab1c5ed5 &+ w7)
            step(a, b, c, &d, e, f, g, &h, 0xd807aa98 &+ w8)
            step(h, a, b, &c, d, e, f, &g, 0x12835b01 &+ w9)
            step(g, h, a, &b, c, d, e, &f, 0x243185be &+ w10)
            step(f, g, h, &a, b, c, d, &e, 0x550c7dc3 &+ w11)
            step(e, f, g, &h, a, b, c, &d, 0x72be5d74 &+ w12)
            step(d, e, f, &g, h, a, b, &c, 0x80deb1fe &+ w13)
            step(c, d, e, &f, g, h, a, &b, 0x9bdc06a7 &+ w14)
            step(b, c, d, &e, f, g, h, &a, 0xc19bf174 &+ w15)
            expand(&w0, &w1, &w2, &w3, &w4, &w5, &w6, &w7, &w8, &w9, &w10, &w11, &w12, &w13, &w14, &w15)
            step(a, b, c, &d, e, f, g, &h, 0xe49b69c1 &+ w0)
            step(h, a, b, &c, d, e, f, &g, 0xefbe4786 &+ w1)
            step(g, h, a, &b, c, d, e, &f, 0x0fc19dc6 &+ w2)
            step(f, g, h, &a, b, c, d, &e, 0x240ca1cc &+ w3)
            step(e, f, g, &h, a, b, c, &d, 0x2de92c6f &+ w4)
            step(d, e, f, &g, h, a, b, &c, 0x4a7484aa &+ w5)
            step(c, d, e, &f, g, h, a, &b, 0x5cb0a9dc &+ w6)
            step(b, c, d, &e, f, g, h, &a, 0x76f988da &+ w7)
            step(a, b, c, &d, e, f, g, &h, 0x983e5152 &+ w8)
            step(h, a, b, &c, d, e, f, &g, 0xa831c66d &+ w9)
            step(g, h, a, &b, c, d, e, &f, 0xb00327c8 &+ w10)
            step(f, g, h, &a, b, c, d, &e, 0xbf597fc7 &+ w11)
            step(e, f, g, &h, a, b, c, &d, 0xc6e00bf3 &+ w12)
            step(d, e, f, &g, h, a, b, &c, 0xd5a79147 &+ w13)
            step(c, d, e, &f, g, h, a, &b, 0x06ca6351 &+ w14)
            step(b, c, d, &e, f, g, h, &a, 0x14292967 &+ w15)
            expand(&w0, &w1, &w2, &w3, &w4, &w5, &w6, &w7, &w8, &w9, &w10, &w11, &w12, &w13, &w14, &w15)
            step(a, b, c, &d, e, f, g, &h, 0x27b70a85 &+ w0)
            step(h, a, b, &c, d, e, f, &g, 0x2e1b2138 &+ w1)
            step(g, h, a, &b, c, d, e, &f, 0x4d2c6dfc &+ w2)
            step(f, g, h, &a, b, c, d, &e, 0x53380d13 &+ w3)
            step(e, f, g, &h, a, b, c, &d, 0x650a7354 &+ w4)
            step(d, e, f, &g, h, a, b, &c, 0x766a0abb &+ w5)
            step(c, d, e, &f, g, h, a, &b, 0x81c2c92e &+ w6)
            step(b, c, d, &e, f, g, h, &a, 0x92722c85 &+ w7)
            step(a, b, c, &d, e, f, g, &h, 0xa2bfe8a1 &+ w8)
            step(h, a, b, &c, d, e, f, &g, 0xa81a664b &+ w9)
            step(g, h, a, &b, c, d, e, &f, 0xc24b8b70 &+ w10)
            step(f, g, h, &a, b, c, d, &e, 0xc76c51a3 &+ w11)
            step(e, f, g, &h, a, b, c, &d, 0xd192e819 &+ w12)
            step(d, e, f, &g, h, a, b, &c, 0xd6990624 &+ w13)
            step(c, d, e, &f, g, h, a, &b, 0xf40e3585 &+ w14)
            step(b, c, d, &e, f, g, h, &a, 0x106aa070 &+ w15)
            expand(&w0, &w1, &w2, &w3, &w4, &w5, &w6, &w7, &w8, &w9, &w10, &w11, &w12, &w13, &w14, &w15)
            step(a, b, c, &d, e, f, g, &h, 0x19a4c116 &+ w0)
            step(h, a, b, &c, d, e, f, &g, 0x1e376c08 &+ w1)
            step(g, h, a, &b, c, d, e, &f, 0x2748774c &+ w2)
            step(f, g, h, &a, b, c, d, &e, 0x34b0bcb5 &+ w3)
            step(e, f, g, &h, a, b, c, &d, 0x391c0cb3 &+ w4)
            step(d, e, f, &g, h, a, b, &c, 0x4ed8aa4a &+ w5)
            step(c, d, e, &f, g, h, a, &b, 0x5b9cca4f &+ w6)
            step(b, c, d, &e, f, g, h, &a, 0x682e6ff3 &+ w7)
            step(a, b, c, &d, e, f, g, &h, 0x748f82ee &+ w8)
            step(h, a, b, &c, d, e, f, &g, 0x78a5636f &+ w9)
            step(g, h, a, &b, c, d, e, &f, 0x84c87814 &+ w10)
            step(f, g, h, &a, b, c, d, &e, 0x8cc70208 &+ w11)
            step(e, f, g, &h, a, b, c, &d, 0x90befffa &+ w12)
            step(d, e, f, &g, h, a, b, &c, 0xa4506ceb &+ w13)
            step(c, d, e, &f, g, h, a, &b, 0xbef9a3f7 &+ w14)
            step(b, c, d, &e, f, g, h, &a, 0xc67178f2 &+ w15)

            h0 &+= a
            h1 &+= b
            h2 &+= c
            h3 &+= d
            h4 &+= e
            h5 &+= f
            h6 &+= g
            h7 &+= h
            p += 64
        }
        state = (h0, h1, h2, h3, h4, h5, h6, h7)
    }

    @inline(__always)
    private static func load(_ p: UnsafeRawPointer, _ i: Int) -> UInt32 {
        UInt32(bigEndian: p.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self))
    }

    @inline(__always)
    private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 {
        (x &>> n) | (x &<< (32 &- n))
    }

    /// One round. Instead of shifting a..h down by one each round, the caller passes the variables rotated; only
    /// the two that change (new e lands in `d`, new a lands in `h`) are `inout`.
    @inline(__always)
    private static func step(
        _ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: inout UInt32,
        _ e: UInt32, _ f: UInt32, _ g: UInt32, _ h: inout UInt32, _ kw: UInt32
    ) {
        let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
        let ch = g ^ (e & (f ^ g))
        let t1 = h &+ s1 &+ ch &+ kw
        let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
        let maj = (a & b) | (c & (a | b))
        d &+= t1
        h = t1 &+ s0 &+ maj
    }

    @inline(__always)
    private static func sigma0(_ x: UInt32) -> UInt32 { rotr(x, 7) ^ rotr(x, 18) ^ (x &>> 3) }

    @inline(__always)
    private static func sigma1(_ x: UInt32) -> UInt32 { rotr(x, 17) ^ rotr(x, 19) ^ (x &>> 10) }

    /// Advances the 16-word schedule window by 16 words: W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16].
    /// Updating in index order is exact, because each term refers to a slot that already holds the right word.
    @inline(__always)
    private static func expand(
        _ w0: inout UInt32, _ w1: inout UInt32, _ w2: inout UInt32, _ w3: inout UInt32,
        _ w4: inout UInt32, _ w5: inout UInt32, _ w6: inout UInt32, _ w7: inout UInt32,
        _ w8: inout UInt32, _ w9: inout UInt32, _ w10: inout UInt32, _ w11: inout UInt32,
        _ w12: inout UInt32, _ w13: inout UInt32, _ w14: inout UInt32, _ w15: inout UInt32
    ) {
        w0 &+= sigma1(w14) &+ w9 &+ sigma0(w1)
        w1 &+= sigma1(w15) &+ w10 &+ sigma0(w2)
        w2 &+= sigma1(w0) &+ w11 &+ sigma0(w3)
        w3 &+= sigma1(w1) &+ w12 &+ sigma0(w4)
        w4 &+= sigma1(w2) &+ w13 &+ sigma0(w5)
        w5 &+= sigma1(w3) &+ w14 &+ sigma0(w6)
        w6 &+= sigma1(w4) &+ w15 &+ sigma0(w7)
        w7 &+= sigma1(w5) &+ w0 &+ sigma0(w8)
        w8 &+= sigma1(w6) &+ w1 &+ sigma0(w9)
        w9 &+= sigma1(w7) &+ w2 &+ sigma0(w10)
        w10 &+= sigma1(w8) &+ w3 &+ sigma0(w11)
        w11 &+= sigma1(w9) &+ w4 &+ sigma0(w12)
        w12 &+= sigma1(w10) &+ w5 &+ sigma0(w13)
        w13 &+= sigma1(w11) &+ w6 &+ sigma0(w14)
        w14 &+= sigma1(w12) &+ w7 &+ sigma0(w15)
        w15 &+= sigma1(w13) &+ w8 &+ sigma0(w0)
    }
}
