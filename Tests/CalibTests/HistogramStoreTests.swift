import CalibTestSupport
import Foundation
import GRDB
import Testing

@testable import CalibDerivation
@testable import CalibKit
@testable import CalibModel
@testable import CalibObservers
@testable import CalibStore

/// Histogram states in the store (schema 7): written with their statistics row, read back bit for
/// bit, covered by the row digest, and a damaged one is a finding of `check` and an error of every
/// reader, never a crash.
@Suite struct HistogramStoreTests {
    /// One state per tool, after the golden batches of the hist_cases folders.
    static func states() throws -> [(String, HistogramState, min: Float, max: Float)] {
        let aimetBatches = try AimetHistogramCase.all[0].batches().map { $0["act"]! }
        var main = AimetHistogram(method: .sqnr), tf = AimetHistogram(method: .tfEnhanced)
        var torch = TorchHistogram()
        for b in aimetBatches {
            main.observe(b)
            tf.observe(b)
            torch.observe(b)
        }
        var signed = OnnxRuntimeHistogram(kind: .signed, bins: 128)
        var absolute = OnnxRuntimeHistogram(kind: .absolute, bins: 128)
        let ortBatches = OnnxRuntimeGoldenCase.batches.map { $0["drift"]! }
        for b in ortBatches {
            try signed.collect(b)
            try absolute.collect(b)
        }
        let a = aimetBatches.joined(), o = ortBatches.joined()
        return [
            ("aimet", .aimet(main: [main], tfEnhanced: [tf], method: .percentile(99.9)), a.min()!, a.max()!),
            ("pytorch", .pytorch(torch), a.min()!, a.max()!),
            (
                "onnxruntime",
                .onnxruntime(histograms: [signed, absolute], method: .percentile(99.9, symmetric: false), collect: .perBatch),
                o.min()!, o.max()!
            ),
        ]
    }

    /// A store with one session per tool, each with tensor "t" holding that tool's state.
    static func makeStore(_ dir: TemporaryDirectory) throws -> (CalibStore, [(Session, HistogramState, TensorStats)]) {
        let store = try CalibStore(path: dir.path("h.sqlite"))
        var out: [(Session, HistogramState, TensorStats)] = []
        for (name, state, lo, hi) in try states() {
            let observer = ObserverConfig(kind: .histogram)
            let scheme = QuantScheme()
            let session = try store.createSession(name: name, observer: observer, scheme: scheme)
            let stats = TensorStats(
                observer: observer, state: .histogram(min: [lo], max: [hi], state), batches: 1, elements: 16384,
                nonfinite: 0)
            let record = TensorRecord(
                id: 0, name: "t", role: .activation, dtype: .float32, shape: [64, 256], channelAxis: nil, channels: 1)
            let batch = BatchRecord(
                seq: 0, source: "b", contentHash: String(repeating: "0", count: 31) + "\(out.count)", tensors: 1, elements: 16384,
                bytes: 65536, addedAt: "now")
            try store.commit(
                BatchCommit(batches: [batch], tensors: [Derivation.rows(for: record, stats: stats, scheme: scheme, isNew: true)]),
                session: session, expectedBatches: 0)
            out.append((session, state, stats))
        }
        return (store, out)
    }

    @Test func stateRoundTripsThroughTheStore() throws {
        let dir = TemporaryDirectory()
        let (store, sessions) = try Self.makeStore(dir)
        for (session, state, stats) in sessions {
            let reports = try store.reports(session: session)
            #expect(reports.count == 1)
            #expect(reports[0].stats == stats, "\(session.name)")
            #expect(reports[0].stats?.histogram == state)
            #expect(reports[0].stats?.observer.kind == .histogram)
            #expect(session.observer.kind == .histogram, "stats_config records the histogram observer")
        }
        let findings = try StoreCheck.run(store)
        #expect(findings.isEmpty, "\(findings)")
        // The blob's size depends on bins, not batches: AIMET 2048 + 512 bins, counts and edges,
        // and its method (a percentile: a tag and a float64).
        let sizes = try store.writer.read { db in
            try Data.fetchAll(db, sql: "SELECT histogram FROM statistics ORDER BY tensor_id").map(\.count)
        }
        #expect(sizes[0] == 14 + 4 + (28 + 4 * (2048 + 2049)) + 4 + (28 + 4 * (512 + 513)) + 4 + 9)
        #expect(sizes[1] == 14 + 4 + 20 + 4 * 2048)
    }

    /// The serialised state refuses every truncation and a wrong tag instead of trapping.
    @Test func damagedBytesThrow() throws {
        for (name, state, _, _) in try Self.states() {
            let bytes = state.serialized()
            #expect(try HistogramState(serialized: bytes) == state, "\(name)")
            for cut in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 97)) {
                #expect(throws: HistogramBytesError.self) { try HistogramState(serialized: bytes.prefix(cut)) }
            }
            var tagged = bytes
            tagged[5] = 9
            #expect(throws: HistogramBytesError.self) { try HistogramState(serialized: tagged) }
        }
    }

    /// A histogram blob changed after calib wrote it: a digest finding naming the tensor; with the
    /// digest removed too, a finding that the blob is no histogram state; and the readers throw.
    @Test func corruptBlobIsAFindingNotACrash() throws {
        let dir = TemporaryDirectory()
        let (store, sessions) = try Self.makeStore(dir)
        let torch = sessions[1].0
        try store.writer.write { db in
            try db.execute(
                sql:
                    "UPDATE statistics SET histogram = substr(histogram, 1, 30) WHERE tensor_id IN (SELECT id FROM tensors WHERE session_id = ?)",
                arguments: [torch.id])
        }
        var findings = try StoreCheck.run(store).filter { $0.tensor == "t" }
        #expect(findings.count == 1 && findings[0].message.contains("digest"), "\(findings)")
        #expect(throws: StoreError.self) { try store.reports(session: torch) }
        try store.writer.write { db in
            try db.execute(
                sql: "UPDATE statistics SET digest = NULL WHERE tensor_id IN (SELECT id FROM tensors WHERE session_id = ?)",
                arguments: [torch.id])
        }
        findings = try StoreCheck.run(store).filter { $0.tensor == "t" }
        #expect(findings.count == 1 && findings[0].message.contains("not a histogram state"), "\(findings)")
        #expect(findings.first?.session == "pytorch")
        #expect(throws: StoreError.self) { try store.reports(session: torch) }
        // The other sessions stay readable.
        #expect(try store.reports(session: sessions[0].0)[0].stats?.histogram == sessions[0].1)
    }
}
