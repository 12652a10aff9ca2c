import CalibTestSupport
import Foundation
import Testing

@testable import CalibDerivation
@testable import CalibModel
@testable import CalibObservers

/// Every hist_cases_ort case (onnxruntime 1.31.1) reproduced bit for bit by the histogram state and
/// its methods: range, scale, zero point, grid, and the stored final histogram.
@Suite struct OnnxRuntimeHistogramTests {
    static let tensorNames = ["act", "relu", "drift"]

    /// The collector kind onnxruntime picks: `|x|` for percentile with CalibTensorRangeSymmetric.
    static func kind(_ golden: OnnxRuntimeGoldenCase) -> OnnxRuntimeHistogram.Kind {
        golden.method == "percentile" && golden.calibSymmetric ? .absolute : .signed
    }

    static func method(_ golden: OnnxRuntimeGoldenCase) -> OnnxRuntimeHistogramMethod {
        switch golden.method {
        case "entropy": .entropy(quantizedBins: golden.quantizedBins!)
        case "percentile": .percentile(golden.percentile!, symmetric: golden.calibSymmetric)
        default: .distribution
        }
    }

    /// Feeds the case's batches: a collect per batch, or one collect over all of them made the way a
    /// caller that reads its inputs twice does it (an extent pass, then a counting pass).
    static func histogram(_ golden: OnnxRuntimeGoldenCase, tensor: String) throws -> OnnxRuntimeHistogram {
        var h = OnnxRuntimeHistogram(kind: kind(golden), bins: golden.bins)
        let batches = OnnxRuntimeGoldenCase.batches.map { $0[tensor]! }
        if golden.perBatch {
            for b in batches { try h.collect(b) }
        } else {
            var extent = CollectExtent()
            for b in batches { b.withUnsafeBufferPointer { extent.add($0) } }
            var pass = try h.beginCollect(extent)
            for b in batches { pass.count(b) }
            h.finish(pass)
        }
        return h
    }

    @Test(arguments: OnnxRuntimeGoldenCase.all)
    func goldenCase(_ golden: OnnxRuntimeGoldenCase) throws {
        #expect(Set(golden.tensors.keys) == Set(Self.tensorNames))
        let method = Self.method(golden)
        try method.validate(bins: golden.bins)
        for name in Self.tensorNames {
            let h = try Self.histogram(golden, tensor: name)
            let range = try method.range(counts: h.counts, edges: h.edges, min: h.min, max: h.max)
            expectSameBits([range.min], [golden.float(name, "range_min")], "\(name) range_min")
            expectSameBits([range.max], [golden.float(name, "range_max")], "\(name) range_max")
            let scheme = QuantScheme(
                convention: .onnxruntime, bitwidth: 8, symmetric: golden.symmetric, signed: golden.signed,
                reduceRange: golden.reduceRange)
            let (scale, offset) = EncodingMath.scaleOffset(min: range.min, max: range.max, scheme: scheme)
            expectSameBits([scale], [golden.float(name, "scale")], "\(name) scale")
            #expect(-offset == golden.int(name, "zero_point"), "\(name) zero_point")
            #expect(scheme.quantRange.qmin == golden.int(name, "qmin"), "\(name) qmin")
            #expect(scheme.quantRange.qmax == golden.int(name, "qmax"), "\(name) qmax")
        }
    }

    /// The final histogram onnxruntime held for the case's one recorded tensor, count for count and
    /// edge for edge, with its running min/max (and threshold for a signed histogram).
    @Test(arguments: OnnxRuntimeGoldenCase.all.filter { $0.histogram != nil })
    func finalHistogram(_ golden: OnnxRuntimeGoldenCase) throws {
        let stored = golden.histogram!
        let h = try Self.histogram(golden, tensor: stored["tensor"] as! String)
        #expect((stored["kind"] as! String) == (h.kind == .signed ? "signed" : "abs"))
        let counts = (stored["counts"] as! [NSNumber]).map(\.int64Value)
        #expect(h.counts.count == counts.count, "bins")
        let differing = zip(h.counts, counts).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
        #expect(differing.isEmpty, "counts differ in \(differing.count) bins, first \(differing.prefix(5))")
        expectSameBits(h.edges, GoldenCase.floats(stored["edges"]!), "edges")
        expectSameBits([h.min], GoldenCase.floats(stored["min"]!), "min")
        expectSameBits([h.max], GoldenCase.floats(stored["max"]!), "max")
        if h.kind == .signed, let t = stored["threshold"] {
            expectSameBits([h.threshold], GoldenCase.floats(t), "threshold")
        }
    }

    /// Chunking a collect's counting pass changes nothing: values land in bins one by one.
    @Test func countingPassIgnoresChunking() throws {
        let values = OnnxRuntimeGoldenCase.batches.flatMap { $0["drift"]! }
        for kind in OnnxRuntimeHistogram.Kind.allCases {
            var whole = OnnxRuntimeHistogram(kind: kind, bins: 2048)
            try whole.collect(Array(values.prefix(5000)))
            var chunked = whole
            try whole.collect(values)
            var extent = CollectExtent()
            for part in stride(from: 0, to: values.count, by: 777) {
                values[part..<Swift.min(part + 777, values.count)].withUnsafeBufferPointer { extent.add($0) }
            }
            var pass = try chunked.beginCollect(extent)
            for part in stride(from: 0, to: values.count, by: 1000) {
                pass.count(Array(values[part..<Swift.min(part + 1000, values.count)]))
            }
            chunked.finish(pass)
            #expect(chunked == whole, "\(kind)")
        }
    }

    /// The state survives its byte form, both as one blob and as BLOB-able parts.
    @Test func serialisedStateRoundTrips() throws {
        for kind in OnnxRuntimeHistogram.Kind.allCases {
            var h = OnnxRuntimeHistogram(kind: kind, bins: 128)
            #expect(try OnnxRuntimeHistogram(serialized: h.serialized) == h)
            for b in OnnxRuntimeGoldenCase.batches { try h.collect(b["drift"]!) }
            #expect(h.counts.count > 128, "the batches grow the grid")
            #expect(try OnnxRuntimeHistogram(serialized: h.serialized) == h)
            let parts = try OnnxRuntimeHistogram(
                kind: h.kind, bins: h.bins, min: h.min, max: h.max, threshold: h.threshold, countsBytes: h.countsBytes,
                edgesBytes: h.edgesBytes)
            #expect(parts == h)
            #expect(h.serialized.count == 28 + 12 * h.counts.count + 4)
            #expect(throws: HistogramError.self) { try OnnxRuntimeHistogram(serialized: Array(h.serialized.dropLast())) }
        }
    }

    /// numpy's float32 floor division, on the cases that make `//` differ from a plain floor.
    @Test func floorDivisionMatchesNumpy() {
        #expect(OnnxRuntimeHistogram.floorDivide(7, 2) == 3)
        #expect(OnnxRuntimeHistogram.floorDivide(6, 2) == 3)
        #expect(OnnxRuntimeHistogram.floorDivide(0.5, 0.25) == 2)
        #expect(OnnxRuntimeHistogram.floorDivide(0.1, 1) == 0)
    }

    /// The settings onnxruntime refuses.
    @Test func refusedSettings() {
        #expect(throws: HistogramMethodError.self) { try OnnxRuntimeHistogramMethod.distribution.validate(bins: 256) }
        #expect(throws: HistogramMethodError.self) {
            try OnnxRuntimeHistogramMethod.percentile(100.5, symmetric: true).validate(bins: 2048)
        }
        #expect(throws: HistogramMethodError.self) {
            try OnnxRuntimeHistogramMethod.entropy(quantizedBins: 256).validate(bins: 128)
        }
    }
}
