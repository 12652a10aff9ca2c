/// `calib export --format json`: calib's own layout, every number a float32 that round-trips.
///
/// `{"session": NAME, "convention": C, "encodings": {TENSOR: {role, convention, bitwidth, symmetric,
/// signed, per_channel_axis, scale, offset, zero_point, min, max, observed_min, observed_max,
/// batches, elements, nonfinite}}}`; per-channel values are arrays, per-tensor values single
/// numbers. The top-level convention is the one most tensors use; each entry names its own.
public enum EncodingsJSON {
    public static func document(session: Session, reports: [TensorReport]) -> JSONValue {
        .object([
            ("session", .string(session.name)),
            ("convention", .string(mainConvention(reports, fallback: session.scheme.convention).rawValue)),
            ("encodings", .object(reports.map { ($0.tensor.name, entry($0)) })),
        ])
    }

    /// One tensor's entry (also what `show --json` prints per tensor).
    public static func entry(_ r: TensorReport) -> JSONValue {
        let e = r.encoding
        let perChannel = e.channelAxis != nil
        let stats = r.stats
        let unobserved = [Float](repeating: .nan, count: e.channelCount)
        return .object([
            ("role", .string(r.tensor.role.rawValue)),
            ("convention", .string(e.scheme.convention.rawValue)),
            ("bitwidth", .int(e.scheme.bitwidth)),
            ("symmetric", .bool(e.scheme.symmetric)),
            ("signed", .bool(e.scheme.signed)),
            ("per_channel_axis", e.channelAxis.map(JSONValue.int) ?? .null),
            ("scale", .floats(e.scale, asArray: perChannel)),
            ("offset", .ints(e.offset, asArray: perChannel)),
            ("zero_point", .ints(e.zeroPoint, asArray: perChannel)),
            ("min", .floats(e.min, asArray: perChannel)),
            ("max", .floats(e.max, asArray: perChannel)),
            ("observed_min", .floats(stats?.min ?? unobserved, asArray: perChannel)),
            ("observed_max", .floats(stats?.max ?? unobserved, asArray: perChannel)),
            ("batches", .int(stats?.batches ?? 0)),
            ("elements", .int(stats?.elements ?? 0)),
            ("nonfinite", .int(stats?.nonfinite ?? 0)),
        ])
    }

    /// The convention most tensors use (ties go to the first in `Convention.allCases`).
    static func mainConvention(_ reports: [TensorReport], fallback: Convention) -> Convention {
        let counts = Dictionary(grouping: reports, by: \.encoding.scheme.convention).mapValues(\.count)
        return Convention.allCases.max { (counts[$0] ?? 0) < (counts[$1] ?? 0) }.flatMap { counts[$0] == nil ? nil : $0 } ?? fallback
    }
}
