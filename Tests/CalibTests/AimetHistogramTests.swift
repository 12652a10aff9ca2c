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

/// Behaviour read from AIMET's source that the golden cases do not reach.
@Suite struct AimetHistogramBehaviourTests {
    static func batches() throws -> [[Float]] {
        try AimetHistogramCase.aimet[0].batches().map { $0["act"]! }
    }

    /// With the channel axis outermost, each channel's histogram is the per-tensor one of its rows.
    @Test func perChannelOnTheOutermostAxis() throws {
        var channels = [AimetHistogram](repeating: AimetHistogram(method: .sqnr), count: 64)
        var rows = channels
        for batch in try Self.batches() {
            batch.withUnsafeBufferPointer {
                AimetHistogram.observe(&channels, channelsOf: $0, shape: [64, 256], channelAxis: 0)
            }
            for c in 0..<64 { rows[c].observe(Array(batch[c * 256..<(c + 1) * 256])) }
        }
        #expect(channels == rows)
    }

    /// TF-enhanced's histogram stops growing at 3 times the first range; beyond, values count in
    /// the end bins. Percentile's keeps growing.
    @Test func growthLimit() {
        var limited = AimetHistogram(method: .tfEnhanced)
        var free = AimetHistogram(method: .sqnr)
        for h in [0, 1] {
            let values: [Float] = h == 0 ? [0, 1, 2, 3, 4] : [-100, 50, 1000]
            limited.observe(values)
            free.observe(values)
        }
        #expect(limited.edges.first == -6 && limited.edges.last == 10)
        #expect(limited.min == -6 && limited.max == 10)
        #expect(limited.counts.first == 1 && limited.counts.last == 2)
        #expect(limited.counts.reduce(0, +) == 8)
        #expect(free.min == -100 && free.max == 1000 && free.counts.reduce(0, +) == 8)
    }

    /// A constant batch gets bins of width 1/B around its value; ±inf count in the end bins, NaN
    /// nowhere, and a batch without a finite value is skipped.
    @Test func constantAndNonFiniteValues() {
        var h = AimetHistogram(method: .sqnr)
        h.observe([Float.nan, -.infinity])
        #expect(h.isEmpty)
        h.observe([2, 2, .infinity, -.infinity, .nan])
        #expect(h.min == 2 && h.max == 2)
        #expect(h.edges.first == 1.5 && h.edges.last == 2.5)
        #expect(h.counts[0] == 1 && h.counts[2047] == 1 && h.counts[1024] == 2)
        #expect(h.counts.reduce(0, +) == 4)
    }
}
