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
    /// A float32 setting someone typed (an averaging constant), printed as the shortest decimal that
    /// reads back as the same float32: `0.01`, where `.float` prints `0.009999999776482582` (its
    /// value as a double, as AIMET prints computed encodings). Non-finite values print as null.
    case shortFloat(Float)
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

    /// Pretty-printed with `indent` spaces per level (0 = compact), ending without a newline. Arrays
    /// of numbers, booleans and nulls stay on one line (`[1.5, 2, null]`), others get a line per element.
    public func rendered(indent: Int = 2) -> String {
        JSONWriter.text(self, style: .calib(indent: indent))
    }

    /// Shortest round-trip repr of the float32 widened to double, as Python's `repr(float(x))`;
    /// "null" when not finite.
    /// The shortest decimal that reads back as the same float32 (`0.01`); "null" when not finite.
    public static func shortFormat(_ f: Float) -> String {
        guard f.isFinite else { return "null" }
        let text = f.description  // Swift prints the shortest float32 round trip
        return text.contains(where: { $0 == "." || $0 == "e" }) ? text : text + ".0"
    }

    public static func format(_ f: Float) -> String {
        let writer = JSONWriter(style: .calib(indent: 0), into: ByteBuffer(capacity: FloatFormatter.writeSpace))
        writer.float(f)
        return writer.out.string
    }
}
