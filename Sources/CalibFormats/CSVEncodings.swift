import CalibModel
import CalibSupport
import Foundation

/// Encodings as CSV, for spreadsheets and pandas: a header, then one row per tensor and channel.
///
/// ```
/// tensor,role,channel,bitwidth,symmetric,signed,scale,offset,zero_point,min,max,observed_min,observed_max
/// layer1.out,activation,,8,false,false,0.026129426434636116,-105,105,-2.7435898780822754,3.9194140434265137,-2.7330002784729004,3.9300038814544678
/// ```
///
/// - `channel` is empty for a per-tensor encoding, the channel index (0, 1, ...) for a per-channel one;
/// - `symmetric` and `signed` are `true`/`false`; `offset` uses AIMET's sign, `zero_point = -offset`;
/// - floats are printed as `JSONValue.format` prints them (the shortest decimal that reads back as the
///   same float32); a non-finite value (a channel never observed) and an unknown observed range are
///   empty cells;
/// - fields are quoted as RFC 4180 says (a field holding a comma, a double quote, CR or LF is enclosed in
///   double quotes, its double quotes doubled); lines end with "\n", the last one too.
public enum CSVEncodings {
    public static let header = [
        "tensor", "role", "channel", "bitwidth", "symmetric", "signed", "scale", "offset", "zero_point", "min", "max",
        "observed_min", "observed_max",
    ]

    public static func export(_ table: EncodingTable) -> String {
        var out = line(header)
        for entry in table.entries {
            let e = entry.encoding
            for c in e.scale.indices {
                let observed = { (values: [Float]?) -> String in
                    guard let values, values.indices.contains(c) else { return "" }
                    return float(values[c])
                }
                out += line([
                    entry.name,
                    entry.role.rawValue,
                    e.channelAxis == nil ? "" : String(c),
                    String(e.scheme.bitwidth),
                    String(e.scheme.symmetric),
                    String(e.scheme.signed),
                    float(e.scale[c]),
                    String(e.offset[c]),
                    String(-e.offset[c]),
                    e.min.indices.contains(c) ? float(e.min[c]) : "",
                    e.max.indices.contains(c) ? float(e.max[c]) : "",
                    observed(entry.observedMin),
                    observed(entry.observedMax),
                ])
            }
        }
        return out
    }

    private static func float(_ f: Float) -> String { f.isFinite ? JSONValue.format(f) : "" }

    private static func line(_ fields: [String]) -> String {
        fields.map(quote).joined(separator: ",") + "\n"
    }

    /// RFC 4180: fields holding `,`, `"`, CR or LF are quoted, with `"` doubled.
    static func quote(_ field: String) -> String {
        guard field.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
