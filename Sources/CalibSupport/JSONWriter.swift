/// A growable byte buffer written through raw pointers: exports print tens of millions of numbers,
/// and `[UInt8].append` checks uniqueness and capacity on every byte.
public final class ByteBuffer: @unchecked Sendable {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int
    public var count = 0

    public init(capacity: Int = 4096) {
        self.capacity = max(capacity, 16)
        base = UnsafeMutablePointer<UInt8>.allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// Room for `n` more bytes; returns where the next byte goes. Advance `count` after writing.
    @inline(__always)
    public func reserve(_ n: Int) -> UnsafeMutablePointer<UInt8> {
        if count &+ n > capacity { grow(count + n) }
        return base + count
    }

    private func grow(_ needed: Int) {
        let newCapacity = max(needed, capacity * 2)
        let new = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        new.update(from: base, count: count)
        base.deallocate()
        base = new
        capacity = newCapacity
    }

    @inline(__always)
    public func append(_ byte: UInt8) {
        reserve(1).pointee = byte
        count &+= 1
    }

    public func append(_ text: StaticString) {
        let n = text.utf8CodeUnitCount
        reserve(n).update(from: text.utf8Start, count: n)
        count += n
    }

    public func append(repeating byte: UInt8, count n: Int) {
        guard n > 0 else { return }
        reserve(n).update(repeating: byte, count: n)
        count += n
    }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    public var string: String { String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self) }
}

/// The one JSON writer: `JSONValue.rendered` (calib's layout), `pythonJSON` (what Python's
/// `json.dumps` writes, for the files AIMET and ONNX Runtime read) and the streaming export all go
/// through it, so numbers and strings are formatted in one place.
public struct JSONWriter {
    public struct Style: Sendable {
        /// Spaces per nesting level; nil puts the whole document on one line.
        var indent: Int?
        var itemSeparator: StaticString
        var keySeparator: StaticString
        /// Arrays holding only numbers, booleans and nulls on one line, `[a, b, c]` (calib's layout,
        /// where per-channel arrays have thousands of elements).
        var inlineScalarArrays: Bool
        /// Python's `ensure_ascii`: every character outside space...`~` as `\uXXXX`.
        var ensureASCII: Bool
        /// Python's `NaN`, `Infinity`, `-Infinity` for non-finite floats, instead of `null`.
        var pythonNonFinite: Bool

        /// calib's layout: `indent` spaces per level, 0 for compact (`{"a":1,"b":[0.5,null]}`).
        public static func calib(indent: Int) -> Style {
            Style(
                indent: indent > 0 ? indent : nil, itemSeparator: ",", keySeparator: indent > 0 ? ": " : ":",
                inlineScalarArrays: true, ensureASCII: false, pythonNonFinite: false)
        }

        /// `json.dumps(obj, indent=indent)`: nil is one line with `", "` and `": "`.
        static func python(indent: Int?) -> Style {
            Style(
                indent: indent, itemSeparator: indent == nil ? ", " : ",", keySeparator: ": ",
                inlineScalarArrays: false, ensureASCII: true, pythonNonFinite: true)
        }

        /// Between the elements of a one-line array.
        var inlineSeparator: StaticString { indent == nil ? itemSeparator : ", " }
    }

    public let style: Style
    public let out: ByteBuffer
    public let numbers = FloatFormatter.shared

    public init(style: Style, into out: ByteBuffer = ByteBuffer()) {
        self.style = style
        self.out = out
    }

    /// `v` as a whole document in `style`, without a trailing newline.
    public static func text(_ v: JSONValue, style: Style) -> String {
        let writer = JSONWriter(style: style)
        writer.value(v, level: 0)
        return writer.out.string
    }

    // MARK: Values

    public func value(_ v: JSONValue, level: Int) {
        switch v {
        case .null: out.append("null")
        case .bool(let b): out.append(b ? "true" : "false")
        case .int(let i): int(i)
        case .float(let f): float(f)
        case .shortFloat(let f): for byte in JSONValue.shortFormat(f).utf8 { out.append(byte) }
        case .string(let s): string(s)
        case .array(let items):
            let inline = style.inlineScalarArrays && items.allSatisfy(\.isScalar)
            container(count: items.count, open: UInt8(ascii: "["), close: UInt8(ascii: "]"), level: level, inline: inline) { i in
                value(items[i], level: level + 1)
            }
        case .object(let members):
            object(count: members.count, level: level) { i in
                key(members[i].0)
                value(members[i].1, level: level + 1)
            }
        }
    }

    /// An object of `count` members at nesting `level`; `member(i)` writes the key and the value.
    public func object(count: Int, level: Int, _ member: (Int) -> Void) {
        container(count: count, open: UInt8(ascii: "{"), close: UInt8(ascii: "}"), level: level, inline: false, member)
    }

    func container(count: Int, open: UInt8, close: UInt8, level: Int, inline: Bool, _ item: (Int) -> Void) {
        out.append(open)
        if count == 0 {
            out.append(close)
            return
        }
        for i in 0..<count {
            beforeItem(i, level: level, inline: inline)
            item(i)
        }
        if !inline { newline(level: level) }
        out.append(close)
    }

    /// The separator and line break before item `i` of a container at `level`.
    @inline(__always)
    public func beforeItem(_ i: Int, level: Int, inline: Bool) {
        if inline {
            if i > 0 { out.append(style.inlineSeparator) }
            return
        }
        if i > 0 { out.append(style.itemSeparator) }
        newline(level: level + 1)
    }

    public func newline(level: Int) {
        guard let indent = style.indent else { return }
        out.append(UInt8(ascii: "\n"))
        out.append(repeating: UInt8(ascii: " "), count: indent * level)
    }

    public func key(_ s: String) {
        string(s)
        out.append(style.keySeparator)
    }

    // MARK: Numbers

    @inline(__always)
    public func float(_ f: Float) {
        out.count &+= writeFloat(f, to: out.reserve(FloatFormatter.writeSpace))
    }

    @inline(__always)
    public func int(_ i: Int) {
        out.count &+= numbers.write(i, to: out.reserve(FloatFormatter.writeSpace))
    }

    @inline(__always)
    private func writeFloat(_ f: Float, to p: UnsafeMutablePointer<UInt8>) -> Int {
        _fastPath(f.isFinite) ? numbers.write(Double(f), to: p) : writeNonFinite(f, to: p)
    }

    @inline(never)
    private func writeNonFinite(_ f: Float, to p: UnsafeMutablePointer<UInt8>) -> Int {
        let text: StaticString = !style.pythonNonFinite ? "null" : f.isNaN ? "NaN" : f < 0 ? "-Infinity" : "Infinity"
        p.update(from: text.utf8Start, count: text.utf8CodeUnitCount)
        return text.utf8CodeUnitCount
    }

    /// A one-line array of floats (a per-channel array), without a `JSONValue` per element.
    ///
    /// This loop and `intArray`'s print nearly every byte of a large export: they are written out
    /// rather than shared through a closure, which the optimiser leaves as a call per element.
    public func floatArray(_ values: [Float]) {
        values.withUnsafeBufferPointer { v in
            let (start, separator) = openArray(count: v.count, width: FloatFormatter.maxLength)
            var p = start + 1
            for i in 0..<v.count {
                if i > 0 { p += separator.write(to: p) }
                p += writeFloat(v[i], to: p)
            }
            closeArray(start, p)
        }
    }

    /// A one-line array of integers, or of their negations.
    public func intArray(_ values: [Int], negated: Bool = false) {
        values.withUnsafeBufferPointer { v in
            let (start, separator) = openArray(count: v.count, width: 20)
            var p = start + 1
            for i in 0..<v.count {
                if i > 0 { p += separator.write(to: p) }
                p += numbers.write(negated ? -v[i] : v[i], to: p)
            }
            closeArray(start, p)
        }
    }

    /// Between the elements of a one-line array: one or two bytes, stored as two.
    public struct Separator {
        let bytes: UInt16
        let count: Int

        @inline(__always)
        func write(to p: UnsafeMutablePointer<UInt8>) -> Int {
            UnsafeMutableRawPointer(p).storeBytes(of: bytes.littleEndian, as: UInt16.self)
            return count
        }
    }

    /// Reserves room for `count` elements of at most `width` bytes and writes "[".
    @inline(__always)
    private func openArray(count: Int, width: Int) -> (UnsafeMutablePointer<UInt8>, Separator) {
        let sep = style.inlineSeparator
        let n = sep.utf8CodeUnitCount
        let start = out.reserve(2 &+ count &* (width &+ n) &+ FloatFormatter.writeSpace)
        start[0] = UInt8(ascii: "[")
        return (start, Separator(bytes: UInt16(sep.utf8Start[0]) | UInt16(n > 1 ? sep.utf8Start[1] : 0) << 8, count: n))
    }

    @inline(__always)
    private func closeArray(_ start: UnsafeMutablePointer<UInt8>, _ end: UnsafeMutablePointer<UInt8>) {
        end[0] = UInt8(ascii: "]")
        out.count &+= end + 1 - start
    }

    // MARK: Strings

    public func string(_ s: String) {
        out.append(UInt8(ascii: "\""))
        if style.ensureASCII {
            for scalar in s.unicodeScalars {
                let v = scalar.value
                switch v {
                case 0x20...0x7E where v != 0x22 && v != 0x5C: out.append(UInt8(v))
                case 0x10000...:
                    hex4(0xD800 + ((v - 0x10000) >> 10))
                    hex4(0xDC00 + ((v - 0x10000) & 0x3FF))
                default: escape(v)
                }
            }
        } else {
            var s = s
            s.withUTF8 { bytes in
                for b in bytes {
                    if b < 0x20 || b == 0x22 || b == 0x5C { escape(UInt32(b)) } else { out.append(b) }
                }
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// The short escapes both layouts share, else `\u` and four hex digits (Python's `\b` and `\f`
    /// only under `ensure_ascii`: calib has always written them as `\u0008`, `\u000c`).
    private func escape(_ v: UInt32) {
        switch v {
        case 0x22: out.append("\\\"")
        case 0x5C: out.append("\\\\")
        case 0x0A: out.append("\\n")
        case 0x0D: out.append("\\r")
        case 0x09: out.append("\\t")
        case 0x08 where style.ensureASCII: out.append("\\b")
        case 0x0C where style.ensureASCII: out.append("\\f")
        default: hex4(v)
        }
    }

    private func hex4(_ v: UInt32) {
        let p = out.reserve(6)
        p[0] = UInt8(ascii: "\\")
        p[1] = UInt8(ascii: "u")
        for i in 0..<4 {
            let d = UInt8((v >> UInt32(12 - 4 * i)) & 0xF)
            p[2 + i] = d < 10 ? UInt8(ascii: "0") + d : UInt8(ascii: "a") + d - 10
        }
        out.count += 6
    }
}

extension JSONValue {
    /// A number, boolean or null: what calib's layout keeps on one line inside an array.
    public var isScalar: Bool {
        switch self {
        case .null, .bool, .int, .float, .shortFloat: true
        case .string, .array, .object: false
        }
    }
}
