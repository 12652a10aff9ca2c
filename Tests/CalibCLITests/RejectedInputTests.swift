import CalibTestSupport
import Foundation
import Testing

@testable import CalibKit
@testable import CalibModel
@testable import CalibStore
@testable import CalibSupport

/// Bad input is refused with a message naming the file (and tensor), a non-zero exit, and a store
/// whose batches and statistics are exactly as before.
@Suite struct RejectedInputTests {
    struct Bad: CustomStringConvertible, Sendable {
        let description: String
        let fileName: String
        let tensor: String?
        let bytes: @Sendable () -> Data
    }

    static let good = Fixtures.path("golden/cases/aimet_multibatch_asym_unsigned_8/batches")

    /// A safetensors file holding one entry for `layer1.out` with this JSON and 8 data bytes.
    static func entry(_ json: String, data: Data = TensorFiles.floats([1, 2])) -> Data {
        TensorFiles.safetensors(header: #"{"layer1.out":"# + json + "}", data: data)
    }

    static let st = "layer1.out"

    /// Every kind of malformed input, each a file the CLI must refuse without touching the store.
    static let cases: [Bad] = [
        Bad(description: "truncated safetensors", fileName: "truncated.safetensors", tensor: "layer2.relu") {
            let data = try! Data(contentsOf: URL(fileURLWithPath: good + "/000.safetensors"))
            return data.prefix(data.count - 10)
        },
        Bad(description: "header length beyond the file", fileName: "long-header.safetensors", tensor: nil) {
            TensorFiles.safetensors(
                header: #"{"layer1.out":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
                data: TensorFiles.floats([1, 2]), declaredHeaderLength: 1_000_000)
        },
        Bad(description: "absurd header length", fileName: "absurd.safetensors", tensor: nil) {
            TensorFiles.safetensors(header: "{}", data: Data(), declaredHeaderLength: 1 << 40)
        },
        Bad(description: "data offsets outside the file", fileName: "offsets.safetensors", tensor: st) {
            entry(#"{"dtype":"F32","shape":[250],"data_offsets":[0,1000]}"#)
        },
        Bad(description: "unknown dtype", fileName: "dtype.safetensors", tensor: st) {
            entry(#"{"dtype":"C64","shape":[1],"data_offsets":[0,8]}"#)
        },
        Bad(description: "empty safetensors file", fileName: "empty.safetensors", tensor: nil) { Data() },
        Bad(description: "5-byte safetensors file", fileName: "five.safetensors", tensor: nil) { Data([1, 2, 3, 4, 5]) },
        Bad(description: "header not JSON", fileName: "notjson.safetensors", tensor: nil) {
            TensorFiles.safetensors(header: "{layer1.out: F32}", data: Data())
        },
        Bad(description: "header not UTF-8", fileName: "utf8.safetensors", tensor: nil) {
            var d = Data()
            withUnsafeBytes(of: UInt64(4).littleEndian) { d.append(contentsOf: $0) }
            d.append(contentsOf: [0x7B, 0xFF, 0xFE, 0x7D])
            return d
        },
        Bad(description: "header not an object", fileName: "array.safetensors", tensor: nil) {
            TensorFiles.safetensors(header: "[1, 2]", data: Data())
        },
        Bad(description: "entry without dtype", fileName: "nodtype.safetensors", tensor: st) {
            entry(#"{"shape":[2],"data_offsets":[0,8]}"#)
        },
        Bad(description: "entry without shape", fileName: "noshape.safetensors", tensor: st) {
            entry(#"{"dtype":"F32","data_offsets":[0,8]}"#)
        },
        Bad(description: "entry without data_offsets", fileName: "nooffsets.safetensors", tensor: st) {
            entry(#"{"dtype":"F32","shape":[2]}"#)
        },
        Bad(description: "negative dimension", fileName: "negdim.safetensors", tensor: st) {
            entry(#"{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}"#)
        },
        Bad(description: "offsets begin after end", fileName: "reversed.safetensors", tensor: st) {
            entry(#"{"dtype":"F32","shape":[2],"data_offsets":[8,0]}"#)
        },
        Bad(description: "shape disagrees with the bytes", fileName: "shape.safetensors", tensor: st) {
            entry(#"{"dtype":"F32","shape":[3],"data_offsets":[0,8]}"#)
        },
        Bad(description: "overlapping tensors", fileName: "overlap.safetensors", tensor: nil) {
            TensorFiles.safetensors(
                header:
                    #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                data: TensorFiles.floats([1, 2, 3]))
        },
        Bad(description: "duplicate tensor names", fileName: "dup.safetensors", tensor: st) {
            TensorFiles.safetensors(
                header:
                    #"{"layer1.out":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"layer1.out":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                data: TensorFiles.floats([1, 2]))
        },
        Bad(description: "empty tensor", fileName: "emptytensor.safetensors", tensor: st) {
            entry(#"{"dtype":"F32","shape":[0],"data_offsets":[0,0]}"#, data: Data())
        },
        Bad(description: "trailing bytes after the data", fileName: "trailing.safetensors", tensor: nil) {
            entry(#"{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#)
        },
        Bad(description: "no tensors", fileName: "meta.safetensors", tensor: nil) {
            TensorFiles.safetensors(header: #"{"__metadata__":{"model":"x"}}"#, data: Data())
        },
        Bad(description: "complex-valued npy", fileName: "layer1.out.npy", tensor: st) {
            TensorFiles.npy(descr: "<c8", shape: [2], data: TensorFiles.floats([1, 2, 3, 4]))
        },
        Bad(description: "not npy at all", fileName: "layer2.relu.npy", tensor: nil) {
            Data("this is a CSV file, not numpy\n1,2,3\n".utf8)
        },
        Bad(description: "npy version 4.0", fileName: "v4.npy", tensor: nil) {
            var d = TensorFiles.npy(descr: "<f4", shape: [2], data: TensorFiles.floats([1, 2]))
            d[6] = 4
            return d
        },
        Bad(description: "object npy", fileName: "obj.npy", tensor: "obj") {
            TensorFiles.npy(descr: "|O", shape: [1], data: Data(count: 8))
        },
        Bad(description: "string npy", fileName: "str.npy", tensor: "str") {
            TensorFiles.npy(descr: "<U2", shape: [1], data: Data(count: 8))
        },
        Bad(description: "float128 npy", fileName: "f16.npy", tensor: "f16") {
            TensorFiles.npy(descr: "<f16", shape: [1], data: Data(count: 16))
        },
        Bad(description: "truncated npy data", fileName: "short.npy", tensor: "short") {
            TensorFiles.npy(descr: "<f4", shape: [3], data: TensorFiles.floats([1]))
        },
        Bad(description: "npy trailing bytes", fileName: "long.npy", tensor: "long") {
            TensorFiles.npy(descr: "<f4", shape: [1], data: TensorFiles.floats([1, 2]))
        },
        Bad(description: "empty npy array", fileName: "none.npy", tensor: "none") {
            TensorFiles.npy(descr: "<f4", shape: [0], data: Data())
        },
        Bad(description: "npz that is not a zip", fileName: "junk.npz", tensor: nil) { Data(repeating: 0x41, count: 300) },
        Bad(description: "truncated npz", fileName: "cut.npz", tensor: nil) {
            let d = try! Data(contentsOf: Fixtures.url("readers/npz/stored.npz"))
            return d.prefix(d.count / 2)
        },
        Bad(description: "npz CRC mismatch", fileName: "crc.npz", tensor: nil) {
            var d = try! Data(contentsOf: Fixtures.url("readers/npz/stored.npz"))
            // Flip one byte in the last data bytes before the central directory: a member's payload.
            let eocd = d.count - 22
            let cd = Int(d[eocd + 16]) | Int(d[eocd + 17]) << 8 | Int(d[eocd + 18]) << 16 | Int(d[eocd + 19]) << 24
            d[cd - 1] ^= 0xFF
            return d
        },
    ]

    /// A database holding the three batches of a golden case, and its state.
    static func seededStore(
        _ dir: TemporaryDirectory, flags: [String] = [], inputs: [String] = [good]
    ) throws -> (db: String, before: Snapshot) {
        let db = dir.path("store.sqlite")
        let run = try CLI.run(["run", "--db", db, "--session", "s"] + flags + inputs)
        #expect(run.status == 0, "\(run.stderr)")
        return (db, try Snapshot(db))
    }

    struct Snapshot: Equatable {
        let batches: [BatchRecord]
        let reports: [TensorReport]
        init(_ db: String) throws {
            let store = try CalibStore(path: db, readOnly: true)
            let session = try store.requireSession("s")
            batches = try store.batches(session: session.id)
            reports = try store.reports(session: session)
        }
    }

    @Test func coversThirtyKinds() { #expect(Self.cases.count >= 30) }

    @Test(arguments: cases)
    func rejected(_ bad: Bad) throws {
        let dir = TemporaryDirectory()
        let (db, before) = try Self.seededStore(dir)
        let file = dir.path(bad.fileName)
        try bad.bytes().write(to: URL(fileURLWithPath: file))
        let result = try CLI.run(["run", "--db", db, "--session", "s", file])
        #expect(result.status != 0)
        #expect(result.stderr.contains(file), "message names the file: \(result.stderr)")
        if let tensor = bad.tensor {
            #expect(result.stderr.contains(tensor), "message names the tensor: \(result.stderr)")
        }
        #expect(result.stderr.hasPrefix("calib: error: "))
        #expect(try Snapshot(db) == before)
        #expect(before.batches.count == 3)
    }

    @Test func channelAxisSizeChange() throws {
        let dir = TemporaryDirectory()
        let perChannel = Fixtures.path("golden/cases/aimet_perchannel_sym_signed_8/batches")
        let (db, before) = try Self.seededStore(dir, flags: ["--per-channel-axis", "1", "--symmetric"], inputs: [perChannel])
        #expect(before.reports.first?.tensor.channels == 6)
        let file = dir.path("wider.safetensors")
        try TensorFiles.safetensors([("conv.out", [1, 7, 1, 1], [1, 2, 3, 4, 5, 6, 7])]).write(to: URL(fileURLWithPath: file))
        let result = try CLI.run(["run", "--db", db, "--session", "s", file])
        #expect(result.status != 0)
        #expect(result.stderr.contains(file) && result.stderr.contains("conv.out"), "\(result.stderr)")
        #expect(result.stderr.contains("7 channels") && result.stderr.contains("had 6"), "\(result.stderr)")
        #expect(try Snapshot(db) == before)
    }

    @Test func incompatibleObserverSettingsAreRefused() throws {
        let dir = TemporaryDirectory()
        let (db, before) = try Self.seededStore(dir)
        let result = try CLI.run(["run", "--db", db, "--session", "s", "--observer", "ema", Self.good])
        #expect(result.status != 0)
        #expect(
            result.stderr.contains("tensor 'layer1.out'") && result.stderr.contains("observer ema (stored: minmax)"),
            "\(result.stderr)")
        #expect(result.stderr.contains("new session (--session s-2)"))
        #expect(try Snapshot(db) == before)
    }

    @Test func missingInputAndBadFlags() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("x.sqlite")
        let missing = try CLI.run(["run", "--db", db, "--session", "s", dir.path("nope.safetensors")])
        #expect(missing.status != 0 && missing.stderr.contains("nope.safetensors"))
        let bitwidth = try CLI.run([
            "run", "--db", db, "--session", "t", "--bitwidth", "32", "--convention", "pytorch", Self.good,
        ])
        #expect(bitwidth.status != 0 && bitwidth.stderr.contains("bitwidth 32"), "\(bitwidth.stderr)")
        let noSession = try CLI.run(["show", "--db", db, "nobody"])
        #expect(noSession.status != 0 && noSession.stderr.contains("no session named 'nobody'"), "\(noSession.stderr)")
    }
}
