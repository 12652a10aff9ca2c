import CalibModel
import CalibSupport
import Foundation

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
        .object(fields(r).map { ($0.0, $0.1.value) })
    }

    /// An entry's member: per-channel arrays stay `[Float]`/`[Int]`, so the streaming writer prints
    /// them without a `JSONValue` per element.
    enum Field {
        case value(JSONValue)
        case floats([Float])
        /// Integers, or their negations (`zero_point` from the offsets, without an array of its own).
        case ints([Int], negated: Bool)

        var value: JSONValue {
            switch self {
            case .value(let v): v
            case .floats(let a): .array(a.map(JSONValue.float))
            case .ints(let a, let negated): .array(a.map { .int(negated ? -$0 : $0) })
            }
        }
    }

    static func fields(_ r: TensorReport) -> [(String, Field)] {
        let e = r.encoding
        let perChannel = e.channelAxis != nil
        let stats = r.stats
        func floats(_ v: [Float]) -> Field { perChannel ? .floats(v) : .value(.float(v[0])) }
        func ints(_ v: [Int], negated: Bool = false) -> Field {
            perChannel ? .ints(v, negated: negated) : .value(.int(negated ? -v[0] : v[0]))
        }
        // A tensor without statistics (imported encodings) prints null ranges.
        let unobserved = stats == nil ? [Float](repeating: .nan, count: e.channelCount) : []
        // A channel never observed finite has no range, so no encoding: null, not the placeholder the
        // derivation keeps for it (export refuses such a tensor; `show --json` prints it).
        if let stats, stats.min.count == e.channelCount, zip(stats.min, stats.max).contains(where: { !($0.0 <= $0.1) }) {
            let seen = zip(stats.min, stats.max).map { $0.0 <= $0.1 }
            func floats(_ v: [Float]) -> Field {
                let a: [JSONValue] = zip(v, seen).map { $1 ? .float($0) : .null }
                return .value(perChannel ? .array(a) : a[0])
            }
            func ints(_ v: [Int], negated: Bool = false) -> Field {
                let a: [JSONValue] = zip(v, seen).map { $1 ? .int(negated ? -$0 : $0) : .null }
                return .value(perChannel ? .array(a) : a[0])
            }
            return common(r) + [
                ("scale", floats(e.scale)), ("offset", ints(e.offset)), ("zero_point", ints(e.offset, negated: true)),
                ("min", floats(e.min)), ("max", floats(e.max)),
            ] + observed(r, perChannel: perChannel, unobserved: [])
        }
        return common(r) + [
            ("scale", floats(e.scale)),
            ("offset", ints(e.offset)),
            ("zero_point", ints(e.offset, negated: true)),  // Encoding.zeroPoint, without the copy
            ("min", floats(e.min)),
            ("max", floats(e.max)),
        ] + observed(r, perChannel: perChannel, unobserved: unobserved)
    }

    static func common(_ r: TensorReport) -> [(String, Field)] {
        let e = r.encoding
        return [
            ("role", .value(.string(r.tensor.role.rawValue))),
            ("convention", .value(.string(e.scheme.convention.rawValue))),
            ("bitwidth", .value(.int(e.scheme.bitwidth))),
            ("symmetric", .value(.bool(e.scheme.symmetric))),
            ("signed", .value(.bool(e.scheme.signed))),
            ("per_channel_axis", .value(e.channelAxis.map(JSONValue.int) ?? .null)),
        ]
    }

    static func observed(_ r: TensorReport, perChannel: Bool, unobserved: [Float]) -> [(String, Field)] {
        let stats = r.stats
        func floats(_ v: [Float]) -> Field { perChannel ? .floats(v) : .value(.float(v[0])) }
        return [
            ("observed_min", floats(stats?.min ?? unobserved)),
            ("observed_max", floats(stats?.max ?? unobserved)),
            ("batches", .value(.int(stats?.batches ?? 0))),
            ("elements", .value(.int(stats?.elements ?? 0))),
            ("nonfinite", .value(.int(stats?.nonfinite ?? 0))),
        ]
    }

    /// The convention most tensors use (ties go to the first in `Convention.allCases`).
    static func mainConvention(_ reports: [TensorReport], fallback: Convention) -> Convention {
        let counts = Dictionary(grouping: reports, by: \.encoding.scheme.convention).mapValues(\.count)
        return Convention.allCases.max { (counts[$0] ?? 0) < (counts[$1] ?? 0) }.flatMap { counts[$0] == nil ? nil : $0 }
            ?? fallback
    }

    // MARK: - Streaming

    /// Writes `document(...).rendered() + "\n"` to `path` (atomically) or to standard output (nil),
    /// rendering tensors on every core and writing them in order as they are ready.
    public static func export(session: Session, reports: [TensorReport], to path: String?) throws {
        let output = try ExportOutput(path: path)
        try write(session: session, reports: reports) { try output.write($0) }
        try output.commit()
    }

    /// The bytes of `document(session:reports:).rendered() + "\n"`, in pieces, in order.
    ///
    /// - Parameter tensorsPerChunk: tensors rendered per piece (nil: about 1 MiB of text each).
    static func write(
        session: Session, reports: [TensorReport], tensorsPerChunk: Int? = nil,
        threads: Int = ProcessInfo.processInfo.activeProcessorCount, to sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let style = JSONWriter.Style.calib(indent: 2)
        // The document object opened by hand, as `JSONWriter.container` would: its third member,
        // "encodings", follows tensor by tensor.
        let head = JSONWriter(style: style)
        head.out.append(UInt8(ascii: "{"))
        head.beforeItem(0, level: 0, inline: false)
        head.key("session")
        head.string(session.name)
        head.beforeItem(1, level: 0, inline: false)
        head.key("convention")
        head.string(mainConvention(reports, fallback: session.scheme.convention).rawValue)
        head.beforeItem(2, level: 0, inline: false)
        head.key("encodings")
        head.out.append(reports.isEmpty ? "{}" : "{")
        try sink(head.out.bytes)

        let bounds = chunks(reports, tensorsPerChunk: tensorsPerChunk)
        try OrderedChunks.run(
            count: bounds.count - 1, threads: threads,
            render: { chunk, buffer in
                let w = JSONWriter(style: style, into: buffer)
                for i in bounds[chunk]..<bounds[chunk + 1] {
                    w.beforeItem(i, level: 1, inline: false)
                    w.key(reports[i].tensor.name)
                    writeEntry(reports[i], to: w, level: 2)
                }
            }, sink: sink)
        let tail = JSONWriter(style: style)
        if !reports.isEmpty {
            tail.newline(level: 1)
            tail.out.append(UInt8(ascii: "}"))
        }
        tail.newline(level: 0)
        tail.out.append("}\n")
        try sink(tail.out.bytes)
    }

    /// `entry(r)` rendered at `level`, arrays straight from the encoding's storage.
    static func writeEntry(_ r: TensorReport, to w: JSONWriter, level: Int) {
        let members = fields(r)
        w.object(count: members.count, level: level) { i in
            w.key(members[i].0)
            switch members[i].1 {
            case .value(let v): w.value(v, level: level + 1)
            case .floats(let a): w.floatArray(a)
            case .ints(let a, let negated): w.intArray(a, negated: negated)
            }
        }
    }

    /// Chunk boundaries (first tensor of each chunk, then the end), about 1 MiB of text per chunk.
    static func chunks(_ reports: [TensorReport], tensorsPerChunk: Int?) -> [Int] {
        if let n = tensorsPerChunk {
            return Array(stride(from: 0, to: reports.count, by: max(1, n))) + [reports.count]
        }
        var bounds = [0]
        var bytes = 0
        for (i, r) in reports.enumerated() {
            // Seven arrays of about 20 bytes per channel, and the keys.
            bytes += 400 + 140 * r.encoding.channelCount
            if bytes >= 1 << 20 {
                bounds.append(i + 1)
                bytes = 0
            }
        }
        if bounds.last != reports.count { bounds.append(reports.count) }
        return bounds
    }
}
