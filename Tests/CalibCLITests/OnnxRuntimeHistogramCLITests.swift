import CalibTestSupport
import Foundation
import Testing

@testable import CalibSupport

/// onnxruntime's histogram calibration through the command line (`calib run --observer histogram
/// --convention onnxruntime --method ...`, then `calib export`): every hist_cases_ort case bit for
/// bit, scale and zero point from `--format json`, the calibrated range from `--format onnxruntime`.
@Suite struct OnnxRuntimeHistogramCLITests {
    static let batches = OnnxRuntimeGoldenCase.root.appendingPathComponent("batches").path

    /// The method flags of a case: `--method` with its options.
    static func methodFlags(_ golden: OnnxRuntimeGoldenCase) -> [String] {
        switch golden.method {
        case "entropy": ["--method", "entropy", "--quantized-bins", "\(golden.quantizedBins!)"]
        case "percentile":
            ["--method", "percentile", "--percentile", "\(golden.percentile!)"]
                + [golden.calibSymmetric ? "--calib-symmetric" : "--no-calib-symmetric"]
        default: ["--method", "distribution"]
        }
    }

    /// The encoding flags of a case: ActivationSymmetric, the qtype, reduce_range.
    static func schemeFlags(_ golden: OnnxRuntimeGoldenCase) -> [String] {
        [golden.symmetric ? "--symmetric" : "--asymmetric", golden.signed ? "--signed" : "--unsigned"]
            + (golden.reduceRange ? ["--reduce-range"] : [])
    }

    /// Every flag `calib run` takes for a case.
    static func flags(_ golden: OnnxRuntimeGoldenCase) -> [String] {
        ["--observer", "histogram", "--convention", "onnxruntime", "--bins", "\(golden.bins)"]
            + ["--collect", golden.perBatch ? "per-batch" : "all"] + methodFlags(golden) + schemeFlags(golden)
    }

    static func export(db: String, dir: TemporaryDirectory, format: String, _ extra: [String] = []) throws -> [String: Any] {
        let out = dir.path("e.\(format).json")
        let export = try CLI.run(["export", "--db", db, "s", "--format", format, "-o", out] + extra)
        #expect(export.status == 0, "\(export.stderr)")
        return try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as! [String: Any]
    }

    /// The case's scale, zero point and calibrated range, as float32 bit patterns: `method` and
    /// `scheme` flags re-derive (`--format onnxruntime-cache` takes the method only: it writes ranges),
    /// `label` picks a derived set (json only: range formats have no labels).
    static func expectGolden(
        _ golden: OnnxRuntimeGoldenCase, db: String, dir: TemporaryDirectory, method: [String] = [], scheme: [String] = [],
        label: [String] = []
    ) throws {
        let extra = method + scheme + label
        let encodings = try export(db: db, dir: dir, format: "json", extra)["encodings"] as! [String: [String: Any]]
        #expect(Set(encodings.keys) == Set(golden.tensors.keys))
        for (name, e) in encodings {
            expectSameBits(GoldenCase.floats(e["scale"]!), [golden.float(name, "scale")], "\(golden.name) \(name) scale")
            #expect(
                GoldenCase.floats(e["offset"]!).map { -Int($0) } == [golden.int(name, "zero_point")],
                "\(golden.name) \(name) zero point")
            #expect(e["convention"] as? String == "onnxruntime")
            #expect(e["batches"] as? Int == 4)
        }
        guard label.isEmpty else { return }
        let table = try export(db: db, dir: dir, format: "onnxruntime-cache", method)["data"] as! [String: [String: Any]]
        for name in golden.tensors.keys {
            let entry = try #require(table[name], "\(name) in \(table.keys)")
            let range = [entry["lowest"], entry["highest"]].flatMap { GoldenCase.floats(($0 as! [String: Any])["data"]!) }
            expectSameBits(
                range, [golden.float(name, "range_min"), golden.float(name, "range_max")], "\(golden.name) \(name) range")
        }
    }

    @Test(arguments: OnnxRuntimeGoldenCase.all)
    func goldenCase(_ golden: OnnxRuntimeGoldenCase) throws {
        let dir = TemporaryDirectory()
        let db = dir.path("h.sqlite")
        let run = try CLI.run(["run", "--db", db, "--session", "s"] + Self.flags(golden) + [Self.batches])
        #expect(run.status == 0, "\(run.stderr)")
        try Self.expectGolden(golden, db: db, dir: dir)
        let check = try CLI.run(["check", "--db", db])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }

    /// The method's range goes to the formats that write ranges only: CSV's observed_min/observed_max
    /// stay the observed range (they took the method's range while every export got it). Options
    /// that feed onnxruntime histograms are refused for another tool's, not ignored.
    @Test func observedColumnsStayObservedAndForeignOptionsAreRefused() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("h.sqlite")
        let golden = try #require(OnnxRuntimeGoldenCase.all.first { $0.name == "percentile99.9_calibasym_uint8" })
        let run = try CLI.run(["run", "--db", db, "--session", "s"] + Self.flags(golden) + [Self.batches])
        #expect(run.status == 0, "\(run.stderr)")
        let csv = try CLI.run(["export", "--db", db, "s", "--format", "csv"])
        #expect(csv.status == 0, "\(csv.stderr)")
        let rows = csv.stdout.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let header = rows[0].map(String.init)
        let (lo, hi) = (header.firstIndex(of: "observed_min")!, header.firstIndex(of: "observed_max")!)
        for name in golden.tensors.keys {
            let row = try #require(rows.first { $0[0] == name })
            let values = OnnxRuntimeGoldenCase.batches.flatMap { $0[name]! }
            #expect(Float(row[lo]) == values.min() && Float(row[hi]) == values.max(), "\(name): \(row)")
            #expect(Float(row[hi])! > golden.float(name, "range_max"), "the percentile clips: \(name)")
        }
        for flags in [["--bins", "512"], ["--collect", "per-batch"]] {
            let aimet = try CLI.run(
                ["run", "--db", db, "--session", "a", "--observer", "histogram", "--convention", "aimet"] + flags + [Self.batches]
            )
            #expect(aimet.status != 0 && aimet.stderr.contains("which this tensor does not keep"), "\(flags): \(aimet.stderr)")
        }
    }
}

extension OnnxRuntimeHistogramCLITests {
    /// One calibration (2048 bins, collect all) re-derived by `export --method` with each case's
    /// method and scheme flags, without reading the batches again: every case that shares its bins
    /// and collect mode, bit for bit; `derive` records the method so `check` re-derives it.
    @Test func everyMethodFromOneSession() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("h.sqlite")
        let first = try #require(OnnxRuntimeGoldenCase.all.first { $0.name == "percentile99.999_sym_int8" })
        let run = try CLI.run(["run", "--db", db, "--session", "s"] + Self.flags(first) + [Self.batches])
        #expect(run.status == 0, "\(run.stderr)")
        let shared = OnnxRuntimeGoldenCase.all.filter { $0.bins == 2048 && !$0.perBatch && !$0.reduceRange }
        #expect(shared.count == 6, "\(shared.map(\.name))")
        for golden in shared {
            try Self.expectGolden(golden, db: db, dir: dir, method: Self.methodFlags(golden), scheme: Self.schemeFlags(golden))
        }
        try Self.expectGolden(first, db: db, dir: dir)
        let entropy = try #require(shared.first { $0.method == "entropy" })
        let derive = try CLI.run(
            ["derive", "--db", db, "s", "--label", "entropy"] + Self.methodFlags(entropy) + Self.schemeFlags(entropy))
        #expect(derive.status == 0, "\(derive.stderr)")
        try Self.expectGolden(entropy, db: db, dir: dir, label: ["--label", "entropy"])
        let check = try CLI.run(["check", "--db", db])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        // A method the stored bins cannot give, and another tool's method, are refused naming the tensor.
        let few = try CLI.run(
            ["run", "--db", dir.path("few.sqlite"), "--session", "s"] + [
                "--observer", "histogram", "--convention", "onnxruntime", "--bins", "128", "--method", "distribution",
                Self.batches,
            ])
        #expect(few.status != 0 && few.stderr.contains("distribution needs num_bins >= 512"), "\(few.stderr)")
        let sqnr = try CLI.run(["export", "--db", db, "s", "--format", "json", "--method", "sqnr"])
        #expect(sqnr.status != 0 && sqnr.stderr.contains("is AIMET's"), "\(sqnr.stderr)")
    }

    /// `--collect all` reads the inputs twice, which standard input cannot be: refused, saying what
    /// to use, with nothing stored; `--collect per-batch` from a stream gives the per-batch case.
    @Test func standardInputNeedsPerBatch() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("h.sqlite")
        let paths = try FileManager.default.contentsOfDirectory(atPath: Self.batches).sorted().map { Self.batches + "/" + $0 }
        let stream = try paths.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }.reduce(Data(), +)
        let golden = try #require(OnnxRuntimeGoldenCase.all.first { $0.name == "entropy_2048_uint8_per_batch" })
        var allFlags = Self.flags(golden)
        allFlags[allFlags.firstIndex(of: "per-batch")!] = "all"
        let all = try CLI.run(["run", "--db", db, "--session", "s"] + allFlags + ["-"], stdin: stream)
        #expect(all.status != 0 && all.stderr.contains("use --collect per-batch"), "\(all.stderr)")
        let sessions = try CLI.run(["sessions", "--db", db, "--json"])
        #expect(!sessions.stdout.contains("\"s\""), "\(sessions.stdout)")
        let perBatch = try CLI.run(["run", "--db", db, "--session", "s"] + Self.flags(golden) + ["-"], stdin: stream)
        #expect(perBatch.status == 0, "\(perBatch.stderr)")
        try Self.expectGolden(golden, db: db, dir: dir)
    }
}
