import CalibTestSupport
import Foundation
import Testing

@testable import CalibDerivation
@testable import CalibModel
@testable import CalibObservers

/// AIMET's histogram observer and analyzers against aimet-torch 2.42.0's own results, bit for bit.
@Suite struct AimetHistogramTests {
    /// Each tensor's histogram after feeding every batch of the case in order.
    static func histograms(_ golden: AimetHistogramCase) throws -> [String: AimetHistogram] {
        var out: [String: AimetHistogram] = [:]
        for batch in try golden.batches() {
            for (name, values) in batch {
                out[name, default: AimetHistogram(method: golden.aimetMethod)].observe(values)
            }
        }
        return out
    }

    @Test(arguments: AimetHistogramCase.aimet)
    func goldenCase(_ golden: AimetHistogramCase) throws {
        let histograms = try Self.histograms(golden)
        #expect(Set(histograms.keys) == Set(golden.tensors.keys))
        for (name, h) in histograms {
            let e = Encoding(aimetHistograms: [h], method: golden.aimetMethod, scheme: golden.aimetScheme, channelAxis: nil)
            expectSameBits(e.scale, golden.floats(name, "scale"), "\(name) scale")
            #expect(e.offset == golden.ints(name, "offset"), "\(name) offset")
            expectSameBits(e.min, golden.floats(name, "min"), "\(name) min")
            expectSameBits(e.max, golden.floats(name, "max"), "\(name) max")
        }
    }

    @Test func serializationRoundTrips() throws {
        let golden = try #require(AimetHistogramCase.aimet.first { $0.aimetMethod == .tfEnhanced })
        for (_, h) in try Self.histograms(golden) {
            let bytes = h.serialized()
            #expect(bytes.count == 4 + 4 + 5 * 4 + (2 * h.binCount + 1) * 4)
            #expect(try AimetHistogram(serialized: bytes) == h)
        }
        let empty = AimetHistogram(method: .sqnr)
        #expect(try AimetHistogram(serialized: empty.serialized()) == empty)
        #expect(throws: HistogramBytesError.self) { try AimetHistogram(serialized: [1, 2, 3]) }
        #expect(throws: HistogramBytesError.self) { try AimetHistogram(serialized: empty.serialized().dropLast()) }
    }
}
