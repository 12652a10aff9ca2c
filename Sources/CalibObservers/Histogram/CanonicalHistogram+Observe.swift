import CKernels
import CalibModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The dense counting table batches are counted into before they are folded into a
/// `CanonicalHistogram`: one counter per bin of the grid (4 MiB at 11 mantissa bits), allocated once
/// and reused, so counting a value is a shift and an increment with no allocation per batch. The
/// table and the drain buffers are mapped lazily (calloc, untouched malloc), so only the pages of
/// bins that data reaches become resident. Not thread-safe: one per thread.
public final class CanonicalCounter {
    public let mantissaBits: Int
    /// `CK_ISA_BEST`, or `CK_ISA_PORTABLE` (tests compare the two).
    let isa: Int32
    private let table: UnsafeMutablePointer<UInt32>
    private let bins: UnsafeMutablePointer<UInt32>
    private let counts: UnsafeMutablePointer<UInt64>

    public init(mantissaBits: Int = CanonicalHistogram.defaultMantissaBits, portable: Bool = false) {
        precondition((1...16).contains(mantissaBits))
        self.mantissaBits = mantissaBits
        isa = Int32(portable ? CK_ISA_PORTABLE : CK_ISA_BEST)
        let n = 1 << (9 + mantissaBits)
        table = calloc(n, 4)!.bindMemory(to: UInt32.self, capacity: n)
        bins = malloc(n * 4)!.bindMemory(to: UInt32.self, capacity: n)
        counts = malloc(n * 8)!.bindMemory(to: UInt64.self, capacity: n)
    }

    deinit {
        free(table)
        free(bins)
        free(counts)
    }

    /// Values counted into the table since the last drain, and the magnitude bins they touched.
    private var pending = 0
    private var lo = UInt32.max
    private var hi: UInt32 = 0

    /// Folds `count` little-endian float32 values at `data` (any alignment) into `histogram`. The
    /// order of the values does not matter, so any memory layout is read as it lies. Non-finite
    /// values are not counted.
    public func observe(float32 data: UnsafeRawPointer, count: Int, into histogram: inout CanonicalHistogram) {
        accumulate(float32: data, count: count, into: &histogram)
        flush(into: &histogram)
    }

    /// Counts values into the table without moving them to `histogram` yet (a tensor read piece by
    /// piece is drained once, at its end, not once per piece): `flush` before counting another
    /// tensor's values. Drains by itself only when the 32-bit counters could overflow.
    public func accumulate(float32 data: UnsafeRawPointer, count: Int, into histogram: inout CanonicalHistogram) {
        precondition(histogram.mantissaBits == mantissaBits, "a counter of another grid")
        let shift = UInt32(23 - mantissaBits)
        var done = 0
        while done < count {
            if pending == Int(CK_HIST_MAX_RUN) { flush(into: &histogram) }
            let n = min(count - done, Int(CK_HIST_MAX_RUN) - pending)
            ck_hist_count_f32(isa, data + 4 * done, n, shift, table, &lo, &hi)
            done += n
            pending += n
        }
    }

    /// Moves what the table holds into `histogram`, leaving the table empty.
    public func flush(into histogram: inout CanonicalHistogram) {
        guard pending > 0 else { return }
        drain(lo: lo, hi: hi, into: &histogram)
        pending = 0
        lo = .max
        hi = 0
    }

    /// `observe` for float32 values in memory.
    public func observe(_ values: UnsafeBufferPointer<Float>, into histogram: inout CanonicalHistogram) {
        guard let base = values.baseAddress else { return }
        observe(float32: UnsafeRawPointer(base), count: values.count, into: &histogram)
    }

    /// Moves the counted bins into `histogram`: zeros, then magnitude bins `lo...hi` of each sign
    /// (what the kernel saw), clearing the table behind.
    private func drain(lo: UInt32, hi: UInt32, into histogram: inout CanonicalHistogram) {
        let m = UInt32(mantissaBits)
        let sign = UInt32(1) << (8 + m)
        let infinite = UInt32(0xFF) << m
        let top = Swift.min(hi, infinite - 1)
        var k = 0
        func take(_ from: UInt32, _ to: UInt32) {
            guard from < to else { return }
            k += ck_hist_drain(table, from, to, bins + k, counts + k)
        }
        let start = Swift.max(lo, 1)
        take(0, 1)
        take(start, top + 1)
        take(sign, sign + 1)
        take(sign | start, (sign | top) + 1)
        if hi >= infinite {
            // NaN/Inf counters (exponent 255 of both signs) are cleared, never kept.
            (table + Int(infinite)).update(repeating: 0, count: 1 << mantissaBits)
            (table + Int(sign | infinite)).update(repeating: 0, count: 1 << mantissaBits)
        }
        histogram.merge(bins: UnsafeBufferPointer(start: bins, count: k), counts: UnsafeBufferPointer(start: counts, count: k))
    }
}
