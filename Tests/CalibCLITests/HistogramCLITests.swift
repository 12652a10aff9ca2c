import CalibTestSupport
import Foundation
import Testing

@testable import CalibDerivation
@testable import CalibFormats
@testable import CalibModel
@testable import CalibObservers
@testable import CalibSupport

/// torch's HistogramObserver and AIMET's histogram analyzers through the command line (`calib run
/// --observer histogram --convention pytorch|aimet`, then `calib export --format json`): every
/// case of hist_cases bit for bit, from the fixtures' own batch files.
@Suite struct HistogramCLITests {
    /// The scheme flags of a torch case: quint8 affine or qint8 symmetric.
    static func flags(_ golden: AimetHistogramCase) -> [String] {
        let symmetric = (golden.config["qscheme"] as! String).contains("symmetric")
        let signed = golden.config["dtype"] as! String == "qint8"
        return [
            "--observer", "histogram", "--convention", "pytorch", symmetric ? "--symmetric" : "--asymmetric",
            signed ? "--signed" : "--unsigned",
        ] + ((golden.config["reduce_range"] as! Bool) ? ["--reduce-range"] : [])
    }

    /// The method flags of an AIMET case: `--method` and, for the percentile, `--percentile`.
    static func methodFlags(_ golden: AimetHistogramCase) -> [String] {
        switch golden.aimetMethod {
        case .percentile(let p): ["--method", "percentile", "--percentile", "\(p)"]
        case .sqnr: ["--method", "sqnr"]
        case .tfEnhanced: ["--method", "tf-enhanced"]
        }
    }

    /// The encoding flags of an AIMET case: bitwidth, symmetry and signedness.
    static func aimetSchemeFlags(_ golden: AimetHistogramCase) -> [String] {
        let s = golden.aimetScheme
        return [
            "--bitwidth", "\(s.bitwidth)", s.symmetric ? "--symmetric" : "--asymmetric", s.signed ? "--signed" : "--unsigned",
        ]
    }

    /// Every flag `calib run` takes for an AIMET case.
    static func aimetFlags(_ golden: AimetHistogramCase) -> [String] {
        ["--observer", "histogram", "--convention", "aimet"] + methodFlags(golden) + aimetSchemeFlags(golden)
    }

    /// Runs `inputs` (one `calib run` per element) into one session and exports it.
    static func export(_ golden: AimetHistogramCase, runs: [[String]]) throws -> [String: [String: Any]] {
        let dir = TemporaryDirectory()
        let db = dir.path("h.sqlite")
        let flags = golden.convention == "aimet" ? aimetFlags(golden) : flags(golden)
        for inputs in runs {
            let run = try CLI.run(["run", "--db", db, "--session", "s"] + flags + inputs)
            #expect(run.status == 0, "\(run.stderr)")
        }
        return try exportJSON(db: db, dir: dir)
    }

    /// `calib export --db DB s --format json` with `extra` flags, parsed.
    static func exportJSON(
        db: String, dir: TemporaryDirectory, session: String = "s", _ extra: [String] = []
    ) throws -> [String: [String: Any]] {
        let out = dir.path("e.json")
        let export = try CLI.run(["export", "--db", db, session, "--format", "json", "-o", out] + extra)
        #expect(export.status == 0, "\(export.stderr)")
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as! [String: Any]
        return doc["encodings"] as! [String: [String: Any]]
    }

    /// An AIMET case's scale, offset and encoding range, as float32 bit patterns.
    static func expectAimetGolden(_ golden: AimetHistogramCase, _ encodings: [String: [String: Any]]) {
        #expect(Set(encodings.keys) == Set(golden.tensors.keys))
        for (name, e) in encodings {
            expectSameBits(GoldenCase.floats(e["scale"]!), golden.floats(name, "scale"), "\(name) scale")
            #expect(GoldenCase.floats(e["offset"]!).map { Int($0) } == golden.ints(name, "offset"), "\(name) offset")
            expectSameBits(GoldenCase.floats(e["min"]!), golden.floats(name, "min"), "\(name) min")
            expectSameBits(GoldenCase.floats(e["max"]!), golden.floats(name, "max"), "\(name) max")
            #expect(e["convention"] as? String == "aimet")
            #expect(e["bitwidth"] as? Int == golden.aimetScheme.bitwidth)
            #expect(e["batches"] as? Int == golden.batchPaths.count)
        }
    }

    /// `calib run --observer histogram --convention aimet --method ...` with the case's scheme,
    /// then `calib export --format json`: AIMET's own values bit for bit.
    @Test(arguments: AimetHistogramCase.aimet)
    func aimetCase(_ golden: AimetHistogramCase) throws {
        Self.expectAimetGolden(golden, try Self.export(golden, runs: [golden.batchPaths]))
    }

    /// Two runs of two batches each continue the stored AIMET histograms (read back from their
    /// BLOB); the second run, without --method, keeps the method the first stored.
    @Test(
        arguments: AimetHistogramCase.aimet.filter {
            $0.name.hasPrefix("aimet_percentile99.9_asym") || $0.name.hasPrefix("aimet_tfenhanced")
        })
    func aimetResumedRun(_ golden: AimetHistogramCase) throws {
        let dir = TemporaryDirectory()
        let db = dir.path("h.sqlite")
        let paths = golden.batchPaths
        let first = try CLI.run(["run", "--db", db, "--session", "s"] + Self.aimetFlags(golden) + Array(paths[..<2]))
        #expect(first.status == 0, "\(first.stderr)")
        let second = try CLI.run(["run", "--db", db, "--session", "s"] + Array(paths[2...]))
        #expect(second.status == 0, "\(second.stderr)")
        Self.expectAimetGolden(golden, try Self.exportJSON(db: db, dir: dir))
    }

    /// Running the same batches again with another --method skips them as duplicates but stores the
    /// new method: the default encoding is re-derived from the stored histograms.
    @Test func rerunWithAnotherMethodRederives() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("h.sqlite")
        let sqnr = try #require(AimetHistogramCase.aimet.first { $0.name == "aimet_sqnr_asym_unsigned_8" })
        let tf = try #require(AimetHistogramCase.aimet.first { $0.name == "aimet_tfenhanced_asym_unsigned_8" })
        let first = try CLI.run(["run", "--db", db, "--session", "s"] + Self.aimetFlags(sqnr) + sqnr.batchPaths)
        #expect(first.status == 0, "\(first.stderr)")
        Self.expectAimetGolden(sqnr, try Self.exportJSON(db: db, dir: dir))
        // A set derived before, without --method, records the stored method: it stays the sqnr
        // encodings, and `check` still re-derives it as such after the method changes.
        let derive = try CLI.run(["derive", "--db", db, "s", "--label", "before"])
        #expect(derive.status == 0, "\(derive.stderr)")
        let again = try CLI.run(["run", "--db", db, "--session", "s", "--method", "tf-enhanced"] + tf.batchPaths)
        #expect(again.status == 0 && again.stderr.contains("re-derived the encodings of 2 tensors"), "\(again.stderr)")
        Self.expectAimetGolden(tf, try Self.exportJSON(db: db, dir: dir))
        Self.expectAimetGolden(sqnr, try Self.exportJSON(db: db, dir: dir, ["--label", "before"]))
        let check = try CLI.run(["check", "--db", db])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }

    /// One AIMET calibration (sqnr, 8-bit asymmetric) re-derived by `export --method` (with each
    /// case's scheme flags) from the stored histograms, without reading the batches again: every
    /// AIMET case (they share their batches) bit for bit, and the stored default unchanged.
    @Test func aimetMethodsFromOneSession() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("h.sqlite")
        let sqnr = try #require(AimetHistogramCase.aimet.first { $0.name == "aimet_sqnr_asym_unsigned_8" })
        let run = try CLI.run(["run", "--db", db, "--session", "s"] + Self.aimetFlags(sqnr) + sqnr.batchPaths)
        #expect(run.status == 0, "\(run.stderr)")
        for golden in AimetHistogramCase.aimet {
            Self.expectAimetGolden(
                golden, try Self.exportJSON(db: db, dir: dir, Self.methodFlags(golden) + Self.aimetSchemeFlags(golden)))
        }
        Self.expectAimetGolden(sqnr, try Self.exportJSON(db: db, dir: dir))
        // show --json re-derives the same way.
        let p999 = try #require(AimetHistogramCase.aimet.first { $0.name == "aimet_percentile99.9_sym_signed_8" })
        let show = try CLI.run(["show", "--db", db, "s", "--json"] + Self.methodFlags(p999) + Self.aimetSchemeFlags(p999))
        #expect(show.status == 0, "\(show.stderr)")
        let doc = try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as! [String: Any]
        Self.expectAimetGolden(p999, doc["encodings"] as! [String: [String: Any]])
        // derive --label stores a method as a labelled set that exports like any other.
        let tf = try #require(AimetHistogramCase.aimet.first { $0.name == "aimet_tfenhanced_asym_unsigned_8" })
        let derive = try CLI.run(["derive", "--db", db, "s", "--label", "tf"] + Self.methodFlags(tf))
        #expect(derive.status == 0, "\(derive.stderr)")
        Self.expectAimetGolden(tf, try Self.exportJSON(db: db, dir: dir, ["--label", "tf"]))
        let check = try CLI.run(["check", "--db", db])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }

    /// --method and --percentile refused where they mean nothing.
    @Test func methodRefusals() throws {
        let golden = AimetHistogramCase.pytorch[0]
        let dir = TemporaryDirectory()
        let db = dir.path("h.sqlite")
        let noP = try CLI.run(
            ["run", "--db", db, "--session", "a", "--observer", "histogram", "--method", "percentile"] + golden.batchPaths)
        #expect(noP.status != 0 && noP.stderr.contains("needs --percentile"), "\(noP.stderr)")
        let range = try CLI.run(
            ["run", "--db", db, "--session", "a", "--observer", "histogram", "--method", "percentile", "--percentile", "40"]
                + golden.batchPaths)
        #expect(range.status != 0 && range.stderr.contains("[50, 100]"), "\(range.stderr)")
        let minmax = try CLI.run(["run", "--db", db, "--session", "m", "--method", "sqnr", golden.batchPaths[0]])
        #expect(minmax.status != 0 && minmax.stderr.contains("AIMET, onnxruntime or calib histogram"), "\(minmax.stderr)")
        let torch = try CLI.run(["run", "--db", db, "--session", "t"] + Self.flags(golden) + [golden.batchPaths[0]])
        #expect(torch.status == 0, "\(torch.stderr)")
        let export = try CLI.run(["export", "--db", db, "t", "--format", "json", "--method", "sqnr"])
        #expect(
            export.status != 0 && export.stderr.contains("holds no AIMET, onnxruntime or calib histogram"), "\(export.stderr)")
        let aimet = try CLI.run([
            "run", "--db", db, "--session", "a", "--observer", "histogram", "--method", "sqnr", golden.batchPaths[0],
        ])
        #expect(aimet.status == 0, "\(aimet.stderr)")
        // Range formats write an AIMET method's encoding grid (AIMET's get_min/get_max), at the method asked.
        for method in [["--method", "tf-enhanced"], ["--method", "percentile", "--percentile", "99.9"]] {
            let cache = try CLI.run(["export", "--db", db, "a", "--format", "tensorrt"] + method)
            #expect(cache.status == 0, "\(cache.stderr)")
            let e = try Self.exportJSON(db: db, dir: dir, session: "a", method)
            let table = try TensorRTCache.parse(Data(cache.stdout.utf8))
            #expect(Set(table.entries.map(\.name)) == Set(e.keys))
            for entry in table.entries {
                let lo = GoldenCase.floats(e[entry.name]!["min"]!)[0]
                let hi = GoldenCase.floats(e[entry.name]!["max"]!)[0]
                #expect(entry.encoding.scale == [max(abs(lo), abs(hi)) / 127], "\(entry.name) \(method)")
            }
        }
        let stray = try CLI.run(["export", "--db", db, "a", "--format", "json", "--percentile", "99"])
        #expect(stray.status != 0 && stray.stderr.contains("qualify a --method"), "\(stray.stderr)")
    }

    static func expectGolden(_ golden: AimetHistogramCase, _ encodings: [String: [String: Any]]) {
        #expect(Set(encodings.keys) == Set(golden.tensors.keys))
        for (name, e) in encodings {
            expectSameBits(GoldenCase.floats(e["scale"]!), golden.floats(name, "scale"), "\(name) scale")
            #expect(GoldenCase.floats(e["zero_point"]!).map { Int($0) } == golden.ints(name, "zero_point"), "\(name) zero_point")
            expectSameBits(GoldenCase.floats(e["observed_min"]!), golden.floats(name, "min"), "\(name) min_val")
            expectSameBits(GoldenCase.floats(e["observed_max"]!), golden.floats(name, "max"), "\(name) max_val")
            #expect(e["convention"] as? String == "pytorch")
            #expect(e["batches"] as? Int == golden.batchPaths.count)
        }
    }

    @Test(arguments: AimetHistogramCase.pytorch)
    func torchCase(_ golden: AimetHistogramCase) throws {
        Self.expectGolden(golden, try Self.export(golden, runs: [golden.batchPaths]))
    }

    /// A second run resumes from the stored histogram (read back from its BLOB): two runs of two
    /// batches each give the reference values of one run of four.
    @Test(arguments: AimetHistogramCase.pytorch)
    func resumedRunContinuesTheStoredHistogram(_ golden: AimetHistogramCase) throws {
        let paths = golden.batchPaths
        Self.expectGolden(golden, try Self.export(golden, runs: [Array(paths[..<2]), Array(paths[2...])]))
    }

    /// Per-channel AIMET histograms through the CLI, on axis 0 (weights: each channel its own rows)
    /// and axis 1 (AIMET bins later batches from row c of the [channels, -1] reshape): the exported
    /// per-channel encodings equal the library's fold of the same batches: the stored percentile, and
    /// TF-enhanced re-derived without reading data again.
    @Test(arguments: [0, 1])
    func perChannelAimetHistograms(axis: Int) throws {
        let golden = AimetHistogramCase.aimet[0]
        let dir = TemporaryDirectory()
        let db = dir.path("h.sqlite")
        let run = try CLI.run(
            [
                "run", "--db", db, "--session", "s", "--observer", "histogram", "--convention", "aimet", "--per-channel-axis",
                "\(axis)", "--method", "percentile", "--percentile", "99.9",
            ]
                + golden.batchPaths)
        #expect(run.status == 0, "\(run.stderr)")
        let batches = try golden.batches()
        // SQNR's search per channel is slow in a debug build: the run stores the percentile (so its
        // commits are cheap), and TF-enhanced is re-derived on axis 0 only.
        var methods: [(AimetHistogramMethod, [String])] = [(.percentile(99.9), [])]
        if axis == 0 { methods.append((.tfEnhanced, ["--method", "tf-enhanced"])) }
        for (method, flags) in methods {
            let encodings = try Self.exportJSON(db: db, dir: dir, flags)
            for name in ["act", "relu"] {
                let shape = [64, 256]
                var main = [AimetHistogram](repeating: AimetHistogram(method: method), count: shape[axis])
                for b in batches {
                    b[name]!.withUnsafeBufferPointer {
                        AimetHistogram.observe(&main, channelsOf: $0, shape: shape, channelAxis: axis)
                    }
                }
                let scheme = QuantScheme(convention: .aimet, bitwidth: 8, symmetric: false, signed: false)
                let expected = Encoding(aimetHistograms: main, method: method, scheme: scheme, channelAxis: axis)
                let e = try #require(encodings[name])
                #expect(GoldenCase.floats(e["scale"]!).count == shape[axis])
                expectSameBits(GoldenCase.floats(e["scale"]!), expected.scale, "\(name) axis \(axis) \(method) scale")
                #expect(GoldenCase.floats(e["offset"]!).map { Int($0) } == expected.offset, "\(name) axis \(axis) offset")
            }
        }
        if axis == 0 {
            let check = try CLI.run(["check", "--db", db])
            #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        }
        let comparison = try CLI.run(["methods", "--db", db, "s"])
        #expect(comparison.status != 0 && comparison.stderr.contains("holds a per-tensor histogram"), "\(comparison.stderr)")
    }

    /// Settings the histogram observer refuses, and a histogram never mixed with min/max batches or
    /// re-derived under another tool's convention; each refusal leaves the store as it was.
    @Test func refusals() throws {
        let golden = AimetHistogramCase.pytorch[0]
        let dir = TemporaryDirectory()
        let db = dir.path("h.sqlite")
        // TensorRT has no histogram rules calib reproduces: it keeps calib's canonical one, and
        // asking for a tool's own is refused.
        let trt = try CLI.run(
            ["run", "--db", db, "--session", "trt", "--observer", "histogram", "--convention", "tensorrt"] + golden.batchPaths)
        #expect(trt.status == 0, "\(trt.stderr)")
        let trtTool = try CLI.run(
            ["run", "--db", db, "--session", "a", "--histogram", "tool", "--convention", "tensorrt"] + golden.batchPaths)
        #expect(trtTool.status != 0 && trtTool.stderr.contains("tensorrt"), "\(trtTool.stderr)")
        let perChannel = try CLI.run(
            [
                "run", "--db", db, "--session", "a", "--observer", "histogram", "--convention", "pytorch", "--per-channel-axis",
                "1",
            ]
                + golden.batchPaths)
        #expect(
            perChannel.status != 0 && perChannel.stderr.contains("per-channel histograms are AIMET's"), "\(perChannel.stderr)")
        let first = try CLI.run(["run", "--db", db, "--session", "s"] + Self.flags(golden) + [golden.batchPaths[0]])
        #expect(first.status == 0, "\(first.stderr)")
        let before = try CLI.run(["export", "--db", db, "s", "--format", "json"])
        let mixed = try CLI.run(["run", "--db", db, "--session", "s", "--observer", "minmax", golden.batchPaths[1]])
        #expect(mixed.status != 0 && mixed.stderr.contains("observer minmax (stored: histogram)"), "\(mixed.stderr)")
        let other = try CLI.run(["export", "--db", db, "s", "--format", "json", "--convention", "aimet"])
        #expect(other.status != 0 && other.stderr.contains("holds a pytorch histogram"), "\(other.stderr)")
        let after = try CLI.run(["export", "--db", db, "s", "--format", "json"])
        #expect(after.status == 0 && after.stdout == before.stdout)
        let check = try CLI.run(["check", "--db", db])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }
}
