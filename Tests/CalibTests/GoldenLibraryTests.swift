import CalibTestSupport
import Foundation
import Testing

@testable import CalibDerivation
@testable import CalibKit
@testable import CalibModel
@testable import CalibObservers
@testable import CalibReaders
@testable import CalibStore
@testable import CalibSupport

/// Every golden case reproduced through the library: reader → observer → store → derivation.
@Suite struct GoldenLibraryTests {
    static func calibrate(_ golden: GoldenCase, inputs: [String]) throws -> [String: TensorReport] {
        let store = try CalibStore()
        _ = try CalibrationRunner(store: store, options: golden.runOptions).run(try BatchReader(inputs: inputs))
        let session = try store.requireSession(golden.name)
        return Dictionary(uniqueKeysWithValues: try store.reports(session: session).map { ($0.tensor.name, $0) })
    }

    @Test(arguments: GoldenCase.aimet)
    func aimetCase(_ golden: GoldenCase) throws {
        let reports = try Self.calibrate(golden, inputs: [golden.batchesDir])
        #expect(Set(reports.keys) == Set(golden.tensors.keys))
        for (name, r) in reports {
            expectSameBits(r.stats!.min, golden.floats(name, "observed_min"), "\(name) observed_min")
            expectSameBits(r.stats!.max, golden.floats(name, "observed_max"), "\(name) observed_max")
            expectSameBits(r.encoding.scale, golden.floats(name, "scale"), "\(name) scale")
            #expect(r.encoding.offset == golden.ints(name, "offset"), "\(name) offset")
            expectSameBits(r.encoding.min, golden.floats(name, "min"), "\(name) min")
            expectSameBits(r.encoding.max, golden.floats(name, "max"), "\(name) max")
        }
    }

    @Test(arguments: GoldenCase.aimet)
    func quantizedLastBatch(_ golden: GoldenCase) throws {
        let reports = try Self.calibrate(golden, inputs: [golden.batchesDir])
        let files = try FileManager.default.contentsOfDirectory(atPath: golden.batchesDir).sorted()
        let reader = try BatchReader(inputs: [golden.batchesDir + "/" + files.last!])
        let last = try #require(try reader.next())
        for tensor in last.tensors {
            let encoding = reports[tensor.name]!.encoding
            let codes = encoding.quantize(tensor.floatValues(), shape: tensor.shape)
            #expect(codes == golden.ints(tensor.name, "quantized_last_batch"), "\(tensor.name)")
        }
    }

    @Test(arguments: GoldenCase.pytorch)
    func pytorchCase(_ golden: GoldenCase) throws {
        let reports = try Self.calibrate(golden, inputs: [golden.batchesDir])
        #expect(Set(reports.keys) == Set(golden.tensors.keys))
        for (name, r) in reports {
            expectSameBits(r.stats!.min, golden.floats(name, "min"), "\(name) min")
            expectSameBits(r.stats!.max, golden.floats(name, "max"), "\(name) max")
            expectSameBits(r.encoding.scale, golden.floats(name, "scale"), "\(name) scale")
            #expect(r.encoding.zeroPoint == golden.ints(name, "zero_point"), "\(name) zero_point")
            let (qmin, qmax) = r.encoding.scheme.quantRange
            #expect(qmin == golden.tensors[name]!["quant_min"] as? Int)
            #expect(qmax == golden.tensors[name]!["quant_max"] as? Int)
        }
    }

    /// The same batches written by numpy as directories of .npy files give identical results.
    @Test(arguments: GoldenCase.withNpy)
    func npyVariantMatches(_ golden: GoldenCase) throws {
        let fromSafetensors = try Self.calibrate(golden, inputs: [golden.batchesDir])
        let fromNpy = try Self.calibrate(golden, inputs: [golden.npyDir])
        #expect(fromNpy == fromSafetensors)
        #expect(!fromNpy.isEmpty)
    }

    /// Feeding every batch twice into one session gives exactly what one pass gives.
    @Test(arguments: GoldenCase.all)
    func runningTwiceChangesNothing(_ golden: GoldenCase) throws {
        let store = try CalibStore()
        let runner = CalibrationRunner(store: store, options: golden.runOptions)
        let first = try runner.run(try BatchReader(inputs: [golden.batchesDir]))
        let session = try store.requireSession(golden.name)
        let once = try store.reports(session: session)
        let second = try runner.run(try BatchReader(inputs: [golden.batchesDir, golden.batchesDir]))
        #expect(second.added == 0)
        #expect(second.skipped == 2 * first.added)
        #expect(try store.reports(session: session) == once)
        #expect(try store.batches(session: session.id).count == first.added)
    }
}

/// The four worked examples of the project's original notes (4 decimals).
@Suite struct SeedNotesTests {
    struct Seed: @unchecked Sendable, CustomStringConvertible {
        let values: [String: Any]
        var description: String { "\(values["convention"]!) sym=\(values["symmetric"]!) signed=\(values["signed"]!)" }
    }

    nonisolated(unsafe) static let notes =
        try! JSONSerialization.jsonObject(
            with: Data(contentsOf: Fixtures.url("golden/seed_notes.json"))) as! [String: Any]
    static let seeds = (notes["cases"] as! [[String: Any]]).map(Seed.init)

    @Test(arguments: seeds)
    func reproduced(_ seed: Seed) throws {
        let c = seed.values
        let reader = try BatchReader(inputs: [Fixtures.path("golden/cases/aimet_seed4x4_asym_unsigned_8/batches/000.safetensors")]
        )
        let tensor = try #require(try reader.next()?.tensors.first)
        let range = RangeKernel.observe(tensor, channelAxis: nil)
        #expect(abs(Double(range.min[0]) - (Self.notes["input_min"] as! Double)) < 1e-4)
        #expect(abs(Double(range.max[0]) - (Self.notes["input_max"] as! Double)) < 1e-4)
        let scheme = QuantScheme(
            convention: Convention(rawValue: c["convention"] as! String)!, bitwidth: 8,
            symmetric: c["symmetric"] as! Bool, signed: c["signed"] as? Bool)
        let e = Encoding(observedMin: range.min, observedMax: range.max, scheme: scheme, channelAxis: nil)
        #expect(abs(Double(e.scale[0]) - (c["scale"] as! Double)) < 1e-4)
        #expect(e.offset[0] == c["offset"] as! Int)
        #expect(abs(Double(e.min[0]) - (c["min"] as! Double)) < 1e-4)
        #expect(abs(Double(e.max[0]) - (c["max"] as! Double)) < 1e-4)
        let values = tensor.floatValues()
        if let quantized = c["quantized"] as? [[Int]] {
            #expect(e.quantize(values, shape: tensor.shape) == quantized.flatMap { $0 })
        }
        if let dequantized = c["dequantized"] as? [[Double]] {
            let got = e.fakeQuantize(values, shape: tensor.shape)
            for (g, want) in zip(got, dequantized.flatMap { $0 }) { #expect(abs(Double(g) - want) < 1e-4) }
        }
    }
}
