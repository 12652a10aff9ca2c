import Foundation

extension JSONValue {
    /// The deepest nesting of arrays and objects `parse` accepts: deeper input is refused rather than
    /// risking the stack.
    public static let maximumDepth = 512

    /// Parses a JSON document (RFC 8259), keeping every object's keys in file order (duplicates too,
    /// in place: `member(_:)` returns the last, as Python's `json` does).
    ///
    /// Integers that fit in `Int` become `.int`; every other number becomes `.float(Float(double))`,
    /// exact for the float32 values deployment files print as doubles; a number beyond float32's range
    /// is an error (it would become infinity). A UTF-8 byte order mark is skipped. With
    /// `allowNonFinite`, Python's `NaN`, `Infinity` and `-Infinity` are accepted too (`json.dumps`
    /// writes them for non-finite floats).
    ///
    /// - Throws: `FormatError` (format "JSON") whose message gives the line, column and byte offset of
    ///   the first error, and what was expected there.
    public static func parse(_ data: Data, allowNonFinite: Bool = false) throws -> JSONValue {
        var parser = JSONParser(bytes: [UInt8](data), allowNonFinite: allowNonFinite)
        return try parser.document()
    }

    /// The value of the last member named `key` of an object; nil for a missing key or a non-object.
    public func member(_ key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.0 == key }?.1
    }

    /// What kind of JSON value this is, for error messages.
    public var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int, .float, .shortFloat: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// Rendered the way Python's `json.dumps` renders it, byte for byte: `indent` nil gives one line
    /// with `", "` and `": "` separators, otherwise newlines and `indent` spaces per level with `","`
    /// and `": "`; strings are escaped with `ensure_ascii` (every character outside space...`~` as
    /// `\uXXXX`, surrogate pairs above U+FFFF); floats print as `repr(float(x))` (`JSONValue.format`),
    /// non-finite ones as `NaN`, `Infinity`, `-Infinity`. No trailing newline.
    public func pythonJSON(indent: Int?) -> String {
        JSONWriter.text(self, style: .python(indent: indent))
    }
}

/// A recursive-descent JSON parser over bytes, with positions in its errors and a depth limit.
private struct JSONParser {
    public let bytes: [UInt8]
    public let allowNonFinite: Bool
    public var i = 0
    public var depth = 0

    public init(bytes: [UInt8], allowNonFinite: Bool) {
        self.bytes = bytes
        self.allowNonFinite = allowNonFinite
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
    }

    public mutating func document() throws -> JSONValue {
        skipWhitespace()
        if i == bytes.count { throw error(bytes.isEmpty ? "empty document" : "expected a value, found end of input") }
        let v = try value()
        skipWhitespace()
        if i < bytes.count { throw error("unexpected \(describe(bytes[i])) after the document") }
        return v
    }

    private func error(_ message: String, at position: Int? = nil) -> FormatError {
        let p = Swift.min(position ?? i, bytes.count)
        var line = 1, lineStart = 0
        for (k, b) in bytes[..<p].enumerated() where b == 0x0A {
            line += 1
            lineStart = k + 1
        }
        return FormatError(format: "JSON", "line \(line), column \(p - lineStart + 1) (byte \(p)): \(message)")
    }

    private func describe(_ b: UInt8) -> String {
        (0x21...0x7E).contains(b) ? "'\(Character(Unicode.Scalar(b)))'" : "byte 0x\(String(b, radix: 16))"
    }

    private mutating func skipWhitespace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    private mutating func value() throws -> JSONValue {
        guard i < bytes.count else { throw error("expected a value, found end of input") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "N") where allowNonFinite:
            try literal("NaN")
            return .float(.nan)
        case UInt8(ascii: "I") where allowNonFinite:
            try literal("Infinity")
            return .float(.infinity)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        case let b: throw error("expected a value, found \(describe(b))")
        }
    }

    private mutating func literal(_ word: String) throws {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, Array(bytes[i..<(i + w.count)]) == w else {
            throw error("invalid literal (expected '\(word)')")
        }
        i += w.count
    }

    private mutating func enter() throws {
        depth += 1
        if depth > JSONValue.maximumDepth { throw error("nesting deeper than \(JSONValue.maximumDepth) levels") }
    }

    private mutating func object() throws -> JSONValue {
        try enter()
        i += 1
        var members: [(String, JSONValue)] = []
        skipWhitespace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
            i += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard i < bytes.count else { throw error("unterminated object: expected a key, found end of input") }
            guard bytes[i] == UInt8(ascii: "\"") else { throw error("expected a string key, found \(describe(bytes[i]))") }
            let key = try string()
            skipWhitespace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else {
                throw error(
                    i < bytes.count
                        ? "expected ':' after key, found \(describe(bytes[i]))" : "expected ':' after key, found end of input")
            }
            i += 1
            skipWhitespace()
            members.append((key, try value()))
            skipWhitespace()
            guard i < bytes.count else { throw error("unterminated object: expected ',' or '}', found end of input") }
            if bytes[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            if bytes[i] == UInt8(ascii: "}") {
                i += 1
                break
            }
            throw error("expected ',' or '}' in object, found \(describe(bytes[i]))")
        }
        depth -= 1
        return .object(members)
    }

    private mutating func array() throws -> JSONValue {
        try enter()
        i += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
            i += 1
            depth -= 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try value())
            skipWhitespace()
            guard i < bytes.count else { throw error("unterminated array: expected ',' or ']', found end of input") }
            if bytes[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            if bytes[i] == UInt8(ascii: "]") {
                i += 1
                break
            }
            throw error("expected ',' or ']' in array, found \(describe(bytes[i]))")
        }
        depth -= 1
        return .array(items)
    }

    private mutating func string() throws -> String {
        let start = i
        i += 1
        var out: [UInt8] = []
        var ascii = true
        while true {
            guard i < bytes.count else { throw error("unterminated string", at: start) }
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "\""):
                i += 1
                if ascii { return String(decoding: out, as: UTF8.self) }
                guard let s = String(validatingUTF8Bytes: out) else { throw error("string is not valid UTF-8", at: start) }
                return s
            case UInt8(ascii: "\\"):
                i += 1
                guard i < bytes.count else { throw error("unterminated escape sequence") }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800...0xDBFF).contains(code) {
                        guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                            throw error("unpaired high surrogate \\u\(String(code, radix: 16))")
                        }
                        i += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else {
                            throw error("high surrogate not followed by a low surrogate")
                        }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(code) {
                        throw error("unpaired low surrogate \\u\(String(code, radix: 16))")
                    }
                    out.append(contentsOf: Array(String(Character(Unicode.Scalar(code)!)).utf8))
                    if code > 0x7F { ascii = false }
                default:
                    throw error("invalid escape '\\\(Character(Unicode.Scalar(e)))'", at: i - 2)
                }
            case 0..<0x20:
                throw error("control character 0x\(String(b, radix: 16)) in string (must be escaped)")
            default:
                if b >= 0x80 { ascii = false }
                out.append(b)
                i += 1
            }
        }
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for k in 0..<4 {
            let b = bytes[i + k]
            let d: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = b - UInt8(ascii: "A") + 10
            default: throw error("invalid hex digit \(describe(b)) in \\u escape", at: i + k)
            }
            v = v * 16 + UInt32(d)
        }
        i += 4
        return v
    }

    private mutating func number() throws -> JSONValue {
        let start = i
        var integral = true
        if bytes[i] == UInt8(ascii: "-") {
            i += 1
            if allowNonFinite, i < bytes.count, bytes[i] == UInt8(ascii: "I") {
                try literal("Infinity")
                return .float(-.infinity)
            }
        }
        func digits() -> Int {
            let s = i
            while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
            return i - s
        }
        guard i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) else {
            throw error("expected a digit in number")
        }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
            if i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) {
                throw error("leading zero in number", at: start)
            }
        } else {
            _ = digits()
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            integral = false
            i += 1
            guard digits() > 0 else { throw error("expected a digit after '.'") }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            integral = false
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { throw error("expected a digit in exponent") }
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        if integral, let n = Int(text) { return .int(n) }
        guard let d = Double(text) else { throw error("invalid number '\(text)'", at: start) }
        // Every file calib reads holds float32 values; one beyond float32's range is an error, not infinity.
        let f = Float(d)
        guard f.isFinite else { throw error("number '\(text.prefix(40))' is beyond the float32 range", at: start) }
        return .float(f)
    }
}

extension String {
    /// The string these bytes spell in UTF-8, or nil when they are not valid UTF-8.
    public init?(validatingUTF8Bytes bytes: [UInt8]) {
        var scalars = String.UnicodeScalarView()
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let s): scalars.append(s)
            case .emptyInput: break loop
            case .error: return nil
            }
        }
        self.init(scalars)
    }
}

// Typed access for the format readers: nil when the value has another type.
extension JSONValue {
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// An integer: `.int`, or a `.float` holding an integer small enough to be exact (|x| <= 2^24).
    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .float(let f), .shortFloat(let f): return f.rounded() == f && abs(f) <= 0x1p24 ? Int(f) : nil
        default: return nil
        }
    }

    /// A number as float32 (an `.int` converts, rounding to nearest).
    public var floatValue: Float? {
        switch self {
        case .float(let f), .shortFloat(let f): return f
        case .int(let i): return Float(i)
        default: return nil
        }
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var objectValue: [(String, JSONValue)]? {
        if case .object(let o) = self { return o }
        return nil
    }
}
