/// A JSON document with ordered keys and exact float printing, for files whose layout users diff
/// and other tools parse (Foundation's JSONSerialization neither keeps key order nor prints
/// float32 values exactly).
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    /// A float32 value, printed as the shortest decimal that reads back as the same float32 via
    /// double (the way AIMET and Python's json print them). Non-finite values print as null.
    case float(Float)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool { a.rendered() == b.rendered() }

    /// One value or an array of them: per-tensor encodings are scalars, per-channel ones arrays.
    public static func floats(_ values: [Float], asArray: Bool) -> JSONValue {
        asArray ? .array(values.map(JSONValue.float)) : .float(values[0])
    }

    public static func ints(_ values: [Int], asArray: Bool) -> JSONValue {
        asArray ? .array(values.map(JSONValue.int)) : .int(values[0])
    }

    /// Pretty-printed with `indent` spaces per level (0 = compact), ending without a newline.
    public func rendered(indent: Int = 2) -> String {
        var out = ""
        write(to: &out, indent: indent, level: 0)
        return out
    }

    private func write(to out: inout String, indent: Int, level: Int) {
        let newline = indent > 0 ? "\n" : ""
        let pad = { (l: Int) in String(repeating: " ", count: indent * l) }
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .float(let f): out += Self.format(f)
        case .string(let s): out += Self.quote(s)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "[" + newline
            for (i, item) in items.enumerated() {
                out += pad(level + 1)
                item.write(to: &out, indent: indent, level: level + 1)
                out += (i < items.count - 1 ? "," : "") + newline
            }
            out += pad(level) + "]"
        case .object(let members):
            if members.isEmpty { out += "{}"; return }
            out += "{" + newline
            for (i, (key, value)) in members.enumerated() {
                out += pad(level + 1) + Self.quote(key) + (indent > 0 ? ": " : ":")
                value.write(to: &out, indent: indent, level: level + 1)
                out += (i < members.count - 1 ? "," : "") + newline
            }
            out += pad(level) + "}"
        }
    }

    /// Shortest round-trip repr of the float32 widened to double, as Python's `repr(float(x))`.
    public static func format(_ f: Float) -> String {
        guard f.isFinite else { return "null" }
        let d = Double(f)
        if d == d.rounded(), abs(d) < 1e16 { return String(format: "%.1f", d) }
        var s = d.description  // Swift prints the shortest round-trip digits: "1e-05", "0.1", "1.5e+20"
        if let e = s.firstIndex(of: "e") {
            // Python writes at least two exponent digits (1e-05); Swift writes 1e-05 too, keep it.
            let mantissa = s[..<e], exponent = s[s.index(after: e)...]
            let sign = exponent.first == "-" ? "-" : "+"
            let digits = exponent.drop { $0 == "-" || $0 == "+" }
            s = mantissa + "e" + sign + (digits.count < 2 ? "0" + digits : String(digits))
        }
        return s
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
