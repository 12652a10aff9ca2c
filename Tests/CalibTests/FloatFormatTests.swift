import CalibTestSupport
import Foundation
import Testing

@testable import CalibKit
@testable import CalibReaders
@testable import CalibSupport

/// `FloatFormatter` (Schubfach into bytes) against the algorithm `JSONValue.format` used before it:
/// `Double.description` (shortest round-trip digits) with Python's `%.1f` integers and exponent form.
@Suite struct FloatFormatTests {
    /// The old `JSONValue.format`, kept as the reference.
    static func reference(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        if d == d.rounded(), abs(d) < 1e16 { return String(format: "%.1f", d) }
        var s = d.description
        if let e = s.firstIndex(of: "e") {
            let mantissa = s[..<e], exponent = s[s.index(after: e)...]
            let sign = exponent.first == "-" ? "-" : "+"
            let digits = exponent.drop { $0 == "-" || $0 == "+" }
            s = mantissa + "e" + sign + (digits.count < 2 ? "0" + digits : String(digits))
        }
        return s
    }

    static func formatted(_ d: Double) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: FloatFormatter.writeSpace) { buffer in
            let n = FloatFormatter.shared.write(d, to: buffer.baseAddress!)
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[..<n]), as: UTF8.self)
        }
    }

    /// Every mismatch as "bits: got ≠ expected" (the first few), checked on all cores.
    static func mismatches(_ values: [Float]) -> [String] {
        let parts = 8
        let lock = NSLock()
        nonisolated(unsafe) var found: [String] = []
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            var local: [String] = []
            let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: FloatFormatter.writeSpace)
            defer { buffer.deallocate() }
            let formatter = FloatFormatter.shared
            for i in stride(from: part, to: values.count, by: parts) where values[i].isFinite {
                let d = Double(values[i])
                let n = formatter.write(d, to: buffer)
                let want = reference(d)
                if !want.utf8.elementsEqual(UnsafeBufferPointer(start: buffer, count: n)), local.count < 10 {
                    local.append("0x\(String(values[i].bitPattern, radix: 16)): \(formatted(d)) ≠ \(want)")
                }
            }
            lock.withLock { found += local }
        }
        return Array(found.prefix(10))
    }

    /// `f` and its `n` neighbours on each side.
    static func around(_ f: Float, _ n: Int = 64) -> [Float] {
        var values = [f]
        var up = f, down = f
        for _ in 0..<n {
            up = up.nextUp
            down = down.nextDown
            values += [up, down]
        }
        return values + values.map { -$0 }
    }

    @Test func examples() {
        let cases: [(Float, String)] = [
            (0, "0.0"), (-0.0, "-0.0"), (1, "1.0"), (-5, "-5.0"), (0.5, "0.5"), (0.1, "0.10000000149011612"),
            (1e-5, "9.999999747378752e-06"), (0.0001, "9.999999747378752e-05"), (0.00012207031, "0.0001220703125"),
            (0x1p-23, "1.1920928955078125e-07"), (3e38, "3.0000000054977558e+38"), (1e16, "1.0000000272564224e+16"),
            (1e15, "999999986991104.0"), (.leastNonzeroMagnitude, "1.401298464324817e-45"),
            (.greatestFiniteMagnitude, "3.4028234663852886e+38"), (123.456, "123.45600128173828"),
            (0x1p60, "1.152921504606847e+18"), (16_777_216, "16777216.0"),
        ]
        for (f, text) in cases {
            #expect(JSONValue.format(f) == text, "\(f)")
            #expect(Self.reference(Double(f)) == text, "reference \(f)")
        }
        #expect(JSONValue.format(.nan) == "null")
        #expect(JSONValue.format(-.infinity) == "null")
        #expect(
            JSONValue.array([.float(.nan), .float(-.infinity), .float(.infinity)]).pythonJSON(indent: nil)
                == "[NaN, -Infinity, Infinity]")
    }

    @Test func specialClasses() {
        var values: [Float] = [
            0, -0.0, .leastNonzeroMagnitude, Float(bitPattern: 0x007F_FFFF), .leastNormalMagnitude, .greatestFiniteMagnitude,
            0.1, 0.3, 1.0 / 3, 2.0 / 3, 0.2, 0.7, 1e-4, 1e-5, 1e16, 9.999999e15, 1.0000001e16,
        ]
        values += values.map { -$0 }
        // Powers of two over the whole float32 range, subnormals included, with their neighbours.
        for e in -149...127 { values += Self.around(Float(sign: .plus, exponent: e, significand: 1), 2) }
        // Powers of ten, as float32 rounds them.
        for e in -45...38 { values += Self.around(Float("1e\(e)")!, 4) }
        // Integers around 1e15...1e17, where "%.1f" gives way to the exponent form at 1e16.
        for base: Float in [1e15, 2.5e15, 9.007199e15, 1e16, 1.6777216e16, 1e17] { values += Self.around(base, 2000) }
        // Around the switch to the exponent form below 1e-4, and small values that are not integers.
        for base: Float in [1e-4, 1e-5, 1.00001e-4, 0.5, 1.5, 8388607.5, 4194303.75] { values += Self.around(base, 2000) }
        #expect(Self.mismatches(values) == [])
    }

    @Test func randomBitPatterns() {
        // Every exponent is equally likely: the bits are uniform.
        // The reference costs about 3 µs a number unoptimised (String(format:), Substring fix-ups):
        // a debug build checks 300,000 patterns in a second or so, a release build 4,000,000.
        #if DEBUG
        let count = 300_000
        #else
        let count = 4_000_000
        #endif
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var values = [Float]()
        values.reserveCapacity(count)
        var nonFinite = 0
        for _ in 0..<count {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            let f = Float(bitPattern: UInt32(truncatingIfNeeded: state >> 16))
            if f.isFinite { values.append(f) } else { nonFinite += 1 }
        }
        #expect(nonFinite > count / 1000)  // the exponent 0xFF occurs as often as any other (1 in 256)
        #expect(Self.mismatches(values) == [])
    }

    /// Doubles beyond float32's range (calib writes only float32 values, but the digits are the
    /// double's): random bit patterns, and the extremes.
    @Test func doubles() {
        var state: UInt64 = 0x1234_5678_9ABC_DEF1
        var failures: [String] = []
        var values: [Double] = [
            .leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude, 1e23, 0x1p53 - 1, 0x1p54, 1e16, 1e16 - 2,
            0x1p53 + 2,
        ]
        for _ in 0..<50_000 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            values.append(Double(bitPattern: state))
        }
        for d in values where d.isFinite {
            let got = Self.formatted(d), want = Self.reference(d)
            if got != want, failures.count < 10 { failures.append("0x\(String(d.bitPattern, radix: 16)): \(got) ≠ \(want)") }
        }
        #expect(failures == [])
    }

    /// The computed table against the first entry Dragonbox and Schubfach publish, Python's exact
    /// integers, and its invariant.
    @Test func powersOfTen() {
        #expect(Pow10Table.value(-292) == (0xFF77_B1FC_BEBC_DC4F, 0x25E8_E89C_13BB_0F7B))
        #expect(Pow10Table.value(0) == (0x8000_0000_0000_0000, 0))
        #expect(Pow10Table.value(1) == (0xA000_0000_0000_0000, 0))
        #expect(Pow10Table.value(-1) == (0xCCCC_CCCC_CCCC_CCCC, 0xCCCC_CCCC_CCCC_CCCD))
        // From Python's exact integers: ceil(10^k * 2^(127 - floor(log2 10^k))).
        #expect(Pow10Table.value(326) == (0xF708_6715_3AA2_DB38, 0xB8CB_EE4F_C66D_1EA8))
        #expect(Pow10Table.value(100) == (0x924D_692C_A61B_E758, 0x593C_2626_705F_9C57))
        #expect(Pow10Table.value(-100) == (0xDFF9_7724_7029_7EBD, 0x5978_7E2B_93BC_56F8))
        for k in Pow10Table.minExponent...Pow10Table.maxExponent {
            #expect(Pow10Table.value(k).high >> 63 == 1, "10^\(k) not normalised")
        }
    }

    @Test func integers() {
        var values = [0, 1, -1, 9, 10, 99, 100, -128, 255, Int.max, Int.min, 1_000_000_000_000_000_000, 999_999_999_999_999_999]
        var state: UInt64 = 42
        for _ in 0..<10_000 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            values.append(Int(truncatingIfNeeded: state) >> Int(state % 63))
        }
        for v in values {
            #expect(JSONValue.int(v).rendered() == String(v))
        }
    }
}

/// Timestamps are ISO-8601 UTC with milliseconds, zero-padded, as stored since schema 1.
@Suite struct TimestampTests {
    @Test func formatsAsISO8601UTCWithMilliseconds() {
        #expect(Timestamp.format(seconds: 0, milliseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.format(seconds: 1_796_283_412, milliseconds: 58) == "2026-12-03T07:36:52.058Z")
        #expect(Timestamp.format(seconds: 951_782_400, milliseconds: 999) == "2000-02-29T00:00:00.999Z")
        let now = Timestamp.now()
        let reference = ISO8601DateFormatter()
        reference.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let parsed = reference.date(from: now)
        #expect(parsed != nil && abs(parsed!.timeIntervalSinceNow) < 5, "\(now)")
    }
}

/// Issue 12, item 5: tables fit the terminal by leaving out their optional columns, first listed
/// first, and only as many as needed.
@Suite struct ReportTableFitTests {
    @Test func optionalColumnsAreLeftOutUntilTheTableFits() {
        var table = ReportTable(["NAME", "ROLE", "SHAPE", "SCALE"], numeric: [3])
        table.optional = [1, 2]
        table.append(["encoder.output", "activation", "4x16x384", "0.00677466..0.0333984"])
        #expect(table.width == 14 + 2 + 10 + 2 + 8 + 2 + 21)
        let wide = table.fitted(to: 200)
        #expect(wide.hidden.isEmpty && wide.table.columns.count == 4)
        let narrower = table.fitted(to: table.width - 1)
        #expect(
            narrower.hidden == ["ROLE"]
                && narrower.table.rows[0].map(\.text) == ["encoder.output", "4x16x384", "0.00677466..0.0333984"])
        let narrowest = table.fitted(to: 10)
        #expect(narrowest.hidden == ["ROLE", "SHAPE"] && narrowest.table.columns.map(\.title) == ["NAME", "SCALE"])
        #expect(narrowest.table.columns[1].numeric)
    }
}
