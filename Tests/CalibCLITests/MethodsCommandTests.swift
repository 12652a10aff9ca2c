import CalibTestSupport
import Foundation
import Testing

/// `calib methods` on the shipped MiniLM sample, calibrated once with each tool's histograms.
@Suite struct MethodsCommandTests {
    @Test func comparesEveryMethodOfEachTool() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("m.sqlite")
        for (session, flags) in [
            ("ort", ["--convention", "onnxruntime", "--bins", "2048", "--method", "percentile"]),
            ("aimet", ["--convention", "aimet", "--method", "sqnr"]),
        ] {
            let run = try CLI.run(
                ["run", "--db", db, "--session", session, "--observer", "histogram"] + flags + [CLITests.sample])
            #expect(run.status == 0, "\(run.stderr)")
        }
        let json = try CLI.run(["methods", "--db", db, "ort", "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let doc = try #require(json.json as? [String: Any])
        let tensors = try #require(doc["tensors"] as? [[String: Any]])
        #expect(tensors.count == 15)
        for t in tensors {
            let methods = try #require(t["methods"] as? [[String: Any]])
            #expect(
                methods.map { $0["method"] as! String } == [
                    "minmax", "entropy", "percentile 99.999", "percentile 99.99", "percentile 99.999 two-tailed", "distribution",
                ])
            #expect(methods.filter { $0["default"] as! Bool }.map { $0["method"] as! String } == ["percentile 99.999"])
            // min/max clips nothing; the best is the highest SQNR.
            #expect(methods[0]["clipped"] as? Double == 0)
            let sqnr = methods.map { ($0["sqnr_db"] as? Double) ?? -.infinity }
            #expect(t["best"] as? String == methods[sqnr.firstIndex(of: sqnr.max()!)!]["method"] as? String)
        }
        // The default's range is what `calib export` gives the tensor.
        let export = try CLI.run(["export", "--db", db, "ort", "--format", "json"])
        let encodings = try #require((export.json as? [String: Any])?["encodings"] as? [String: [String: Any]])
        for t in tensors {
            let d = (t["methods"] as! [[String: Any]]).first { $0["default"] as! Bool }!
            let e = encodings[t["tensor"] as! String]!
            #expect((d["scale"] as! Double) == (e["scale"] as! Double), "\(t["tensor"]!)")
            #expect((d["min"] as! Double) == (e["min"] as! Double))
        }
        let table = try CLI.run(["methods", "--db", db, "aimet", "--tensor", "*layer.0.attention.output*", "--bitwidth", "4"])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("1 tensor with histograms, 4-bit"), "\(table.stdout)")
        for name in ["minmax", "percentile 99.9", "percentile 99.99", "sqnr", "tf-enhanced", "best", "default"] {
            #expect(table.stdout.contains(name), "\(name) in \(table.stdout)")
        }
        // derive --method best stores each tensor's winner as a set that exports and checks.
        let derive = try CLI.run(["derive", "--db", db, "ort", "--label", "best", "--method", "best"])
        #expect(
            derive.status == 0 && derive.stdout.contains("(15 tensors with its best method)"), "\(derive.stdout)\(derive.stderr)")
        let bestExport = try CLI.run(["export", "--db", db, "ort", "--format", "json", "--label", "best"])
        let bestEncodings = try #require((bestExport.json as? [String: Any])?["encodings"] as? [String: [String: Any]])
        for t in tensors {
            let winner = (t["methods"] as! [[String: Any]]).first { $0["method"] as? String == t["best"] as? String }!
            let e = bestEncodings[t["tensor"] as! String]!
            #expect((winner["scale"] as! Double) == (e["scale"] as! Double), "\(t["tensor"]!)")
            #expect((winner["offset"] as! Int) == (e["offset"] as! Int), "\(t["tensor"]!)")
        }
        let check = try CLI.run(["check", "--db", db])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        let showBest = try CLI.run(["show", "--db", db, "ort", "--method", "best"])
        #expect(showBest.status != 0 && showBest.stderr.contains("calib derive --label NAME"), "\(showBest.stderr)")
        let plain = try CLI.run(["run", "--db", db, "--session", "mm", CLITests.sample])
        #expect(plain.status == 0)
        let none = try CLI.run(["methods", "--db", db, "mm"])
        #expect(none.status != 0 && none.stderr.contains("holds a per-tensor histogram"), "\(none.stderr)")
    }
}
