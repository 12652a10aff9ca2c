/// `calib export --format json`: calib's own layout, every number a float32 that round-trips.
///
/// `{"session": NAME, "convention": C, "encodings": {TENSOR: {bitwidth, symmetric, signed,
/// per_channel_axis, scale, offset, zero_point, min, max, observed_min, observed_max, batches,
/// elements, nonfinite}}}`; per-channel values are arrays, per-tensor values single numbers.
public enum EncodingsJSON {
    public static func document(session: Session, reports: [TensorReport]) -> JSONValue {
        .object([
            ("session", .string(session.name)),
            ("convention", .string(session.scheme.convention.rawValue)),
            ("encodings", .object(reports.map { ($0.tensor.name, entry($0)) })),
        ])
    }

    /// One tensor's entry (also what `show --json` prints per tensor).
    public static func entry(_ r: TensorReport) -> JSONValue {
        let e = r.encoding
        let perChannel = e.channelAxis != nil
        return .object([
            ("bitwidth", .int(e.scheme.bitwidth)),
            ("symmetric", .bool(e.scheme.symmetric)),
            ("signed", .bool(e.scheme.signed)),
            ("per_channel_axis", e.channelAxis.map(JSONValue.int) ?? .null),
            ("scale", .floats(e.scale, asArray: perChannel)),
            ("offset", .ints(e.offset, asArray: perChannel)),
            ("zero_point", .ints(e.zeroPoint, asArray: perChannel)),
            ("min", .floats(e.min, asArray: perChannel)),
            ("max", .floats(e.max, asArray: perChannel)),
            ("observed_min", .floats(r.stats.min, asArray: perChannel)),
            ("observed_max", .floats(r.stats.max, asArray: perChannel)),
            ("batches", .int(r.stats.batches)),
            ("elements", .int(r.stats.elements)),
            ("nonfinite", .int(r.stats.nonfinite)),
        ])
    }
}
