import CalibKit
import Foundation

/// Section 3: a large per-channel session built straight through the store API, then the reads
/// `show`/`export` do, in the library and through the `calib` executable.
enum StoreBench {
    static func run(quick: Bool, reps: Int) throws {
        let tensors = quick ? 200 : 2000, channels = 4096
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("calib-bench-store-\(getpid())").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        print("\n3. Store: a session of \(tensors) tensors x \(channels) channels (per-channel minmax, float32 statistics)")

        let store = try CalibStore(path: root + "/store.sqlite")
        // TensorRecord and BatchRecord have no public initialiser: take templates from a one-tensor run.
        let seedFile = root + "/seed.safetensors"
        try writeSeed(seedFile)
        _ = try CalibrationRunner(store: store, options: RunOptions(session: "seed")).run(BatchReader(inputs: [seedFile]))
        let seed = try store.requireSession("seed")
        guard let template = try store.reports(session: seed).first, let batchTemplate = try store.batches(session: seed.id).first
        else {
            print("   (skipped: the seed session holds no tensor)")
            return
        }

        let observer = ObserverConfig(kind: .minmax, channelAxis: 0)
        let scheme = QuantScheme()
        let session = try store.createSession(name: "big", observer: observer, scheme: scheme)
        var rng: UInt64 = 12345
        func random() -> Float {
            rng ^= rng << 13
            rng ^= rng >> 7
            rng ^= rng << 17
            return Float(rng >> 40) * 0x1p-24
        }
        func commit(seq: Int, ids: NameMap<Int64>?) throws -> (seconds: Double, ids: NameMap<Int64>) {
            var list: [(TensorRecord, TensorStats, Bool)] = []
            list.reserveCapacity(tensors)
            for t in 0..<tensors {
                var record = template.tensor
                record.name = "model.layers.\(t / 7).proj\(t % 7).weight"
                record.id = ids?[record.name] ?? 0
                record.dtype = .float32
                record.shape = [channels, 1024]
                record.channelAxis = 0
                record.channels = channels
                let mins = (0..<channels).map { _ in -random() - 0.01 }
                let maxs = (0..<channels).map { _ in random() + 0.01 }
                let stats = TensorStats(
                    observer: observer, min: mins, max: maxs, batches: seq + 1, elements: (seq + 1) * channels * 1024,
                    nonfinite: 0)
                list.append((record, stats, ids == nil))
            }
            var batch = batchTemplate
            batch.seq = seq
            batch.source = "bench#\(seq)"
            batch.contentHash = String(repeating: String(seq % 10), count: 64)
            batch.tensors = tensors
            batch.elements = tensors * channels * 1024
            let t = now()
            let rows = list.map { Derivation.rows(for: $0.0, stats: $0.1, scheme: scheme, isNew: $0.2) }
            let ids = try store.commit(BatchCommit(batches: [batch], tensors: rows), session: session, expectedBatches: seq)
                .tensorIDs
            return (now() - t, ids)
        }
        let first = try commit(seq: 0, ids: nil)
        let second = try commit(seq: 1, ids: first.ids)

        var reports: [TensorReport] = []
        let reportsSeconds = try best(reps, slow: 2) { reports = try store.reports(session: session) }
        let session2 = try store.requireSession("big")
        // What `calib export --format json -o FILE` does after fetching: the streaming writer.
        let file = root + "/export.json"
        let renderSeconds = try best(reps, slow: 2) { try EncodingsJSON.export(session: session2, reports: reports, to: file) }
        let bytes = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        reports = []
        try FileManager.default.removeItem(atPath: file)
        let name = "model.layers.\(tensors / 14).proj3.weight"
        let oneSeconds = try best(reps) {
            guard try store.report(session: session.id, tensor: name) != nil else { fatalError("tensor \(name) missing") }
        }

        var table = Table(header: ["operation", "time", "target"])
        table.rightAligned = [1]
        table.add(["commit, batch 1 (creates \(tensors) tensors)", ms(first.seconds), ""])
        table.add(["commit, batch 2 (updates \(tensors) tensors)", ms(second.seconds), ""])
        table.add(["store.reports(session:)", ms(reportsSeconds), ""])
        table.add(["EncodingsJSON.export(...) to a file (\(mib(bytes)) MiB)", ms(renderSeconds), ""])
        table.add(["library export = reports + render", ms(reportsSeconds + renderSeconds), ""])
        table.add(["store.report(session:tensor:) (one tensor)", ms(oneSeconds), ""])
        // The real thing: the calib binary beside this one, as a user runs it (process start, opening
        // the database, fetching, deriving, checking, rendering, writing).
        if let calib = Subprocess.calib {
            let db = root + "/store.sqlite"
            func cli(_ arguments: [String]) throws -> Double {
                let r = try Subprocess.run(calib, arguments)
                guard r.status == 0 else {
                    throw BenchError("calib \(arguments.joined(separator: " ")) exited \(r.status): \(r.stderr)")
                }
                return r.seconds
            }
            var exportSeconds = Double.infinity, showSeconds = Double.infinity
            for _ in 0..<max(1, min(reps, 3)) {
                exportSeconds = min(exportSeconds, try cli(["export", "--db", db, "big", "--format", "json", "-o", file]))
            }
            let size = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
            try FileManager.default.removeItem(atPath: file)
            for _ in 0..<reps { showSeconds = min(showSeconds, try cli(["show", "--db", db, "big", "--tensor", name])) }
            table.add([
                "calib export --format json -o FILE (\(mib(size)) MiB)", ms(exportSeconds),
                (exportSeconds < 2 ? "met" : "MISSED") + " < 2 s",
            ])
            table.add([
                "calib show --tensor NAME (one tensor)", ms(showSeconds), (showSeconds < 0.05 ? "met" : "MISSED") + " < 50 ms",
            ])
        } else {
            table.add(["calib export / calib show: no calib executable beside calib-bench (build it)", "-", ""])
        }
        print(table.render())
    }

    static func mib(_ bytes: Int) -> String { String(format: "%.0f", Double(bytes) / 1_048_576) }

    static func ms(_ s: Double) -> String { s >= 1 ? String(format: "%.2f s", s) : String(format: "%.1f ms", s * 1000) }

    static func writeSeed(_ path: String) throws {
        var header = "{\"seed\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}"
        while header.utf8.count % 8 != 0 { header += " " }
        var bytes = [UInt8]()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { bytes += $0 }
        bytes += header.utf8
        for v: Float in [1, -2, 3, -4] { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}
