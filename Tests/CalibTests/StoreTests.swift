import CalibTestSupport
import Foundation
import GRDB
import Testing

@testable import CalibDerivation
@testable import CalibKit
@testable import CalibModel
@testable import CalibObservers
@testable import CalibReaders
@testable import CalibStore
@testable import CalibSupport

@Suite struct StoreTests {
    /// Migration names are append-only: renaming an applied one would run it again. This pins the list.
    @Test func migrationListIsPinned() throws {
        #expect(
            Schema.migrationNames == [
                "0001_initial", "0002_roles_labels_imports", "0003_batch_hash", "0005_row_digests", "0006_session_writer",
                "0007_histograms", "0008_batch_origin",
            ])
        let store = try CalibStore()
        #expect(try store.appliedMigrations() == Schema.migrationNames)
    }

    @Test func fileDatabaseUsesWALAndRecordsChecksums() throws {
        let dir = TemporaryDirectory()
        let store = try CalibStore(path: dir.path("a.sqlite"))
        try store.writer.read { db in
            #expect(try String.fetchOne(db, sql: "PRAGMA journal_mode") == "wal")
            #expect(try Int.fetchOne(db, sql: "PRAGMA user_version") == Schema.migrationNames.count)
            let rows = try Row.fetchAll(db, sql: "SELECT name, checksum FROM calib_migrations ORDER BY name")
            #expect(rows.count == Schema.migrationNames.count)
            #expect(rows[0]["checksum"] as String == Schema.checksum(embeddedSQL("0001_initial")))
        }
    }

    @Test func newerSchemaIsRefused() throws {
        let dir = TemporaryDirectory()
        let path = dir.path("future.sqlite")
        do {
            let store = try CalibStore(path: path)
            try store.writer.write { db in
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('0099_from_the_future')")
            }
        }
        #expect {
            try CalibStore(path: path)
        } throws: { error in
            guard case StoreError.newerSchema(_, let unknown) = error else { return false }
            return unknown == ["0099_from_the_future"]
        }
        #expect(throws: StoreError.self) { try CalibStore(path: path, readOnly: true) }
    }

    @Test func editedMigrationIsDetected() throws {
        let dir = TemporaryDirectory()
        let path = dir.path("edited.sqlite")
        do {
            let store = try CalibStore(path: path)
            try store.writer.write { db in
                try db.execute(sql: "UPDATE calib_migrations SET checksum = 'x' WHERE name = '0001_initial'")
            }
        }
        #expect {
            try CalibStore(path: path)
        } throws: { error in
            guard case StoreError.migrationChanged("0001_initial") = error else { return false }
            return true
        }
    }

    /// Schema 3 keeps what schema 2 stored: its sessions stay SHA-256 (their batches are still
    /// recognised), the column is renamed, and new sessions get XXH3-128.
    @Test func schemaTwoDatabaseUpgradesKeepingSHA256Sessions() throws {
        let dir = TemporaryDirectory()
        let path = dir.path("v2.sqlite")
        let batchFile = Fixtures.path("golden/cases/aimet_multibatch_asym_unsigned_8/batches/000.safetensors")
        let sha = try BatchReader.hashOf(batchFile, .sha256)
        do {
            let old = try DatabaseQueue(path: path)
            try Schema.migrator.migrate(old, upTo: "0002_roles_labels_imports")
            try old.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO sessions (name, created_at, updated_at, status, stats_config, encoding_config, tool_version)
                        VALUES ('old', 'then', 'then', 'ready', '{"averaging_constant":0.01,"observer":"minmax","per_channel_axis":null,"tensors":[]}',
                                '{"bitwidth":8,"convention":"aimet","reduce_range":false,"signed":false,"symmetric":false}', '0.1')
                        """)
                try db.execute(
                    sql:
                        "INSERT INTO batches (session_id, seq, source, sha256, tensors, elements, bytes, added_at) VALUES (1, 0, 'b', ?, 0, 0, 1, 'then')",
                    arguments: [sha])
            }
        }
        let store = try CalibStore(path: path)
        let old = try store.requireSession("old")
        #expect(old.batchHash == .sha256)
        #expect(try store.batches(session: old.id).map(\.contentHash) == [sha])
        #expect(try store.batch(withContentHash: sha, session: old.id) != nil)
        let new = try store.createSession(name: "new", observer: ObserverConfig(), scheme: QuantScheme())
        #expect(new.batchHash == .xxh3_128)
    }

    /// A SHA-256 session resumed by this calib hashes with SHA-256: stored batches are skipped, new
    /// ones are stored with SHA-256 digests, and `check` finds nothing.
    @Test func sha256SessionsResumeWithTheirOwnHash() throws {
        let dir = TemporaryDirectory()
        let path = dir.path("resume.sqlite")
        let batches = Fixtures.path("golden/cases/aimet_multibatch_asym_unsigned_8/batches")
        let files = try FileManager.default.contentsOfDirectory(atPath: batches).sorted().map { batches + "/" + $0 }
        let store = try CalibStore(path: path)
        let session = try store.createSession(name: "s", observer: ObserverConfig(), scheme: QuantScheme())
        try store.writer.write { db in
            try db.execute(sql: "UPDATE sessions SET batch_hash = 'sha256' WHERE id = ?", arguments: [session.id])
        }
        let runner = CalibrationRunner(store: store, options: RunOptions(session: "s"))
        #expect(try runner.run(BatchReader(inputs: [files[0]])).added == 1)
        let again = try runner.run(BatchReader(inputs: files))
        #expect(again.added == files.count - 1 && again.skipped == 1)
        #expect(try store.batches(session: session.id).map(\.contentHash) == files.map { try BatchReader.hashOf($0, .sha256) })
        #expect(try store.check().isEmpty)
        // A digest of the wrong length for the session's algorithm is a finding.
        try store.writer.write { db in try db.execute(sql: "UPDATE batches SET content_hash = 'abc' WHERE seq = 1") }
        #expect(try store.check().map(\.description) == ["session 's': 1 batch (first: 1) without a sha256 content hash"])
    }

    @Test func readOnlyOpenDoesNotCreateADatabase() throws {
        let dir = TemporaryDirectory()
        let path = dir.path("absent.sqlite")
        #expect(throws: StoreError.self) { try CalibStore(path: path, readOnly: true) }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test(arguments: StoreKind.allCases)
    func statisticsAndEncodingsRoundTripExactly(_ kind: StoreKind) throws {
        let storeDir = TemporaryDirectory()
        let store = try kind.make(in: storeDir)
        let observer = ObserverConfig(kind: .ema, averagingConstant: 0.25, channelAxis: 1)
        let scheme = QuantScheme(bitwidth: 4, symmetric: true)
        let session = try store.createSession(name: "x", observer: observer, scheme: scheme, model: "m")
        var stats = TensorStats(observer: observer, channels: 3)
        stats.accumulate(BatchRange(min: [-1, .infinity, -0.1], max: [1, -.infinity, 3.3], elements: 30, nonfinite: 2))
        let record = TensorRecord(
            id: 0, name: "t", role: .activation, dtype: .float16, shape: [2, 3, 5], channelAxis: 1, channels: 3)
        let batch = BatchRecord(seq: 0, source: "b", contentHash: "ab", tensors: 1, elements: 30, bytes: 60, addedAt: "now")
        try store.commit(
            BatchCommit(batches: [batch], tensors: [Derivation.rows(for: record, stats: stats, scheme: scheme, isNew: true)]),
            session: session, expectedBatches: 0)
        let reports = try store.reports(session: session)
        #expect(reports.count == 1)
        #expect(reports[0].stats == stats)
        #expect(reports[0].encoding == stats.encoding(scheme, channelAxis: 1))
        #expect(reports[0].tensor.shape == [2, 3, 5])
        #expect(reports[0].tensor.dtype == .float16)
        // A stale writer (expecting 0 batches when there is 1) is refused, not merged.
        #expect(throws: StoreError.self) {
            try store.commit(
                BatchCommit(
                    batches: [batch], tensors: [Derivation.rows(for: record, stats: stats, scheme: scheme, isNew: false)]),
                session: session, expectedBatches: 0)
        }
    }

    /// Ranges compare in IEEE total order across batches, as the kernels do within one: -0 < +0, so
    /// the stored bits do not depend on the order the batches came in.
    @Test func minMaxAccumulationIsOrderIndependentForSignedZeros() {
        let observer = ObserverConfig(kind: .minmax)
        let negative = BatchRange(min: [-0.0], max: [-0.0], elements: 1, nonfinite: 0)
        let positive = BatchRange(min: [0.0], max: [0.0], elements: 1, nonfinite: 0)
        var a = TensorStats(observer: observer, channels: 1), b = a
        a.accumulate(negative)
        a.accumulate(positive)
        b.accumulate(positive)
        b.accumulate(negative)
        #expect(a.min.map(\.bitPattern) == [(-0.0 as Float).bitPattern] && b.min.map(\.bitPattern) == a.min.map(\.bitPattern))
        #expect(a.max.map(\.bitPattern) == [(0.0 as Float).bitPattern] && b.max.map(\.bitPattern) == a.max.map(\.bitPattern))
    }

    @Test(arguments: StoreKind.allCases)
    func resumingGivesTheSameResultAsOneRun(_ kind: StoreKind) throws {
        let storeDir = TemporaryDirectory()
        let batches = Fixtures.path("golden/cases/torch_ema_quint8_affine/batches")
        let files = try FileManager.default.contentsOfDirectory(atPath: batches).sorted().map { batches + "/" + $0 }
        let options = RunOptions(session: "ema", settings: SettingsOverride(observer: .ema, convention: .pytorch))
        let whole = try kind.make(in: storeDir, name: "whole")
        _ = try CalibrationRunner(store: whole, options: options).run(try BatchReader(inputs: files))
        let pieces = try kind.make(in: storeDir, name: "pieces")
        _ = try CalibrationRunner(store: pieces, options: options).run(try BatchReader(inputs: Array(files[..<2])))
        // The resumed run repeats the first batches (skipped) and adds the rest; EMA order is kept.
        let resumed = try CalibrationRunner(store: pieces, options: RunOptions(session: "ema")).run(
            try BatchReader(inputs: files))
        #expect(resumed.added == 3 && resumed.skipped == 2)
        let a = try whole.reports(session: whole.requireSession("ema"))
        let b = try pieces.reports(session: pieces.requireSession("ema"))
        #expect(a == b)
        #expect(a[0].stats?.batches == 5)
    }

    /// Several batches in one transaction store exactly what one transaction per batch stores: the
    /// same batch rows in order and the same statistics and encodings (EMA: order- and count-sensitive).
    @Test(arguments: StoreKind.allCases)
    func batchesSharingATransactionStoreWhatSeparateOnesDo(_ kind: StoreKind) throws {
        let storeDir = TemporaryDirectory()
        let batches = Fixtures.path("golden/cases/torch_ema_quint8_affine/batches")
        let files = try FileManager.default.contentsOfDirectory(atPath: batches).sorted().map { batches + "/" + $0 }
        let settings = SettingsOverride(observer: .ema, granularity: .axis(-1), convention: .pytorch)
        let allInOne = CommitPolicy(maxBatches: 1000, costRatio: 1e9, maxSeconds: 1e9)
        var results: [([TensorReport], [BatchRecord])] = []
        var committed: [[Int]] = []
        for policy in [CommitPolicy.everyBatch, allInOne, CommitPolicy(maxBatches: 2, costRatio: 1e9, maxSeconds: 1e9)] {
            let store = try kind.make(in: storeDir, name: "policy\(committed.count)")
            var seqs: [Int] = []
            let summary = try CalibrationRunner(
                store: store, options: RunOptions(session: "s", settings: settings, commitPolicy: policy)
            )
            .run(try BatchReader(inputs: files)) { if case .committed(let b) = $0 { seqs.append(b.seq) } }
            #expect(summary.added == files.count && summary.totalBatches == files.count)
            let id = try store.requireSession("s").id
            results.append(
                (
                    try store.reports(session: store.requireSession("s")),
                    try store.batches(session: id).map {
                        var b = $0
                        b.addedAt = ""
                        return b
                    }
                ))
            committed.append(seqs)
            #expect(try store.check().isEmpty)
        }
        #expect(results[1].0 == results[0].0 && results[2].0 == results[0].0)
        #expect(results[1].1 == results[0].1 && results[2].1 == results[0].1)
        #expect(committed.allSatisfy { $0 == Array(0..<files.count) })
    }

    /// A batch given twice while the first copy still waits for its transaction counts once; a bad
    /// batch after good ones that share a transaction leaves the good ones stored.
    @Test(arguments: StoreKind.allCases)
    func pendingBatchesAreDeduplicatedAndKeptOnError(_ kind: StoreKind) throws {
        let storeDir = TemporaryDirectory()
        let dir = TemporaryDirectory()
        let batches = Fixtures.path("golden/cases/aimet_multibatch_asym_unsigned_8/batches")
        let files = try FileManager.default.contentsOfDirectory(atPath: batches).sorted().map { batches + "/" + $0 }
        let allInOne = CommitPolicy(maxBatches: 1000, costRatio: 1e9, maxSeconds: 1e9)
        let store = try kind.make(in: storeDir)
        let twice = try CalibrationRunner(store: store, options: RunOptions(session: "s", commitPolicy: allInOne))
            .run(try BatchReader(inputs: [files[0], files[1], files[0]]))
        #expect(twice.added == 2 && twice.skipped == 1 && twice.totalBatches == 2)

        let bad = dir.path("zz-bad.safetensors")
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: bad))
        let other = try kind.make(in: storeDir, name: "other")
        #expect(throws: InputError.self) {
            try CalibrationRunner(store: other, options: RunOptions(session: "t", commitPolicy: allInOne)).run(
                try BatchReader(inputs: files + [bad]))
        }
        let t = try other.requireSession("t")
        #expect(try other.batches(session: t.id).count == files.count)
        #expect(t.status == .interrupted)
        #expect(try other.check().isEmpty)
    }

    @Test(arguments: StoreKind.allCases)
    func changingTheSchemeReDerivesEveryEncoding(_ kind: StoreKind) throws {
        let storeDir = TemporaryDirectory()
        let store = try kind.make(in: storeDir)
        let input = Fixtures.path("golden/cases/aimet_multibatch_sym_signed_4/batches")
        _ = try CalibrationRunner(store: store, options: RunOptions(session: "s")).run(try BatchReader(inputs: [input]))
        // A later run with new encoding flags (and nothing new to observe) re-derives the stored encodings.
        let options = RunOptions(session: "s", settings: SettingsOverride(bitwidth: 4, symmetric: true))
        let summary = try CalibrationRunner(store: store, options: options).run(try BatchReader(inputs: [input]))
        #expect(summary.added == 0)
        let golden = GoldenCase.all.first { $0.name == "aimet_multibatch_sym_signed_4" }!
        for r in try store.reports(session: store.requireSession("s")) {
            #expect(bits(r.encoding.scale) == bits(golden.floats(r.tensor.name, "scale")))
            #expect(r.encoding.scheme == QuantScheme(bitwidth: 4, symmetric: true))
        }
    }

    func embeddedSQL(_ name: String) -> String {
        try! String(
            contentsOf: Fixtures.root.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("migrations/\(name).sql"), encoding: .utf8)
    }
}

extension BatchReader {
    /// The content hash the reader gives the one batch at `path`.
    static func hashOf(_ path: String, _ algorithm: ContentHashAlgorithm) throws -> String {
        let reader = try BatchReader(inputs: [path])
        return try #require(try reader.next(hash: algorithm)).contentHash
    }
}
