import CalibKit
import Foundation

/// Section 4: the histogram observers, one core, on float32 activation-like values (a bell of
/// width ~2 with sparse outliers to ±60) fed in batches; against torch's HistogramObserver and
/// onnxruntime's HistogramCollector on the same bytes (bench/histogram_baseline.py, which reads
/// the data from a file this section writes).
enum HistogramBench {
    static func run(quick: Bool, reps: Int, python: String?) throws {
        let bytes = quick ? 16 << 20 : 256 << 20
        let batchCount = 16
        let count = bytes / 4
        print(
            "\n4. Histogram observers (\(bytes >> 20) MiB of float32 in \(batchCount) batches, one core; GB/s = input bytes / time)"
        )
        let buffer = Buffer(bytes: bytes)
        fill(buffer)
        let values = UnsafeBufferPointer(start: buffer.base.assumingMemoryBound(to: Float.self), count: count)
        let batches = (0..<batchCount).map { b in
            let from = count * b / batchCount
            let to = count * (b + 1) / batchCount
            return UnsafeBufferPointer(rebasing: values[from..<to])
        }

        var rows: [(String, Double)] = []
        let counter = CanonicalCounter()
        var canonical = CanonicalHistogram()
        let tCanonical = best(reps) {
            canonical = CanonicalHistogram()
            for b in batches { counter.observe(b, into: &canonical) }
        }
        rows.append(("calib canonical (--histogram calib): count + drain + merge", gbps(bytes, tCanonical)))
        let slow = quick ? 30.0 : 8.0
        let tAimet = best(min(reps, 2), slow: slow) {
            var main = AimetHistogram(method: .sqnr)
            var tf = AimetHistogram(method: .tfEnhanced)
            for b in batches {
                main.observe(b)
                tf.observe(b)
            }
            sink = main.counts
        }
        rows.append(("calib aimet (2048 + 512 bins, AIMET's re-binning)", gbps(bytes, tAimet)))
        let tTorch = best(min(reps, 2), slow: slow) {
            var h = TorchHistogram()
            for b in batches { h.observe(b) }
            sink = h.counts
        }
        rows.append(("calib pytorch (HistogramObserver's rules)", gbps(bytes, tTorch)))
        for (kind, bins) in [(OnnxRuntimeHistogram.Kind.signed, 128), (.signed, 2048), (.absolute, 2048)] {
            let t = best(min(reps, 2), slow: slow) {
                var h = OnnxRuntimeHistogram(kind: kind, bins: bins)
                var extent = CollectExtent()
                for b in batches { extent.add(b) }
                var pass = try! h.beginCollect(extent)
                for b in batches { pass.count(b) }
                h.finish(pass)
            }
            let what = kind == .signed ? "signed" : "|x|"
            rows.append(("calib onnxruntime \(what) \(bins) bins (--collect all: 2 passes)", gbps(bytes, t)))
        }
        print(
            "   canonical histogram: \(canonical.bins.count) bins hold \(canonical.total) values, \(canonical.serialized().count) bytes stored"
        )
        for (label, g) in rows {
            print("   \(label.padding(toLength: 64, withPad: " ", startingAt: 0)) \(String(format: "%8.3f", g)) GB/s")
        }

        guard let python else { return }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("calib-bench-hist-\(getpid()).f32")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(buffer.bytes).write(to: file)
        let script = URL(fileURLWithPath: Baseline.script()).deletingLastPathComponent().appendingPathComponent(
            "histogram_baseline.py"
        ).path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            python, script, "--data", file.path, "--batches", "\(batchCount)", "--reps", "\(min(reps, 3))", "--json",
        ]
        let out = Pipe()
        process.standardOutput = out
        do { try process.run() } catch {
            print("   (histogram baselines skipped: cannot run \(python): \(error))")
            return
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let results = json["results"] as? [[String: Any]]
        else {
            print("   (histogram baselines skipped: \(python) \(script) failed with status \(process.terminationStatus))")
            return
        }
        print(
            "   baselines: \((json["info"] as? [String: Any])?.map { "\($0.key) \($0.value)" }.sorted().joined(separator: ", ") ?? "")"
        )
        for row in results {
            guard let label = row["baseline"] as? String, let g = row["gbps"] as? Double else { continue }
            let ratio = gbps(bytes, tCanonical) / g
            print(
                "   \(label.padding(toLength: 64, withPad: " ", startingAt: 0)) \(String(format: "%8.3f", g)) GB/s   calib canonical \(f1(ratio))x"
            )
        }
    }

    /// Activation-like values: a sum of four uniforms (a bell of width ~2), one in 10^4 an outlier
    /// up to ±60, the mix a transformer's attention outputs show.
    static func fill(_ buffer: Buffer) {
        let p = buffer.base.assumingMemoryBound(to: Float.self)
        var s: UInt64 = 0x2545_F491_4F6C_DD1D
        func next() -> Float {
            s ^= s << 13
            s ^= s >> 7
            s ^= s << 17
            return Float(s >> 40) * 0x1p-24
        }
        for i in 0..<(buffer.count / 4) {
            let bell = (next() + next() + next() + next() - 2) * 2
            p[i] = next() < 1e-4 ? (next() * 120 - 60) : bell
        }
    }
}
