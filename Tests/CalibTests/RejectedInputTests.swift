import Foundation
import Testing
@testable import CalibKit

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
        Bad(description: "data offsets outside the file", fileName: "offsets.safetensors", tensor: "layer1.out") {
            TensorFiles.safetensors(
                header: #"{"layer1.out":{"dtype":"F32","shape":[250],"data_offsets":[0,1000]}}"#,
                data: TensorFiles.floats([1, 2]))
        },
        Bad(description: "unknown dtype", fileName: "dtype.safetensors", tensor: "layer1.out") {
            TensorFiles.safetensors(
                header: #"{"layer1.out":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}"#,
                data: TensorFiles.floats([1, 2]))
        },
        Bad(description: "complex-valued npy", fileName: "layer1.out.npy", tensor: "layer1.out") {
            TensorFiles.npy(descr: "<c8", shape: [2], data: TensorFiles.floats([1, 2, 3, 4]))
        },
        Bad(description: "not npy at all", fileName: "layer2.relu.npy", tensor: nil) {
            Data("this is a CSV file, not numpy\n1,2,3\n".utf8)
        },
    ]

    /// A database holding the three batches of a golden case, and its state.
    static func seededStore(_ dir: TemporaryDirectory, flags: [String] = [], inputs: [String] = [good]) throws -> (db: String, before: Snapshot) {
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
            reports = try store.reports(session: session.id)
        }
    }

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
        #expect(result.stderr.contains("tensor 'layer1.out'") && result.stderr.contains("observer ema (stored: minmax)"), "\(result.stderr)")
        #expect(result.stderr.contains("new session (--session s-2)"))
        #expect(try Snapshot(db) == before)
    }

    @Test func missingInputAndBadFlags() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("x.sqlite")
        let missing = try CLI.run(["run", "--db", db, "--session", "s", dir.path("nope.safetensors")])
        #expect(missing.status != 0 && missing.stderr.contains("nope.safetensors"))
        let bitwidth = try CLI.run(["run", "--db", db, "--session", "t", "--bitwidth", "32", "--convention", "pytorch", Self.good])
        #expect(bitwidth.status != 0 && bitwidth.stderr.contains("bitwidth 32"), "\(bitwidth.stderr)")
        let noSession = try CLI.run(["show", "--db", db, "nobody"])
        #expect(noSession.status != 0 && noSession.stderr.contains("no session named 'nobody'"), "\(noSession.stderr)")
    }
}
