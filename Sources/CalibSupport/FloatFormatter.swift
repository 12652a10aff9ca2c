/// Python's `repr(float(x))` written straight into bytes: the text every calib and Python-layout
/// file prints for a float32 (widened to double, as AIMET and Python print them).
///
/// The digits are the shortest that read back as the same double, the closest of them to the exact
/// value (ties to even), found with Schubfach (Raffaello Giulietti, "The Schubfach way to render
/// doubles", 2020, as laid out in Alexander Bolz's Drachennest): one 64×128-bit product per number
/// and no data-dependent branch, where `Double.description` plus a String costs several times more
/// and an export prints tens of millions of numbers.
///
/// Layout as Python's `float_repr_style = 'short'`: integral values below 1e16 as `123.0`; otherwise
/// `0.000123`, `12.5` while the decimal exponent is in -4...15, else `1.5e+20`, `1e-05` (a sign and at
/// least two exponent digits). `Double.description` agrees on every finite double in that range, which
/// is what `JSONValue.format` used before (the tests keep that algorithm as the reference).
///
/// A value type holding pointers to its tables, so that a loop over millions of numbers reads them
/// without the lazy-initialisation check a `static let` costs on every access.
public struct FloatFormatter: @unchecked Sendable {
    /// The longest text `write` produces: "-1.2345678901234567e-308".
    public static let maxLength = 24
    /// The bytes that must be writable at the destination of one `write`: digits are stored in
    /// 8-byte words, which may reach past the end of the text.
    public static let writeSpace = 40

    public static let shared = FloatFormatter()

    /// `Pow10Table`: (high, low) words per exponent.
    public let pow10: UnsafePointer<UInt64>
    /// 10^0 … 10^19.
    public let powersOf10: UnsafePointer<UInt64>
    /// "0000" … "9999" as four ASCII bytes (first digit lowest): 40 KB that turn eight digits into
    /// text with two multiplications, where arithmetic alone takes six.
    public let fourDigits: UnsafePointer<UInt32>

    private init() {
        pow10 = Pow10Table.make()
        let powers = UnsafeMutablePointer<UInt64>.allocate(capacity: 20)
        powers[0] = 1
        for i in 1..<20 { powers[i] = powers[i - 1] * 10 }
        powersOf10 = UnsafePointer(powers)
        let four = UnsafeMutablePointer<UInt32>.allocate(capacity: 10_000)
        for i in 0..<10_000 {
            let d = UInt32(i)
            four[i] = 0x3030_3030 | d / 1000 | (d / 100 % 10) << 8 | (d / 10 % 10) << 16 | (d % 10) << 24
        }
        fourDigits = UnsafePointer(four)
    }

    /// Writes the repr of a finite `d` at `p` (`writeSpace` bytes writable) and returns the number of
    /// bytes of text.
    @inline(__always)
    public func write(_ d: Double, to p: UnsafeMutablePointer<UInt8>) -> Int {
        let bits = d.bitPattern
        let sign = Int(truncatingIfNeeded: bits >> 63)
        p[0] = UInt8(ascii: "-")  // kept only when negative
        let fraction = bits & (1 << 52 - 1)
        let biased = Int(truncatingIfNeeded: (bits >> 52) & 0x7FF)
        let c: UInt64 = biased == 0 ? fraction : fraction | 1 << 52
        let q = biased == 0 ? -1074 : biased - 1075
        var digits: UInt64, exponent: Int
        let integer = q >= 0 ? (q < 11 ? c << UInt64(q) : UInt64.max) : c >> UInt64(truncatingIfNeeded: -q)
        if (q >= 0 || c == 0 || (q > -53 && c & (1 << UInt64(-q) - 1) == 0)) && integer < 10_000_000_000_000_000 {
            // Integral values below 1e16 (zero too) print all their digits and ".0" ("%.1f"), as Python does.
            (digits, exponent) = (integer, 0)
        } else {
            (digits, exponent) = shortest(c: c, q: q, fractionIsZero: fraction == 0, biased: biased)
            // Schubfach may return trailing zeros (at most 16 for a double's 17 digits).
            while digits % 10 == 0 {
                digits /= 10
                exponent &+= 1
            }
        }
        return sign &+ layOut(digits: digits, exponent: exponent, to: p + sign)
    }

    /// Writes `digits × 10^exponent` in Python's repr layout (`digits` without trailing zeros, or an
    /// integer below 1e16 with `exponent` 0).
    ///
    /// The digits are padded to 17 (`first` and two words of eight ASCII digits) and stored as whole
    /// words, the part after a decimal point shifted in registers: no byte loop, and no store read
    /// back (which would stall store-to-load forwarding).
    @inline(__always)
    public func layOut(digits: UInt64, exponent: Int, to p: UnsafeMutablePointer<UInt8>) -> Int {
        let count = decimalLength(digits)
        let x = count &+ exponent &- 1  // the scientific exponent
        let padded = digits &* powersOf10[17 &- count]
        let high = padded / 100_000_000
        let first = high / 100_000_000
        let d0 = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: first)
        let w1 = eightDigits(UInt32(truncatingIfNeeded: high &- first &* 100_000_000))
        let w2 = eightDigits(UInt32(truncatingIfNeeded: padded &- high &* 100_000_000))
        let out = UnsafeMutableRawPointer(p)
        if x < -4 || x >= 16 {
            // d.ddde±XX
            p[0] = d0
            var n = 1
            if count > 1 {
                p[1] = UInt8(ascii: ".")
                out.storeBytes(of: w1.littleEndian, toByteOffset: 2, as: UInt64.self)
                out.storeBytes(of: w2.littleEndian, toByteOffset: 10, as: UInt64.self)
                n = count &+ 1
            }
            p[n] = UInt8(ascii: "e")
            p[n &+ 1] = x < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+")
            let e = UInt32(truncatingIfNeeded: abs(x))
            if e >= 100 {
                p[n &+ 2] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: e / 100)
                n &+= 1
            }
            p[n &+ 2] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: e / 10 % 10)
            p[n &+ 3] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: e % 10)
            return n &+ 4
        }
        if x < 0 {
            // 0.000ddd: "0." and up to three zeros, then the digits.
            let at = 1 &- x
            out.storeBytes(of: Self.ascii("0.000000"), as: UInt64.self)
            p[at] = d0
            out.storeBytes(of: w1.littleEndian, toByteOffset: at &+ 1, as: UInt64.self)
            out.storeBytes(of: w2.littleEndian, toByteOffset: at &+ 9, as: UInt64.self)
            return at &+ count
        }
        p[0] = d0
        out.storeBytes(of: w1.littleEndian, toByteOffset: 1, as: UInt64.self)
        out.storeBytes(of: w2.littleEndian, toByteOffset: 9, as: UInt64.self)
        p[x &+ 1] = UInt8(ascii: ".")
        if x &+ 1 >= count {
            // An integer: its digits (the padding supplies the zeros up to the point), ".0".
            p[x &+ 2] = UInt8(ascii: "0")
            return x &+ 3
        }
        // ddd.ddd: the digits after the first x + 1, moved one byte on, past the point.
        let lo = UInt64(d0) | w1 << 8, mid = w1 >> 56 | w2 << 8, top = w2 >> 56  // digits 0-7, 8-15, 16
        let shift = 8 &* (x &+ 1)  // 8...128 bits
        let f0, f1: UInt64
        if shift < 64 {
            f0 = lo >> shift | mid << (64 &- shift)
            f1 = mid >> shift | top << (64 &- shift)
        } else {
            f0 = mid >> (shift &- 64) | top << (128 &- shift)
            f1 = top >> (shift &- 64)
        }
        out.storeBytes(of: f0.littleEndian, toByteOffset: x &+ 2, as: UInt64.self)
        out.storeBytes(of: f1.littleEndian, toByteOffset: x &+ 10, as: UInt64.self)
        return count &+ 1
    }

    /// Writes the decimal text of `v` at `p` (`writeSpace` bytes writable); returns its length (at most 20).
    @inline(__always)
    public func write(_ v: Int, to p: UnsafeMutablePointer<UInt8>) -> Int {
        let sign = v < 0 ? 1 : 0
        p[0] = UInt8(ascii: "-")  // kept only when negative
        let m = UInt64(v.magnitude)
        let count = decimalLength(m)
        let out = UnsafeMutableRawPointer(p + sign)
        // Eight digits shifted right so that the first significant one comes first.
        func leading(_ n: UInt64, _ digits: Int) -> UInt64 {
            (eightDigits(UInt32(truncatingIfNeeded: n)) >> UInt64(8 &* (8 &- digits))).littleEndian
        }
        if m < 10_000 {
            // Offsets and zero points: four digits from the table, shifted like `leading`.
            let text = UInt32(fourDigits[Int(truncatingIfNeeded: m)]) >> UInt32(8 &* (4 &- count))
            out.storeBytes(of: text.littleEndian, as: UInt32.self)
            return sign &+ count
        }
        if m < 100_000_000 {
            out.storeBytes(of: leading(m, count), as: UInt64.self)
            return sign &+ count
        }
        let high = m / 100_000_000
        let low = eightDigits(UInt32(truncatingIfNeeded: m &- high &* 100_000_000)).littleEndian
        if high < 100_000_000 {
            out.storeBytes(of: leading(high, count &- 8), as: UInt64.self)
            out.storeBytes(of: low, toByteOffset: count &- 8, as: UInt64.self)
        } else {
            let top = high / 100_000_000  // at most 1844
            let middle = eightDigits(UInt32(truncatingIfNeeded: high &- top &* 100_000_000)).littleEndian
            out.storeBytes(of: leading(top, count &- 16), as: UInt64.self)
            out.storeBytes(of: middle, toByteOffset: count &- 16, as: UInt64.self)
            out.storeBytes(of: low, toByteOffset: count &- 8, as: UInt64.self)
        }
        return sign &+ count
    }

    /// The eight decimal digits of `n` < 10^8 as ASCII, the first digit in the lowest byte (so a
    /// little-endian store writes them in order).
    @inline(__always)
    public func eightDigits(_ n: UInt32) -> UInt64 {
        let high = n / 10_000
        return UInt64(fourDigits[Int(truncatingIfNeeded: high)]) | UInt64(
            fourDigits[Int(truncatingIfNeeded: n &- high &* 10_000)]) << 32
    }

    /// Eight bytes of text as the word a little-endian load gives.
    @inline(__always)
    public static func ascii(_ text: StaticString) -> UInt64 {
        UnsafeRawPointer(text.utf8Start).loadUnaligned(as: UInt64.self)
    }

    /// The shortest decimal `digits × 10^exponent` in the rounding interval of the double `c × 2^q`
    /// (`c` its significand with the hidden bit), the closest one when several are that short.
    ///
    /// Written without branches (`bit`, masks): which candidate wins depends on the digits, so a
    /// branch would be mispredicted about every other number and cost more than the arithmetic.
    @inline(__always)
    public func shortest(c: UInt64, q: Int, fractionIsZero: Bool, biased: Int) -> (UInt64, Int) {
        let odd = c & 1
        // At a power of two the interval below is half as wide as the one above.
        let closer = bit(fractionIsZero && biased > 1)
        // k = floor(log10(2^q)), or floor(log10(3/4 · 2^q)) when the lower boundary is closer.
        let k = (q &* 1_262_611 &- Int(truncatingIfNeeded: closer) &* 524_031) >> 22
        let h = UInt64(truncatingIfNeeded: q &+ Self.floorLog2Pow10(-k) &+ 1)  // 1...4
        let index = (-k &- Pow10Table.minExponent) &* 2
        let gHi = pow10[index], gLo = pow10[index &+ 1]
        // The value and the interval's ends, 4c and 4c ± 2 (4c - 1 when closer), scaled by g: one
        // 64×128-bit product P = g · (4c << h), the ends P ± g · (2 << h) (g · (1 << h)) by shifts and
        // adds, exactly the products of the ends themselves.
        let cp = (4 &* c) &<< h
        let x = gLo.multipliedFullWidth(by: cp)
        let y = gHi.multipliedFullWidth(by: cp)
        let p0 = x.low
        let (p1, carry) = y.low.addingReportingOverflow(x.high)
        let p2 = y.high &+ bit(carry)
        let up = h &+ 1, down = h &+ 1 &- closer  // 2...5
        let u2 = gHi &>> (64 &- up), u1 = gHi &<< up | gLo &>> (64 &- up), u0 = gLo &<< up
        let l2 = gHi &>> (64 &- down), l1 = gHi &<< down | gLo &>> (64 &- down), l0 = gLo &<< down
        let (_, cr0) = p0.addingReportingOverflow(u0)
        let (r1a, cr1a) = p1.addingReportingOverflow(u1)
        let (r1, cr1b) = r1a.addingReportingOverflow(bit(cr0))
        let r2 = p2 &+ u2 &+ bit(cr1a) &+ bit(cr1b)
        let (_, bw0) = p0.subtractingReportingOverflow(l0)
        let (s1a, bw1a) = p1.subtractingReportingOverflow(l1)
        let (s1, bw1b) = s1a.subtractingReportingOverflow(bit(bw0))
        let s2 = p2 &- l2 &- bit(bw1a) &- bit(bw1b)
        // Rounded to odd: the high word, its lowest bit set when the middle one exceeds 1 (the low
        // word does not matter, as g is rounded up), which keeps every comparison below exact.
        let vb = p2 | bit(p1 > 1)
        let vbr = r2 | bit(r1 > 1)
        let vbl = s2 | bit(s1 > 1)
        // The interval's ends belong to it when c is even.
        let lower = vbl &+ odd
        let upper = vbr &- odd
        let s = vb >> 2
        // One digit fewer (k + 1): at most one of its two candidates lies inside.
        let sp = s / 10
        let upInside = bit(lower <= 40 &* sp)
        let wpInside = bit(40 &* sp &+ 40 <= upper)
        let short = bit(s >= 10) & (upInside ^ wpInside)
        // Otherwise one of the two neighbours at k when only one is inside, else the nearer (ties to even).
        let uInside = bit(lower <= 4 &* s)
        let wInside = bit(4 &* s &+ 4 <= upper)
        let mid = 4 &* s &+ 2
        let roundUp = bit(vb > mid) | (bit(vb == mid) & s & 1)
        let one = uInside ^ wInside
        let long = s &+ (wInside & (0 &- one) | roundUp & (one &- 1))
        let digits = (sp &+ wpInside) & (0 &- short) | long & (short &- 1)
        return (digits, k &+ Int(truncatingIfNeeded: short))
    }

    /// floor(log2(10^e)) for |e| <= 1233.
    @inline(__always)
    public static func floorLog2Pow10(_ e: Int) -> Int { (e &* 1_741_647) >> 19 }

    /// The number of decimal digits of `v` (1 for 0).
    @inline(__always)
    public func decimalLength(_ v: UInt64) -> Int {
        // bits · log10(2) under-estimates by at most one digit; one comparison corrects it.
        let bits = 64 &- (v | 1).leadingZeroBitCount
        let guess = (bits &* 1233) >> 12
        return guess &+ Int(truncatingIfNeeded: bit(v | 1 >= powersOf10[guess]))
    }
}

/// 1 or 0, without the branch a `b ? 1 : 0` compiles to.
@inline(__always)
private func bit(_ b: Bool) -> UInt64 { UInt64(unsafeBitCast(b, to: UInt8.self)) }

/// The 128-bit powers of ten Schubfach multiplies by: for each k in `minExponent...maxExponent`,
/// `g = ceil(10^k · 2^(127 - floor(log2(10^k))))`, so 2^127 <= g < 2^128, stored high word first.
///
/// Computed once, on first use, with a small exact integer type rather than committed as a table
/// (about a millisecond): nothing to regenerate, nor 1,238 hex words to review.
public enum Pow10Table {
    public static let minExponent = -292
    public static let maxExponent = 326

    /// The whole table, allocated once for the process (`FloatFormatter.shared`).
    public static func make() -> UnsafePointer<UInt64> {
        let count = maxExponent - minExponent + 1
        let table = UnsafeMutablePointer<UInt64>.allocate(capacity: 2 * count)
        var power = BigUInt(1)  // 10^k for k >= 0, one multiplication per entry
        for k in minExponent...maxExponent {
            let g = value(k, power: k >= 0 ? power : nil)
            if k >= 0 { power.multiply(by: 10) }
            table[2 * (k - minExponent)] = g.high
            table[2 * (k - minExponent) + 1] = g.low
        }
        return UnsafePointer(table)
    }

    /// g for one exponent, from exact arithmetic on 32-bit limbs (`power`: 10^k when k >= 0, if known).
    public static func value(_ k: Int, power: BigUInt? = nil) -> (high: UInt64, low: UInt64) {
        let e = FloatFormatter.floorLog2Pow10(k)
        var n: BigUInt
        var shift: Int  // g = ceil(n / 2^shift) when shift > 0, n << -shift otherwise
        if k >= 0 {
            n = power ?? (0..<k).reduce(into: BigUInt(1)) { n, _ in n.multiply(by: 10) }
            shift = e - 127
        } else {
            // 2^(127 - e) / 10^-k, never exact (5 does not divide a power of two): floor + 1.
            n = BigUInt(1)
            n.shiftLeft(127 - e)
            var m = -k
            while m > 0 {
                let step = min(m, 9)
                n.divide(by: (0..<step).reduce(UInt32(1)) { r, _ in r * 10 })
                m -= step
            }
            n.add(1)
            shift = 0
        }
        if shift > 0 {
            let inexact = n.hasBits(below: shift)
            n.shiftRight(shift)
            if inexact { n.add(1) }
        } else if shift < 0 {
            n.shiftLeft(-shift)
        }
        return (n.word64(1), n.word64(0))
    }
}

/// Just enough of an unsigned big integer for `Pow10Table`: little-endian 32-bit limbs.
public struct BigUInt {
    public var limbs: [UInt32]

    public init(_ v: UInt32) { limbs = [v] }

    public mutating func multiply(by m: UInt32) {
        var carry: UInt64 = 0
        for i in limbs.indices {
            let p = UInt64(limbs[i]) * UInt64(m) + carry
            limbs[i] = UInt32(truncatingIfNeeded: p)
            carry = p >> 32
        }
        if carry != 0 { limbs.append(UInt32(carry)) }
    }

    public mutating func divide(by d: UInt32) {
        var remainder: UInt64 = 0
        for i in limbs.indices.reversed() {
            let cur = remainder << 32 | UInt64(limbs[i])
            limbs[i] = UInt32(cur / UInt64(d))
            remainder = cur % UInt64(d)
        }
        while limbs.count > 1, limbs.last == 0 { limbs.removeLast() }
    }

    public mutating func add(_ v: UInt32) {
        var carry = UInt64(v)
        for i in limbs.indices where carry != 0 {
            let s = UInt64(limbs[i]) + carry
            limbs[i] = UInt32(truncatingIfNeeded: s)
            carry = s >> 32
        }
        if carry != 0 { limbs.append(UInt32(carry)) }
    }

    public mutating func shiftLeft(_ bits: Int) {
        let words = bits / 32, rest = bits % 32
        if rest > 0 {
            var carry: UInt32 = 0
            for i in limbs.indices {
                let v = limbs[i]
                limbs[i] = v << UInt32(rest) | carry
                carry = v >> UInt32(32 - rest)
            }
            if carry != 0 { limbs.append(carry) }
        }
        limbs.insert(contentsOf: repeatElement(0, count: words), at: 0)
    }

    public mutating func shiftRight(_ bits: Int) {
        let words = bits / 32, rest = bits % 32
        limbs.removeFirst(min(words, limbs.count))
        if limbs.isEmpty { limbs = [0] }
        if rest > 0 {
            for i in limbs.indices {
                let next = i + 1 < limbs.count ? limbs[i + 1] : 0
                limbs[i] = limbs[i] >> UInt32(rest) | next << UInt32(32 - rest)
            }
        }
        while limbs.count > 1, limbs.last == 0 { limbs.removeLast() }
    }

    /// Whether any of the lowest `bits` bits is set.
    public func hasBits(below bits: Int) -> Bool {
        for i in 0..<min(bits / 32, limbs.count) where limbs[i] != 0 { return true }
        let rest = bits % 32
        return rest > 0 && bits / 32 < limbs.count && limbs[bits / 32] & (1 << UInt32(rest) - 1) != 0
    }

    /// The `i`-th 64-bit word (0 = lowest).
    public func word64(_ i: Int) -> UInt64 {
        let lo = 2 * i < limbs.count ? UInt64(limbs[2 * i]) : 0
        let hi = 2 * i + 1 < limbs.count ? UInt64(limbs[2 * i + 1]) : 0
        return hi << 32 | lo
    }
}
