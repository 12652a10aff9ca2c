import CalibKit
import Foundation

/// Section 3: a large per-channel session built straight through the store API, then the reads
/// `show`/`export` do.
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
        guard let template = try store.reports(session: seed.id).first, let batchTemplate = try store.batches(session: seed.id).first else {
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
        func commit(seq: Int, ids: [String: Int64]?) throws -> (seconds: Double, ids: [String: Int64]) {
            var list: [BatchCommit.Tensor] = []
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
                    observer: observer, min: mins, max: maxs, batches: seq + 1, elements: (seq + 1) * channels * 1024, nonfinite: 0)
                list.append(BatchCommit.Tensor(record: record, stats: stats, scheme: scheme, isNew: ids == nil))
            }
            var batch = batchTemplate
            batch.seq = seq
            batch.source = "bench#\(seq)"
            batch.sha256 = String(repeating: String(seq % 10), count: 64)
            batch.tensors = tensors
            batch.elements = tensors * channels * 1024
            let t = now()
            let ids = try store.commit(BatchCommit(batch: batch, tensors: list), session: session, expectedBatches: seq)
            return (now() - t, ids)
        }
        let first = try commit(seq: 0, ids: nil)
        let second = try commit(seq: 1, ids: first.ids)

        var reports: [TensorReport] = []
        let reportsSeconds = try best(reps, slow: 2) { reports = try store.reports(session: session.id) }
        var rendered = ""
        let session2 = try store.requireSession("big")
        let renderSeconds = best(reps, slow: 2) { rendered = EncodingsJSON.document(session: session2, reports: reports).rendered() }
        let name = "model.layers.\(tensors / 14).proj3.weight"
        let oneSeconds = try best(reps) {
            guard try store.report(session: session.id, tensor: name) != nil else { fatalError("tensor \(name) missing") }
        }

        var table = Table(header: ["operation", "time", "target"])
        table.rightAligned = [1]
        table.add(["commit, batch 1 (creates \(tensors) tensors)", ms(first.seconds), ""])
        table.add(["commit, batch 2 (updates \(tensors) tensors)", ms(second.seconds), ""])
        table.add(["store.reports(session:)", ms(reportsSeconds), ""])
        table.add(["EncodingsJSON.document(...).rendered() (\(rendered.utf8.count >> 20) MiB)", ms(renderSeconds), ""])
        let export = reportsSeconds + renderSeconds
        table.add(["export = reports + render", ms(export), (export < 2 ? "met" : "MISSED") + " < 2 s"])
        table.add(["store.report(session:tensor:) (one tensor)", ms(oneSeconds), (oneSeconds < 0.05 ? "met" : "MISSED") + " < 50 ms"])
        print(table.render())
    }

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
