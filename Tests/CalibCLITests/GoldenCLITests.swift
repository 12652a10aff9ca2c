import CalibTestSupport
import Foundation
import Testing

@testable import CalibKit
@testable import CalibSupport

/// Every golden case reproduced through the command line: `calib run`, then `calib export --format json`.
@Suite struct GoldenCLITests {
    static func export(_ golden: GoldenCase, inputs: [String]) throws -> [String: [String: Any]] {
        let dir = TemporaryDirectory()
        let db = dir.path("golden.sqlite")
        let run = try CLI.run(["run", "--db", db, "--session", golden.name] + golden.runFlags + inputs)
        #expect(run.status == 0, "\(run.stderr)")
        let out = dir.path("encodings.json")
        let export = try CLI.run(["export", "--db", db, golden.name, "--format", "json", "-o", out])
        #expect(export.status == 0, "\(export.stderr)")
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as! [String: Any]
        #expect(doc["session"] as? String == golden.name)
        #expect(doc["convention"] as? String == golden.convention)
        return doc["encodings"] as! [String: [String: Any]]
    }

    @Test(arguments: GoldenCase.aimet)
    func aimetCase(_ golden: GoldenCase) throws {
        let encodings = try Self.export(golden, inputs: [golden.batchesDir])
        #expect(Set(encodings.keys) == Set(golden.tensors.keys))
        for (name, e) in encodings {
            for key in ["scale", "min", "max", "observed_min", "observed_max"] {
                expectSameBits(GoldenCase.floats(e[key]!), golden.floats(name, key), "\(name) \(key)")
            }
            #expect(GoldenCase.floats(e["offset"]!).map { Int($0) } == golden.ints(name, "offset"), "\(name) offset")
            #expect(GoldenCase.floats(e["zero_point"]!).map { Int($0) } == golden.ints(name, "offset").map { -$0 })
            let perChannel = golden.config["per_channel_axis"] as? Int
            #expect(e["per_channel_axis"] as? Int == perChannel)
            #expect((e["scale"] is [Any]) == (perChannel != nil), "per-channel values are arrays, per-tensor values scalars")
            #expect(e["bitwidth"] as? Int == golden.config["bitwidth"] as? Int)
            #expect(e["symmetric"] as? Bool == golden.config["symmetric"] as? Bool)
            #expect(e["signed"] as? Bool == golden.config["signed"] as? Bool)
            #expect(e["nonfinite"] as? Int == 0)
        }
    }

    @Test(arguments: GoldenCase.pytorch)
    func pytorchCase(_ golden: GoldenCase) throws {
        let encodings = try Self.export(golden, inputs: [golden.batchesDir])
        #expect(Set(encodings.keys) == Set(golden.tensors.keys))
        for (name, e) in encodings {
            expectSameBits(GoldenCase.floats(e["scale"]!), golden.floats(name, "scale"), "\(name) scale")
            #expect(GoldenCase.floats(e["zero_point"]!).map { Int($0) } == golden.ints(name, "zero_point"), "\(name) zero_point")
            expectSameBits(GoldenCase.floats(e["observed_min"]!), golden.floats(name, "min"), "\(name) min")
            expectSameBits(GoldenCase.floats(e["observed_max"]!), golden.floats(name, "max"), "\(name) max")
        }
    }

    @Test(arguments: GoldenCase.withNpy)
    func npyVariantMatches(_ golden: GoldenCase) throws {
        let a = try Self.export(golden, inputs: [golden.batchesDir])
        let b = try Self.export(golden, inputs: [golden.npyDir])
        #expect(NSDictionary(dictionary: a).isEqual(to: b))
    }
}
