import CalibTestSupport
import Foundation
import Testing

@testable import CalibDerivation
@testable import CalibFormats
@testable import CalibKit
@testable import CalibModel
@testable import CalibObservers
@testable import CalibReaders
@testable import CalibStore
@testable import CalibSupport

/// The streaming JSON export (`EncodingsJSON.write`/`export`) against the document it streams,
/// `EncodingsJSON.document(...).rendered() + "\n"`, and the layout both share.
@Suite struct ExportStreamTests {
    static func session(_ name: String = "s") throws -> Session {
        // New session names hold no control characters; one an older calib stored may (the export escapes it).
        var session = try CalibStore().createSession(name: "s", observer: ObserverConfig(), scheme: QuantScheme())
        session.name = name
        return session
    }

    static func record(_ name: String, channels: Int?, role: TensorRole = .activation) -> TensorRecord {
        TensorRecord(
            id: 0, name: name, role: role, dtype: .float32, shape: [channels ?? 1, 3], channelAxis: channels == nil ? nil : 0,
            channels: channels ?? 1)
    }

    /// Per-tensor and per-channel tensors, observed and never observed, non-finite values, names
    /// that need escaping or are not ASCII.
    static func reports() -> [TensorReport] {
        var reports: [TensorReport] = []
        let perTensor = QuantScheme()
        let perChannel = QuantScheme(symmetric: true, signed: true)
        for t in 0..<23 {
            let channels = t % 3 == 0 ? nil : 1 + t * 37 % 50
            let n = channels ?? 1
            let lo = (0..<n).map { -Float($0 + 1) * 0.013 - Float(t) }
            let hi = (0..<n).map { Float($0 + 1) * 0.7 + Float(t) * 1e-3 }
            let axis = channels == nil ? nil : 0
            let encoding = Encoding(
                observedMin: lo, observedMax: hi, scheme: channels == nil ? perTensor : perChannel, channelAxis: axis)
            let stats = TensorStats(
                observer: ObserverConfig(kind: t % 2 == 0 ? .minmax : .ema, channelAxis: axis), min: lo, max: hi, batches: t + 1,
                elements: 1000 * (t + 1), nonfinite: t % 5)
            let name = ["layer\(t).out", "quote\"\\back\\slash\(t)", "tab\tnew\nline\u{1}\(t)", "ünï\u{1F600}\(t)"][t % 4]
            reports.append(
                TensorReport(
                    tensor: record(name, channels: channels, role: t % 4 == 1 ? .param : .activation),
                    stats: t % 7 == 6 ? nil : stats, encoding: encoding))
        }
        // Never observed: ranges that print as null, per tensor and per channel.
        let never = TensorStats(
            observer: ObserverConfig(), min: [.infinity], max: [-.infinity], batches: 2, elements: 0, nonfinite: 8)
        reports.append(
            TensorReport(
                tensor: record("never", channels: nil), stats: never,
                encoding: Encoding(scheme: QuantScheme(), channelAxis: nil, scale: [1], offset: [0], min: [0], max: [0])))
        let neverPC = TensorStats(
            observer: ObserverConfig(channelAxis: 0), min: [.infinity, 1], max: [-.infinity, 2], batches: 1, elements: 4,
            nonfinite: 2)
        reports.append(
            TensorReport(
                tensor: record("never.pc", channels: 2), stats: neverPC,
                encoding: Encoding(
                    scheme: QuantScheme(), channelAxis: 0, scale: [.nan, 0.5], offset: [0, -3], min: [-.infinity, 0],
                    max: [.infinity, 1])))
        // Per-channel with no statistics at all (an imported encoding).
        reports.append(
            TensorReport(
                tensor: record("imported", channels: 3), stats: nil,
                encoding: Encoding(
                    scheme: QuantScheme(), channelAxis: 0, scale: [1e-5, 1e16, 0], offset: [Int.min + 1, Int.max, 0],
                    min: [-0.0, 5, .leastNonzeroMagnitude], max: [3e38, 1, 2])))
        return reports
    }

    static func streamed(_ session: Session, _ reports: [TensorReport], tensorsPerChunk: Int?, threads: Int) throws -> String {
        var bytes: [UInt8] = []
        try EncodingsJSON.write(session: session, reports: reports, tensorsPerChunk: tensorsPerChunk, threads: threads) {
            bytes += $0
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func streamEqualsTheDocument() throws {
        let session = try Self.session("minilm \"v2\"\n")
        let reports = Self.reports()
        let expected = EncodingsJSON.document(session: session, reports: reports).rendered() + "\n"
        #expect(expected.contains("\"observed_min\": null"))
        #expect(expected.contains("[null, 1.0]"))
        #expect(expected.contains("\"quote\\\"\\\\back\\\\slash1\""))
        for chunk in [nil, 1, 2, 5, 1000] as [Int?] {
            for threads in [1, 2, 3] {
                let text = try Self.streamed(session, reports, tensorsPerChunk: chunk, threads: threads)
                #expect(text == expected, "tensorsPerChunk \(String(describing: chunk)), threads \(threads)")
            }
        }
        // Through the format's render, as library users get it.
        guard
            case .file(let data) = try CalibJSONFormat().render(
                ExportContent(session: session, reports: reports), options: ExportOptions())
        else {
            Issue.record("json export is one file")
            return
        }
        #expect(String(decoding: data, as: UTF8.self) == expected)
        // No tensors at all.
        #expect(
            try Self.streamed(session, [], tensorsPerChunk: nil, threads: 2) == EncodingsJSON.document(
                session: session, reports: []
            ).rendered() + "\n")
        #expect(try Self.streamed(session, [], tensorsPerChunk: nil, threads: 2).hasSuffix("\"encodings\": {}\n}\n"))
    }

    /// The layout itself: objects a member per line, arrays of numbers on one line.
    @Test func layout() throws {
        let session = try Self.session()
        let e = Encoding(
            scheme: QuantScheme(symmetric: true, signed: true), channelAxis: 0, scale: [0.5, 0.25], offset: [0, 0],
            min: [-64, -32], max: [63.5, 31.75])
        let stats = TensorStats(
            observer: ObserverConfig(channelAxis: 0), min: [-64, -1], max: [2, 31.75], batches: 3, elements: 12, nonfinite: 0)
        let text = try Self.streamed(
            session, [TensorReport(tensor: Self.record("w", channels: 2, role: .param), stats: stats, encoding: e)],
            tensorsPerChunk: nil, threads: 2)
        #expect(
            text == """
                {
                  "session": "s",
                  "convention": "aimet",
                  "encodings": {
                    "w": {
                      "role": "param",
                      "convention": "aimet",
                      "bitwidth": 8,
                      "symmetric": true,
                      "signed": true,
                      "per_channel_axis": 0,
                      "scale": [0.5, 0.25],
                      "offset": [0, 0],
                      "zero_point": [0, 0],
                      "min": [-64.0, -32.0],
                      "max": [63.5, 31.75],
                      "observed_min": [-64.0, -1.0],
                      "observed_max": [2.0, 31.75],
                      "batches": 3,
                      "elements": 12,
                      "nonfinite": 0
                    }
                  }
                }

                """)
        // JSONValue renders arrays the same way; arrays holding strings or containers keep a line per element.
        #expect(
            JSONValue.object([
                ("a", .array([.int(1), .float(.nan), .bool(true), .null])), ("b", .array([.string("x"), .int(2)])),
                ("c", .array([])),
            ]).rendered() == """
                {
                  "a": [1, null, true, null],
                  "b": [
                    "x",
                    2
                  ],
                  "c": []
                }
                """)
        #expect(JSONValue.array([.array([.int(1)]), .object([])]).rendered(indent: 0) == "[[1],{}]")
    }

    @Test func exportReplacesTheFileWhole() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("calib-export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let session = try Self.session()
        let reports = Self.reports()
        let path = dir.appendingPathComponent("out.json").path
        try "old".write(toFile: path, atomically: false, encoding: .utf8)
        try EncodingsJSON.export(session: session, reports: reports, to: path)
        #expect(
            try String(contentsOfFile: path, encoding: .utf8) == EncodingsJSON.document(session: session, reports: reports)
                .rendered() + "\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.json"])
        // A directory that does not exist: an error naming the path, nothing written.
        let missing = dir.appendingPathComponent("no/such/out.json").path
        #expect(throws: OutputError.self) { try EncodingsJSON.export(session: session, reports: reports, to: missing) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.json"])
    }

    /// Larger than one 4 MiB direct-I/O block, and not a multiple of the block alignment: whole blocks
    /// straight to the disk where the file system allows it, the tail through the page cache.
    @Test func largeExportIsWrittenWhole() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("calib-export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let session = try Self.session()
        let channels = 4096
        let reports = (0..<16).map { t in
            let lo = (0..<channels).map { -Float($0 % 97 + 1) * 0.0137 - Float(t) }
            let hi = (0..<channels).map { Float($0 % 89 + 1) * 0.731 + Float(t) }
            return TensorReport(
                tensor: Self.record("blocks.\(t).weight", channels: channels, role: .param),
                stats: TensorStats(
                    observer: ObserverConfig(channelAxis: 0), min: lo, max: hi, batches: 1, elements: channels * 3, nonfinite: 0),
                encoding: Encoding(observedMin: lo, observedMax: hi, scheme: QuantScheme(symmetric: true), channelAxis: 0))
        }
        var expected: [UInt8] = []
        try EncodingsJSON.write(session: session, reports: reports, threads: 1) { expected += $0 }
        #expect(expected.count > 5 << 20)
        let path = dir.appendingPathComponent("big.json").path
        try EncodingsJSON.export(session: session, reports: reports, to: path)
        let written = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(written.count == expected.count)
        #expect(written == expected)
    }

    /// A sink that fails (disk full, closed pipe) stops the workers and the error reaches the caller.
    @Test func sinkErrorStopsRendering() throws {
        struct Full: Error {}
        let session = try Self.session()
        let reports = Self.reports()
        var calls = 0
        #expect(throws: Full.self) {
            try EncodingsJSON.write(session: session, reports: reports, tensorsPerChunk: 1, threads: 2) { _ in
                calls += 1
                if calls == 4 { throw Full() }
            }
        }
        #expect(calls == 4)
    }
}
