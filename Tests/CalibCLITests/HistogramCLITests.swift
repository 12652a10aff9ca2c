import CalibTestSupport
import Foundation
import Testing

@testable import CalibSupport

/// torch's HistogramObserver through the command line (`calib run --observer histogram
/// --convention pytorch`, then `calib export --format json`): every torch case of hist_cases bit
/// for bit, from the fixtures' own batch files.
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

    /// Runs `inputs` (one `calib run` per element) into one session and exports it.
    static func export(_ golden: AimetHistogramCase, runs: [[String]]) throws -> [String: [String: Any]] {
        let dir = TemporaryDirectory()
        let db = dir.path("h.sqlite")
        for inputs in runs {
            let run = try CLI.run(["run", "--db", db, "--session", "s"] + flags(golden) + inputs)
            #expect(run.status == 0, "\(run.stderr)")
        }
        let out = dir.path("e.json")
        let export = try CLI.run(["export", "--db", db, "s", "--format", "json", "-o", out])
        #expect(export.status == 0, "\(export.stderr)")
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as! [String: Any]
        return doc["encodings"] as! [String: [String: Any]]
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

    /// Settings the histogram observer refuses, and a histogram never mixed with min/max batches or
    /// re-derived under another tool's convention; each refusal leaves the store as it was.
    @Test func refusals() throws {
        let golden = AimetHistogramCase.pytorch[0]
        let dir = TemporaryDirectory()
        let db = dir.path("h.sqlite")
        let aimet = try CLI.run(["run", "--db", db, "--session", "a", "--observer", "histogram"] + golden.batchPaths)
        #expect(aimet.status != 0 && aimet.stderr.contains("--convention pytorch"), "\(aimet.stderr)")
        let perChannel = try CLI.run(
            [
                "run", "--db", db, "--session", "a", "--observer", "histogram", "--convention", "pytorch", "--per-channel-axis",
                "1",
            ]
                + golden.batchPaths)
        #expect(perChannel.status != 0 && perChannel.stderr.contains("per tensor"), "\(perChannel.stderr)")
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
