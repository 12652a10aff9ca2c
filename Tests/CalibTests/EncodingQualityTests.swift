import Foundation
import Testing

@testable import CalibDerivation
@testable import CalibModel
@testable import CalibObservers

/// The clipping and SQNR estimates `calib methods` ranks methods by, worked by hand.
@Suite struct EncodingQualityTests {
    /// 8-bit unsigned, scale 1, offset 0: the grid is 0...255. Bins centred at 0.25 (error 0.25),
    /// 2 (exact) and 300 (clipped to 255, error 45).
    @Test func handWorkedHistogram() {
        let scheme = QuantScheme(convention: .aimet, bitwidth: 8, symmetric: false, signed: false)
        let e = Encoding(scheme: scheme, channelAxis: nil, scale: [1], offset: [0], min: [0], max: [255])
        let q = EncodingQuality(e, counts: [4, 0, 2, 1], edges: [0, 0.5, 1.5, 2.5, 597.5])
        #expect(q.clipped == 1.0 / 7)
        let signal = 4 * 0.0625 + 2 * 4 + 1 * 90000.0
        let noise = 4 * 0.0625 + 1 * 2025.0
        #expect(q.sqnr == 10 * log10(signal / noise))
        // Everything on the grid: no noise, no clipping.
        let exact = EncodingQuality(e, counts: [3], edges: [1.5, 2.5])
        #expect(exact.clipped == 0 && exact.sqnr == .infinity)
        #expect(EncodingQuality(e, counts: [0, 0], edges: [0, 1, 2]).sqnr == nil)
    }

    /// Uniform values in [-1, 1] and one outlier at 40: min/max spends its grid on the outlier and
    /// its SQNR is uniform quantization noise's, `s^2 / 12`; a two-tailed 99.99 percentile clips
    /// the outlier and, since onnxruntime takes the left edge of a 80/2048-wide bin, up to that
    /// width of the uniform values (2 % of them) at each end.
    @Test func minMaxAndPercentileOnAnOutlier() throws {
        var values = (0..<20000).map { i in Float(-1 + 2 * Double(i) / 19999) }
        values.append(40)
        var signed = OnnxRuntimeHistogram(kind: .signed, bins: 2048)
        var absolute = OnnxRuntimeHistogram(kind: .absolute, bins: 2048)
        try signed.collect(values)
        try absolute.collect(values)
        let state = HistogramState.onnxruntime(
            histograms: [signed, absolute], method: .entropy(quantizedBins: 128), collect: .all)
        let stats = TensorStats(
            observer: ObserverConfig(kind: .histogram), state: .histogram(min: [-1], max: [40], state),
            batches: 1, elements: values.count, nonfinite: 0)
        let scheme = QuantScheme(convention: .onnxruntime, bitwidth: 8, symmetric: false, signed: false)
        let eval = try #require(state.evaluationHistogram)
        let minmaxEncoding = Encoding(observedMin: stats.min, observedMax: stats.max, scheme: scheme, channelAxis: nil)
        let minmax = EncodingQuality(minmaxEncoding, counts: eval.counts, edges: eval.edges)
        #expect(minmax.clipped == 0)
        let s = Double(minmaxEncoding.scale[0])
        let signal = (20000.0 / 3 + 1600) / 20001
        let theory = 10 * log10(signal / (s * s / 12))
        #expect(abs(try #require(minmax.sqnr) - theory) < 1, "\(minmax.sqnr!) vs \(theory) dB")
        let p = EncodingQuality(
            stats.encoding(scheme, channelAxis: nil, method: .onnxruntime(.percentile(99.99, symmetric: false))),
            counts: eval.counts, edges: eval.edges)
        #expect(p.clipped > 1.0 / 20001 && p.clipped < 0.04, "\(p.clipped)")
    }
}
