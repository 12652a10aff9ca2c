import CalibTestSupport
import Foundation
import Testing

@testable import CalibDerivation
@testable import CalibFormats
@testable import CalibModel
@testable import CalibObservers
@testable import CalibReaders
@testable import CalibStore

/// calib's canonical histogram through the command line (`calib run --observer histogram
/// --histogram calib`): shards merged by `calib merge` equal one run bit for bit, and every
/// tool's methods re-derive from one calibration within a fraction of a step of the tools' own.
@Suite struct CanonicalHistogramCLITests {
    static let flags = ["--observer", "histogram", "--histogram", "calib"]

    static func histograms(_ db: String) throws -> [String: HistogramState] {
        let store = try CalibStore(path: db, readOnly: true)
        let session = try store.requireSession("s")
        var out: [String: HistogramState] = [:]
        for r in try store.reports(session: session) { out[r.tensor.name] = r.stats?.histogram }
        return out
    }

    static func encodings(_ db: String, _ extra: [String] = []) throws -> [String: [String: Any]] {
        let export = try CLI.run(["export", "--db", db, "s", "--format", "json"] + extra)
        #expect(export.status == 0, "\(export.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(export.stdout.utf8)) as! [String: Any]
        return json["encodings"] as! [String: [String: Any]]
    }

    @Test func shardsMergeIntoTheSingleRunBitForBit() throws {
        let dir = TemporaryDirectory()
        let batches = try ReliabilityTests.makeBatches(in: dir, count: 6, tensors: 2)
        let run = ["--convention", "onnxruntime", "--method", "percentile", "--percentile", "99.9"]
        let single = dir.path("single.sqlite")
        let r = try CLI.run(["run", "--db", single, "--session", "s"] + Self.flags + run + [batches])
        #expect(r.status == 0, "\(r.stderr)")
        var shards: [String] = []
        for i in 0..<2 {
            shards.append(dir.path("shard-\(i).sqlite"))
            let r = try CLI.run(["run", "--db", shards[i], "--session", "s", "--shard", "\(i)/2"] + Self.flags + run + [batches])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let expected = try Self.histograms(single)
        #expect(expected.count == 2)
        for (n, order) in [[0, 1], [1, 0]].enumerated() {
            let out = dir.path("merged-\(n).sqlite")
            let m = try CLI.run(["merge", "--db", out, "--session", "s"] + order.map { shards[$0] })
            #expect(m.status == 0, "\(m.stderr)")
            let merged = try Self.histograms(out)
            for (name, h) in expected {
                #expect(merged[name]?.serialized() == h.serialized(), "\(name), shards merged in order \(order)")
            }
            let a = try Self.encodings(single)
            let b = try Self.encodings(out)
            for name in a.keys {
                #expect(GoldenCase.floats(a[name]!["scale"]!) == GoldenCase.floats(b[name]!["scale"]!), "\(name) scale")
                #expect(GoldenCase.floats(a[name]!["offset"]!) == GoldenCase.floats(b[name]!["offset"]!), "\(name) offset")
            }
        }
        // Overlapping shards cannot be counted once: refused, naming the tensor.
        let overlap = dir.path("overlap.sqlite")
        #expect(try CLI.run(["run", "--db", overlap, "--session", "s"] + Self.flags + run + [batches]).status == 0)
        let refused = try CLI.run(["merge", "--db", dir.path("refused.sqlite"), "--session", "s", shards[0], overlap])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("cannot be counted once"), "\(refused.stderr)")
    }

    /// Files are counted piece by piece as the run hashes them (values straddling a piece end
    /// included), standard input's frames whole, a resumed run on top of what is stored: all three
    /// equal the library counting each tensor's values at once.
    @Test func piecewiseCountingEqualsWholeCounting() throws {
        let dir = TemporaryDirectory()
        // 2.1 MB files: several 512 KiB pieces per tensor, and a small tensor after the large one.
        var rng = SplitMix(seed: 5)
        let files = try (0..<3).map { b -> String in
            let big = (0..<(512 * 1024)).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()) & 0xBFFF_FFFF) }
            let small = (0..<15).map { Float($0) - 7 }
            let path = dir.path("b\(b).safetensors")
            try TensorFiles.safetensors([("big", [512, 1024], big), ("small", [3, 5], small)]).write(
                to: URL(fileURLWithPath: path))
            return path
        }
        let fromFiles = dir.path("files.sqlite")
        #expect(try CLI.run(["run", "--db", fromFiles, "--session", "s"] + Self.flags + files).status == 0)
        var stream = Data()
        for f in files { stream.append(try Data(contentsOf: URL(fileURLWithPath: f))) }
        let fromStdin = dir.path("stdin.sqlite")
        let piped = try CLI.run(["run", "--db", fromStdin, "--session", "s"] + Self.flags + ["-"], stdin: stream)
        #expect(piped.status == 0, "\(piped.stderr)")
        let resumed = dir.path("resumed.sqlite")
        #expect(try CLI.run(["run", "--db", resumed, "--session", "s"] + Self.flags + [files[0]]).status == 0)
        #expect(try CLI.run(["run", "--db", resumed, "--session", "s"] + Self.flags + files).status == 0)
        let reader = try BatchReader(inputs: files)
        var expected: [String: CanonicalHistogram] = [:]
        let counter = CanonicalCounter()
        while let batch = try reader.next() {
            for t in batch.tensors {
                var h = expected[t.name] ?? CanonicalHistogram()
                t.floatValues().withUnsafeBufferPointer { counter.observe($0, into: &h) }
                expected[t.name] = h
            }
        }
        for db in [fromFiles, fromStdin, resumed] {
            let stored = try Self.histograms(db)
            #expect(stored.count == expected.count)
            for (name, h) in expected {
                guard case .canonical(let got, _, _)? = stored[name] else {
                    Issue.record("\(db) \(name): no canonical histogram")
                    continue
                }
                #expect(got == h, "\(db) \(name)")
            }
        }
    }

    /// One onnxruntime-encoded run per `--bins`, then every hist_cases_ort `collect all` case's method
    /// re-derived by `calib export --method` (no data read again): within 0.25 steps of onnxruntime.
    @Test func onnxRuntimeMethodsFromOneCalibration() throws {
        let dir = TemporaryDirectory()
        let cases = OnnxRuntimeGoldenCase.all.filter { !$0.perBatch }
        for bins in Set(cases.map(\.bins)).sorted() {
            let db = dir.path("ort-\(bins).sqlite")
            let r = try CLI.run(
                ["run", "--db", db, "--session", "s", "--convention", "onnxruntime", "--bins", "\(bins)"] + Self.flags
                    + [OnnxRuntimeHistogramCLITests.batches])
            #expect(r.status == 0, "\(r.stderr)")
            for golden in cases where golden.bins == bins {
                let e = try Self.encodings(
                    db, OnnxRuntimeHistogramCLITests.methodFlags(golden) + OnnxRuntimeHistogramCLITests.schemeFlags(golden))
                for name in golden.tensors.keys {
                    let scale = golden.float(name, "scale")
                    let zp = Float(golden.int(name, "zero_point"))
                    let refMin = (Float(golden.int(name, "qmin")) - zp) * scale
                    let refMax = (Float(golden.int(name, "qmax")) - zp) * scale
                    let got = e[name]!
                    let steps =
                        max(
                            abs(Double(GoldenCase.floats(got["min"]!)[0] - refMin)),
                            abs(Double(GoldenCase.floats(got["max"]!)[0] - refMax))
                        )
                        / Double(scale)
                    #expect(steps <= 0.25, "\(golden.name) \(name): \(steps) steps")
                }
            }
        }
    }

    /// One AIMET-encoded run; each AIMET case's method re-derived with its scheme, and torch's L2 by
    /// re-deriving under --convention pytorch: within 0.25 steps of aimet-torch and torch.
    @Test func aimetAndTorchMethodsFromOneCalibration() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("aimet.sqlite")
        let batches = AimetHistogramCase.root.appendingPathComponent("batches").path
        let r = try CLI.run(["run", "--db", db, "--session", "s"] + Self.flags + [batches])
        #expect(r.status == 0, "\(r.stderr)")
        for golden in AimetHistogramCase.all {
            var extra: [String]
            if golden.convention == "aimet" {
                let s = golden.aimetScheme
                extra = ["--bitwidth", "\(s.bitwidth)", s.symmetric ? "--symmetric" : "--asymmetric"]
                extra += [s.signed ? "--signed" : "--unsigned"]
                switch golden.aimetMethod {
                case .percentile(let p): extra += ["--method", "percentile", "--percentile", "\(p)"]
                case .sqnr: extra += ["--method", "sqnr"]
                case .tfEnhanced: extra += ["--method", "tf-enhanced"]
                }
            } else {
                let s = golden.torchScheme
                extra = [
                    "--convention", "pytorch", s.symmetric ? "--symmetric" : "--asymmetric",
                    s.signed ? "--signed" : "--unsigned",
                ]
            }
            let e = try Self.encodings(db, extra)
            for name in golden.tensors.keys {
                let scale = golden.floats(name, "scale")[0]
                var ref = (min: Float(0), max: Float(0))
                if golden.convention == "aimet" {
                    ref = (golden.floats(name, "min")[0], golden.floats(name, "max")[0])
                } else {
                    let zp = Float(golden.ints(name, "zero_point")[0])
                    ref = (
                        (Float(golden.tensors[name]!["quant_min"] as! Int) - zp) * scale,
                        (Float(golden.tensors[name]!["quant_max"] as! Int) - zp) * scale
                    )
                }
                let got = e[name]!
                let steps =
                    max(
                        abs(Double(GoldenCase.floats(got["min"]!)[0] - ref.min)),
                        abs(Double(GoldenCase.floats(got["max"]!)[0] - ref.max)))
                    / Double(scale)
                #expect(steps <= 0.25, "\(golden.name) \(name): \(steps) steps")
            }
        }
        let methods = try CLI.run(["methods", "--db", db, "s"])
        #expect(methods.status == 0, "\(methods.stderr)")
        #expect(methods.stdout.contains("calib: aimet") && methods.stdout.contains("tf-enhanced"), "\(methods.stdout)")
    }

    /// TensorRT has no histogram rules of its own here: `--observer histogram --convention tensorrt`
    /// keeps the canonical one, and its range file carries the entropy amax, computed again in the
    /// test from the batches with the library's projection and search.
    @Test func tensorRTEntropyRangeInItsCache() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("trt.sqlite")
        let r = try CLI.run(
            ["run", "--db", db, "--session", "s", "--observer", "histogram", "--convention", "tensorrt"]
                + [OnnxRuntimeHistogramCLITests.batches])
        #expect(r.status == 0, "\(r.stderr)")
        let e = try Self.encodings(db)
        let reader = try BatchReader(inputs: [OnnxRuntimeHistogramCLITests.batches])
        var values: [String: [Float]] = [:]
        while let batch = try reader.next() { for t in batch.tensors { values[t.name, default: []] += t.floatValues() } }
        for (name, v) in values {
            var h = CanonicalHistogram()
            v.withUnsafeBufferPointer { CanonicalCounter().observe($0, into: &h) }
            let lo = v.min()!
            let hi = v.max()!
            let g = try #require(CanonicalMethods.tensorRTHistogram(h, min: lo, max: hi))
            let amax = TensorRTEntropy.amax(g.counts, edges: g.edges)
            let scale = GoldenCase.floats(e[name]!["scale"]!)[0]
            #expect(scale == amax / 127, "\(name): scale \(scale), amax \(amax)")
        }
        // A session encoded for AIMET writes the same entropy ranges into a TensorRT cache: the range
        // format's own tool reads the canonical histogram.
        let aimet = dir.path("aimet.sqlite")
        #expect(
            try CLI.run(["run", "--db", aimet, "--session", "s"] + Self.flags + [OnnxRuntimeHistogramCLITests.batches]).status
                == 0)
        for source in [db, aimet] {
            let cache = try CLI.run(["export", "--db", source, "s", "--format", "tensorrt"])
            #expect(cache.status == 0, "\(cache.stderr)")
            let data = Data(cache.stdout.utf8)
            #expect(try TensorRTCache.header(data).algorithm == "EntropyCalibration2")
            let table = try TensorRTCache.parse(data)
            #expect(Set(table.entries.map(\.name)) == Set(values.keys))
            for entry in table.entries {
                #expect(entry.encoding.scale == GoldenCase.floats(e[entry.name]!["scale"]!), "\(source) \(entry.name)")
            }
        }
        let refused = try CLI.run(["export", "--db", db, "s", "--format", "json", "--method", "entropy"])
        #expect(refused.status != 0)
        let tool = try CLI.run([
            "run", "--db", dir.path("t2.sqlite"), "--session", "s", "--histogram", "tool", "--convention", "tensorrt",
            OnnxRuntimeHistogramCLITests.batches,
        ])
        #expect(tool.status != 0 && tool.stderr.contains("tensorrt"), "\(tool.stderr)")
    }
}
