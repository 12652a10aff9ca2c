import CalibModel
import CalibSupport

/// The header dict of an .npy file, e.g. `{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4), }`.
///
/// numpy writes it with Python's `repr`, and other writers (C++ cnpy, Rust npyz, hand-rolled
/// scripts) vary the spacing, quoting, key order and trailing commas, so this is a small parser
/// of the Python literal subset rather than a fixed-format match.
struct NpyHeader {
    /// The numpy type string, e.g. `<f4`.
    let descr: String
    let fortranOrder: Bool
    let shape: [Int]

    /// Parses the header text; `fail` builds the error that names the file and tensor.
    init(text: String, fail: (String) -> InputError) throws {
        var parser = LiteralParser(bytes: Array(text.utf8))
        let root: Literal
        do throws(SyntaxError) {
            parser.skipWhitespace()
            root = try parser.value(depth: 0)
            parser.skipWhitespace()
            guard parser.position == parser.bytes.count else { throw parser.error("unexpected text after the dict") }
        } catch {
            throw fail("header is not a Python dict literal: \(error.message)")
        }
        guard case .dict(let fields) = root else { throw fail("header is not a Python dict literal") }
        func field(_ key: String) throws -> Literal {
            guard let value = fields.first(where: { $0.key == key })?.value else {
                throw fail("header lacks '\(key)'")
            }
            return value
        }

        switch try field("descr") {
        case .string(let descr): self.descr = descr
        case .list:
            throw fail("structured dtype (descr is a list of fields) is not supported: save each field as its own array")
        default: throw fail("'descr' must be a string")
        }

        guard case .bool(let fortranOrder) = try field("fortran_order") else {
            throw fail("'fortran_order' must be True or False")
        }
        self.fortranOrder = fortranOrder

        let shapeValue = try field("shape")
        guard case .tuple(let dims) = shapeValue else { throw fail("'shape' must be a tuple of integers") }
        var shape: [Int] = []
        for dim in dims {
            guard case .int(let value) = dim else { throw fail("'shape' must be a tuple of integers") }
            guard let value else { throw fail("a dimension in 'shape' does not fit in 64 bits") }
            guard value >= 0 else { throw fail("negative dimension \(value) in 'shape'") }
            shape.append(value)
        }
        self.shape = shape
    }

    /// The subset of Python literals an npy header uses.
    private indirect enum Literal {
        case dict([(key: String, value: Literal)])
        case tuple([Literal])
        case list([Literal])
        case string(String)
        /// nil when the integer does not fit in `Int`.
        case int(Int?)
        case bool(Bool)
        case none
    }

    private struct SyntaxError: Error {
        let message: String
    }

    private struct LiteralParser {
        let bytes: [UInt8]
        var position = 0
        static let maximumDepth = 32

        init(bytes: [UInt8]) { self.bytes = bytes }

        var current: UInt8? { position < bytes.count ? bytes[position] : nil }

        func error(_ message: String) -> SyntaxError { SyntaxError(message: "\(message) at character \(position)") }

        mutating func skipWhitespace() {
            while let c = current, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { position += 1 }
        }

        mutating func value(depth: Int) throws(SyntaxError) -> Literal {
            guard depth < LiteralParser.maximumDepth else { throw error("nested too deeply") }
            switch current {
            case UInt8(ascii: "{"):
                position += 1
                var fields: [(key: String, value: Literal)] = []
                for item in try items(closing: UInt8(ascii: "}"), depth: depth, keyed: true) {
                    guard case .string(let key) = item.key else { throw error("dict keys must be strings") }
                    fields.append((key, item.value))
                }
                return .dict(fields)
            case UInt8(ascii: "("):
                position += 1
                return .tuple(try items(closing: UInt8(ascii: ")"), depth: depth, keyed: false).map(\.value))
            case UInt8(ascii: "["):
                position += 1
                return .list(try items(closing: UInt8(ascii: "]"), depth: depth, keyed: false).map(\.value))
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                return .string(try string())
            case let c? where c == UInt8(ascii: "-") || isDigit(c):
                return .int(try integer())
            case let c? where isLetter(c):
                let start = position
                while let c = current, isLetter(c) { position += 1 }
                switch String(decoding: bytes[start..<position], as: UTF8.self) {
                case "True": return .bool(true)
                case "False": return .bool(false)
                case "None": return .none
                case let word: throw error("unexpected name '\(word)'")
                }
            case nil: throw error("unexpected end")
            default: throw error("unexpected character")
            }
        }

        /// Comma-separated items up to `closing`, a trailing comma allowed; `keyed` reads `key: value`.
        mutating func items(
            closing: UInt8, depth: Int, keyed: Bool
        ) throws(SyntaxError) -> [(key: Literal?, value: Literal)] {
            var items: [(key: Literal?, value: Literal)] = []
            while true {
                skipWhitespace()
                if current == closing {
                    position += 1
                    return items
                }
                var key: Literal?
                if keyed {
                    key = try value(depth: depth + 1)
                    skipWhitespace()
                    guard current == UInt8(ascii: ":") else { throw error("expected ':'") }
                    position += 1
                    skipWhitespace()
                }
                items.append((key, try value(depth: depth + 1)))
                skipWhitespace()
                if current == UInt8(ascii: ",") {
                    position += 1
                } else if current != closing {
                    throw error("expected ',' or '\(Character(Unicode.Scalar(closing)))'")
                }
            }
        }

        mutating func string() throws(SyntaxError) -> String {
            let quote = bytes[position]
            position += 1
            var utf8: [UInt8] = []
            while true {
                guard let c = current else { throw error("unterminated string") }
                position += 1
                if c == quote { return String(decoding: utf8, as: UTF8.self) }
                if c == UInt8(ascii: "\\") {
                    guard let escaped = current else { throw error("unterminated string") }
                    position += 1
                    utf8.append(escaped)
                } else {
                    utf8.append(c)
                }
            }
        }

        /// A decimal integer, with the `L` suffix Python 2 wrote for longs; nil when it overflows.
        mutating func integer() throws(SyntaxError) -> Int? {
            let start = position
            if current == UInt8(ascii: "-") { position += 1 }
            guard let first = current, isDigit(first) else { throw error("invalid number") }
            while let c = current, isDigit(c) { position += 1 }
            let text = String(decoding: bytes[start..<position], as: UTF8.self)
            if current == UInt8(ascii: "L") || current == UInt8(ascii: "l") { position += 1 }
            return Int(text)
        }

        func isDigit(_ c: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) }
        func isLetter(_ c: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(c)
        }
    }
}
