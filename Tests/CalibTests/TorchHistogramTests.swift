import CalibTestSupport
import Foundation
import Testing

@testable import CalibDerivation
@testable import CalibModel
@testable import CalibObservers

/// torch's HistogramObserver and calculate_qparams against torch 2.15.0's own results, bit for bit.
@Suite struct TorchHistogramTests {
    static func histograms(_ golden: AimetHistogramCase) throws -> [String: TorchHistogram] {
        var out: [String: TorchHistogram] = [:]
        for batch in try golden.batches() {
            for (name, values) in batch { out[name, default: TorchHistogram()].observe(values) }
        }
        return out
    }

    static func scheme(_ golden: AimetHistogramCase) -> QuantScheme { golden.torchScheme }

    @Test(arguments: AimetHistogramCase.pytorch)
    func goldenCase(_ golden: AimetHistogramCase) throws {
        let histograms = try Self.histograms(golden)
        #expect(Set(histograms.keys) == Set(golden.tensors.keys))
        for (name, h) in histograms {
            expectSameBits([h.min], golden.floats(name, "min"), "\(name) min_val")
            expectSameBits([h.max], golden.floats(name, "max"), "\(name) max_val")
            let e = Encoding(torchHistogram: h, scheme: Self.scheme(golden))
            expectSameBits(e.scale, golden.floats(name, "scale"), "\(name) scale")
            #expect(e.zeroPoint == golden.ints(name, "zero_point"), "\(name) zero_point")
            let (qmin, qmax) = e.scheme.quantRange
            #expect(qmin == golden.tensors[name]!["quant_min"] as? Int)
            #expect(qmax == golden.tensors[name]!["quant_max"] as? Int)
        }
    }

    @Test func serializationRoundTrips() throws {
        let golden = try #require(AimetHistogramCase.pytorch.first)
        for (_, h) in try Self.histograms(golden) {
            #expect(try TorchHistogram(serialized: h.serialized()) == h)
        }
        let empty = TorchHistogram()
        #expect(try TorchHistogram(serialized: empty.serialized()) == empty)
        #expect(throws: HistogramBytesError.self) { try TorchHistogram(serialized: empty.serialized() + [0]) }
    }
}
