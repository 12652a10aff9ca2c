import CalibTestSupport
import Foundation
import Testing

@testable import CalibDerivation
@testable import CalibFormats
@testable import CalibKit
@testable import CalibModel
@testable import CalibSupport

/// Per-tensor settings, re-derivation, exports in every format, imports and `calib diff`, as users
/// run them: through the executable.
@Suite struct InteropTests {
    static let multibatch = GoldenCase.all.filter { $0.name.hasPrefix("aimet_multibatch_") }

    static func encodings(_ db: String, _ session: String, _ extra: [String] = []) throws -> [String: [String: Any]] {
        let export = try CLI.run(["export", "--db", db, session] + extra)
        #expect(export.status == 0, "\(export.stderr)")
        return try #require((export.json as? [String: Any])?["encodings"] as? [String: [String: Any]])
    }

    /// All multibatch cases share their batches: one calibration re-derived with each case's flags
    /// (no re-reading) must give that case's golden values.
    @Test(arguments: multibatch)
    func rederivedEncodingsMatchGolden(_ golden: GoldenCase) throws {
        let dir = TemporaryDirectory()
        let db = dir.path("r.sqlite")
        #expect(try CLI.run(["run", "--db", db, "--session", "once", Self.multibatch[0].batchesDir]).status == 0)
        let flags = golden.runFlags.filter { !["--observer", "minmax"].contains($0) }
        for (name, e) in try Self.encodings(db, "once", flags) {
            #expect(bits(GoldenCase.floats(e["scale"]!)) == bits(golden.floats(name, "scale")), "\(name) scale")
            #expect(GoldenCase.floats(e["offset"]!).map { Int($0) } == golden.ints(name, "offset"))
            #expect(bits(GoldenCase.floats(e["min"]!)) == bits(golden.floats(name, "min")))
        }
        // derive --label stores the set; export --label reads it back; the default set is untouched.
        #expect(try CLI.run(["derive", "--db", db, "once", "--label", "alt"] + flags).status == 0)
        let stored = try Self.encodings(db, "once", ["--label", "alt"])
        for (name, e) in stored {
            #expect(bits(GoldenCase.floats(e["scale"]!)) == bits(golden.floats(name, "scale")), "\(name) stored scale")
        }
        let base = GoldenCase.all.first { $0.name == "aimet_multibatch_asym_unsigned_8" }!
        for (name, e) in try Self.encodings(db, "once") {
            #expect(bits(GoldenCase.floats(e["scale"]!)) == bits(base.floats(name, "scale")))
        }
    }

    /// Every golden aimet case, calibrated and exported by the CLI in all three AIMET versions, is
    /// byte for byte the file aimet-torch writes for those encodings.
    @Test(arguments: GoldenCase.aimet)
    func aimetExportsMatchAimetTorch(_ golden: GoldenCase) throws {
        let dir = TemporaryDirectory()
        let db = dir.path("a.sqlite")
        #expect(try CLI.run(["run", "--db", db, "--session", "g"] + golden.runFlags + [golden.batchesDir]).status == 0)
        for (format, version) in [("aimet-0.6.1", "0.6.1"), ("aimet", "1.0.0"), ("aimet-2.0.0", "2.0.0")] {
            let out = dir.path("\(version).encodings")
            let export = try CLI.run(["export", "--db", db, "g", "--format", format, "-o", out])
            #expect(export.status == 0, "\(export.stderr)")
            let expected = try String(
                contentsOf: Fixtures.url("formats/aimet/\(golden.name)/\(version).encodings"), encoding: .utf8)
            let got = try String(contentsOfFile: out, encoding: .utf8)
            #expect(got == expected, "\(golden.name) \(version)")
        }
    }

    /// Activations plus weights marked `--role param` export as one AIMET file with both sections.
    @Test func activationsAndWeightsInOneFile() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("w.sqlite")
        let weights = dir.path("weights.safetensors")
        let w: [Float] = [0.5, -0.25, 0.125, 1, -2, 0.75, 0.2, -0.1, 0.05, 0.3, 0.3, -0.9]
        try TensorFiles.safetensors([("fc.weight", [3, 4], w), ("fc.bias", [3], [0.1, -0.2, 0.3])]).write(
            to: URL(fileURLWithPath: weights))
        let acts = Fixtures.path("golden/cases/aimet_multibatch_asym_unsigned_8/batches")
        #expect(try CLI.run(["run", "--db", db, "--session", "m", acts]).status == 0)
        let run = try CLI.run(["run", "--db", db, "--session", "m", "--role", "param", weights])
        #expect(run.status == 0, "\(run.stderr)")
        let export = try CLI.run(["export", "--db", db, "m", "--format", "aimet"])
        let doc = try #require(export.json as? [String: Any])
        let activations = try #require(doc["activation_encodings"] as? [[String: Any]])
        let params = try #require(doc["param_encodings"] as? [[String: Any]])
        #expect(activations.map { $0["name"] as! String }.sorted() == ["layer1.out", "layer2.relu"])
        #expect(params.map { $0["name"] as! String }.sorted() == ["fc.bias", "fc.weight"])
        let fc = try #require(params.first { $0["name"] as? String == "fc.weight" })
        #expect(fc["enc_type"] as? String == "PER_CHANNEL")
        #expect(fc["is_sym"] as? Bool == true)
        #expect(fc["offset"] as? [Int] == [-128, -128, -128])
        let scheme = QuantScheme(bitwidth: 8, symmetric: true, signed: true)
        let rows = stride(from: 0, to: 12, by: 4).map { Array(w[$0..<$0 + 4]) }
        let expected = rows.map { EncodingMath.scaleOffset(min: $0.min()!, max: $0.max()!, scheme: scheme).scale }
        #expect(bits(GoldenCase.floats(fc["scale"]!)) == bits(expected))
        let act = try #require(activations.first { $0["name"] as? String == "layer1.out" })
        #expect(act["enc_type"] as? String == "PER_TENSOR" && act["is_sym"] as? Bool == false)
        let golden = GoldenCase.all.first { $0.name == "aimet_multibatch_asym_unsigned_8" }!
        #expect(bits(GoldenCase.floats(act["scale"]!)) == bits(golden.floats("layer1.out", "scale")))
    }

    /// `--config` rules apply per tensor, in file order.
    @Test func configRulesApplyPerTensor() throws {
        let dir = TemporaryDirectory()
        let config = dir.path("config.json")
        try Data(#"{"tensors": {"layer*": {"bitwidth": 4}, "layer2.*": {"bitwidth": 16, "symmetric": true}}}"#.utf8)
            .write(to: URL(fileURLWithPath: config))
        let db = dir.path("c.sqlite")
        let run = try CLI.run(["run", "--db", db, "--session", "c", "--config", config, Self.multibatch[0].batchesDir])
        #expect(run.status == 0, "\(run.stderr)")
        let e = try Self.encodings(db, "c")
        let four = GoldenCase.all.first { $0.name == "aimet_multibatch_asym_unsigned_4" }!
        let sixteen = GoldenCase.all.first { $0.name == "aimet_multibatch_sym_signed_16" }!
        #expect(bits(GoldenCase.floats(e["layer1.out"]!["scale"]!)) == bits(four.floats("layer1.out", "scale")))
        #expect(bits(GoldenCase.floats(e["layer2.relu"]!["scale"]!)) == bits(sixteen.floats("layer2.relu", "scale")))
        #expect(e["layer2.relu"]!["signed"] as? Bool == true)
        // A bad rule names the file and the problem.
        try Data(#"{"layer*": {"bitwidth": "eight"}}"#.utf8).write(to: URL(fileURLWithPath: config))
        let bad = try CLI.run(["run", "--db", db, "--session", "c2", "--config", config, Self.multibatch[0].batchesDir])
        #expect(
            bad.status != 0 && bad.stderr.contains(config) && bad.stderr.contains("bitwidth must be a number"), "\(bad.stderr)")
    }

    /// Export → import → diff reports zero change, for every importable format.
    @Test(arguments: [
        ("aimet", "aimet", ["--symmetric"]), ("aimet-0.6.1", "aimet-0.6.1", []), ("aimet-2.0.0", "aimet-2.0.0", ["--signed"]),
        ("onnxruntime", "onnxruntime", ["--convention", "onnxruntime"]),
        ("onnxruntime-cache", "onnxruntime", ["--convention", "onnxruntime"]),
        ("tensorrt", "tensorrt", ["--convention", "tensorrt"]),
    ])
    func roundTrip(_ format: String, _ importFormat: String, _ flags: [String]) throws {
        let dir = TemporaryDirectory()
        let db = dir.path("rt.sqlite")
        #expect(try CLI.run(["run", "--db", db, "--session", "orig"] + flags + [Self.multibatch[0].batchesDir]).status == 0)
        let file = dir.path("exported")
        let export = try CLI.run(["export", "--db", db, "orig", "--format", format, "-o", file])
        #expect(export.status == 0, "\(export.stderr)")
        let imported = try CLI.run(["import", "--db", db, "--format", importFormat, file, "--session", "back"])
        #expect(imported.status == 0, "\(imported.stderr)")
        let diff = try CLI.run(["diff", "--db", db, "orig", "back", "--json", "--fail-above", "0"])
        #expect(diff.status == 0, "\(diff.stdout)\(diff.stderr)")
        let doc = try #require(diff.json as? [String: Any])
        let summary = try #require(doc["summary"] as? [String: Any])
        #expect(summary["compared"] as? Int == 2)
        #expect(summary["changed"] as? Int == 0, "\(format): \(diff.stdout)")
        #expect((doc["only_in_a"] as? [String])?.isEmpty == true && (doc["only_in_b"] as? [String])?.isEmpty == true)
    }

    @Test func tensorRTValuesDecodeToAmaxOver127() throws {
        let dir = TemporaryDirectory()
        let file = dir.path("x.safetensors")
        try TensorFiles.safetensors([("a", [2], [-1, 0.5]), ("b", [2], [0.25, 3])]).write(to: URL(fileURLWithPath: file))
        let db = dir.path("t.sqlite")
        #expect(try CLI.run(["run", "--db", db, "--session", "t", "--convention", "tensorrt", file]).status == 0)
        let cache = try CLI.run(["export", "--db", db, "t", "--format", "tensorrt"])
        let lines = cache.stdout.split(separator: "\n").map(String.init)
        #expect(
            lines == ["TRT-100300-MinMaxCalibration", "a: 3c010204", "b: \(String(format: "%08x", (Float(3) / 127).bitPattern))"])
        let other = try CLI.run([
            "export", "--db", db, "t", "--format", "tensorrt", "--trt-version", "8601", "--trt-algorithm", "EntropyCalibration2",
        ])
        #expect(other.stdout.hasPrefix("TRT-8601-EntropyCalibration2\n"))
    }

    @Test func onnxRuntimeDirectoryDecodes() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("o.sqlite")
        #expect(try CLI.run(["run", "--db", db, "--session", "o", Self.multibatch[0].batchesDir]).status == 0)
        let out = dir.path("ort")
        #expect(try CLI.run(["export", "--db", db, "o", "--format", "onnxruntime", "-o", out]).status == 0)
        let flat = try Data(contentsOf: URL(fileURLWithPath: out + "/calibration.flatbuffers"))
        let table = try OnnxRuntimeCalibration.parseFlatbuffers(
            flat, derive: Derivation.encoder(QuantScheme(convention: .onnxruntime)))
        let golden = Self.multibatch[0]
        #expect(table.entries.map(\.name) == ["layer1.out", "layer2.relu"])
        for entry in table.entries {
            #expect(entry.observedMax == golden.floats(entry.name, "observed_max"), "value = highest, as ORT writes it")
        }
        let cache = try String(contentsOfFile: out + "/calibration.cache", encoding: .utf8)
        #expect(cache.split(separator: "\n").count == 2)
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/calibration.json")))
                as? [String: Any])
        #expect(json["CLS"] as? String == "TensorsData")
    }

    /// Two sessions with known differences: ranking, summary, JSON and exit codes.
    @Test func diffRanksAndGates() throws {
        let dir = TemporaryDirectory()
        let fa = dir.path("a.safetensors"), fb = dir.path("b.safetensors")
        try TensorFiles.safetensors([("t1", [2], [-1, 1]), ("t2", [2], [-1, 1]), ("t3", [2], [0, 1]), ("t5", [2], [-2, 2])])
            .write(to: URL(fileURLWithPath: fa))
        try TensorFiles.safetensors([
            ("t1", [2], [-1.5, 1.5]), ("t2", [2], [-1, 1.04]), ("t4", [2], [0, 1]), ("t5", [2], [-2, 2]),
        ])
        .write(to: URL(fileURLWithPath: fb))
        let dbA = dir.path("a.sqlite"), dbB = dir.path("b.sqlite")
        #expect(try CLI.run(["run", "--db", dbA, "--session", "base", fa]).status == 0)
        #expect(try CLI.run(["run", "--db", dbB, "--session", "new", fb]).status == 0)
        let ref = ["\(dbA):base", "\(dbB):new"]
        let json = try CLI.run(["diff"] + ref + ["--json"])
        #expect(json.status == 0)
        let doc = try #require(json.json as? [String: Any])
        let tensors = try #require(doc["tensors"] as? [[String: Any]])
        #expect(tensors.map { $0["name"] as! String } == ["t1", "t2", "t5"])
        #expect(abs((tensors[0]["scale_change_pct"] as! Double) - 50) < 1e-3)
        #expect(abs((tensors[0]["scale_ratio"] as! Double) - 1.5) < 1e-6)
        #expect(abs((tensors[1]["scale_change_pct"] as! Double) - 2) < 1e-3)
        #expect(tensors[2]["scale_change_pct"] as? Double == 0)
        #expect(doc["only_in_a"] as? [String] == ["t3"])
        #expect(doc["only_in_b"] as? [String] == ["t4"])
        let summary = try #require(doc["summary"] as? [String: Any])
        #expect(summary["compared"] as? Int == 3 && summary["changed"] as? Int == 2)
        // Gates: 1 when above, 0 when within, 2 on trouble.
        #expect(try CLI.run(["diff"] + ref + ["--fail-above", "10"]).status == 1)
        #expect(try CLI.run(["diff"] + ref + ["--fail-above", "60"]).status == 0)
        #expect(try CLI.run(["diff", "\(dbA):base", "\(dbB):missing"]).status == 2)
        let table = try CLI.run(["diff"] + ref + ["--sort", "name"])
        let names = table.stdout.split(separator: "\n").dropFirst().prefix(3).map { String($0.split(separator: " ")[0]) }
        #expect(names == ["t1", "t2", "t5"])
        #expect(
            table.stdout.contains("3 tensors compared, 2 changed, largest scale change +50.000% (t1), 1 only in A, 1 only in B"))
        // Offsets are compared on the unsigned grid: t3 → t4 is not compared, but the range shift of t2 moves its offset.
        #expect(tensors[1]["offset_change"] as? Int != nil)
    }

    @Test func importRealAimetFileAndCoverageCheck() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("i.sqlite")
        let file = Fixtures.path("golden/aimet-exports/onnx_export_1.0.0.encodings")
        let imported = try CLI.run(["import", "--db", db, "--format", "aimet", file, "--session", "qnn"])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("4 activations, 2 params"))
        let e = try Self.encodings(db, "qnn")
        #expect(GoldenCase.floats(e["input"]!["scale"]!) == [Float(0.014831412583589554)])
        #expect(e["conv.weight"]!["role"] as? String == "param")
        // Imported encodings cannot be re-derived: there are no statistics.
        let rederive = try CLI.run(["export", "--db", db, "qnn", "--bitwidth", "4"])
        #expect(rederive.status != 0 && rederive.stderr.contains("no statistics"), "\(rederive.stderr)")

        // A tensor with no finite value is refused on export, or left out with --allow-incomplete.
        let nan = dir.path("nan.safetensors")
        try TensorFiles.safetensors([("ok", [2], [-1, 1]), ("dead", [2], [.nan, .nan])]).write(to: URL(fileURLWithPath: nan))
        #expect(try CLI.run(["run", "--db", db, "--session", "n", nan]).status == 0)
        let out = dir.path("n.encodings")
        let refused = try CLI.run(["export", "--db", db, "n", "--format", "aimet", "-o", out])
        #expect(refused.status != 0 && refused.stderr.contains("dead: no finite value observed (2 NaN/Inf)"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
        let partial = try CLI.run(["export", "--db", db, "n", "--format", "aimet", "-o", out, "--allow-incomplete"])
        #expect(partial.status == 0 && partial.stderr.contains("leaving out 1 tensor"))
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any]
        #expect((doc?["activation_encodings"] as? [[String: Any]])?.map { $0["name"] as! String } == ["ok"])
        let show = try CLI.run(["show", "--db", db, "n"])
        #expect(show.stdout.contains("not exportable: dead"))
    }
}
