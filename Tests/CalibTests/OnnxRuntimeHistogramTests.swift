import CalibTestSupport
import Foundation
import Testing

@testable import CalibDerivation
@testable import CalibModel
@testable import CalibObservers
@testable import CalibReaders

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

    /// onnxruntime's growth of a signed grid, worked by hand: T 1 -> 3 with 4 bins gives stride 0.5,
    /// 5 bins more each side, T2 = 3.5, the old counts in bins 5..<9.
    @Test func signedGridGrowsSymmetrically() throws {
        var h = OnnxRuntimeHistogram(kind: .signed, bins: 4)
        try h.collect([-1, 1])
        #expect(h.edges == [-1, -0.5, 0, 0.5, 1])
        #expect(h.counts == [1, 0, 0, 1])
        try h.collect([3])
        #expect(h.counts == [0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1])
        #expect(h.threshold == 3.5 && h.edges.first == -3.5 && h.edges.last == 3.5)
        #expect((h.min, h.max) == (-1, 3))
        try h.collect([0.2, -3.5])
        #expect(h.counts.count == 14, "within the grid: no growth")
        #expect(h.counts[0] == 1 && h.counts[7] == 1)
    }

    /// A first collect of zeros has T = 0 (numpy widens the range to +-0.5); the next one regrids to
    /// its own T and adds the old counts bin for bin, as onnxruntime does.
    @Test func zeroThresholdIsReplaced() throws {
        var h = OnnxRuntimeHistogram(kind: .signed, bins: 4)
        try h.collect([0, 0])
        #expect(h.edges == [-0.5, -0.25, 0, 0.25, 0.5])
        #expect(h.counts == [0, 0, 2, 0] && h.threshold == 0)
        try h.collect([2, -2])
        #expect(h.edges == [-2, -1, 0, 1, 2])
        #expect(h.counts == [1, 0, 2, 1] && h.threshold == 2)
    }

    /// The |x| grid starts at the first collect's smallest |x| and grows by np.arange steps; values
    /// below its first edge are dropped.
    @Test func absoluteGridGrowsUpwards() throws {
        var h = OnnxRuntimeHistogram(kind: .absolute, bins: 4)
        #expect(h.needsAbsoluteMinimum)
        try h.collect([0.5, -1, 2])
        #expect(!h.needsAbsoluteMinimum)
        #expect(h.edges == [0.5, 0.875, 1.25, 1.625, 2])
        #expect(h.counts == [1, 1, 0, 1])
        try h.collect([3, 0.1])
        #expect(h.edges == [0.5, 0.875, 1.25, 1.625, 2, 2.375, 2.75, 3.125])
        #expect(h.counts == [1, 1, 0, 1, 0, 0, 1])
        #expect((h.min, h.max) == (-1, 3))
    }

    /// NaN and infinities are skipped; a collect without a finite value changes nothing.
    @Test func nonFiniteValuesAreSkipped() throws {
        for kind in OnnxRuntimeHistogram.Kind.allCases {
            var plain = OnnxRuntimeHistogram(kind: kind, bins: 16)
            try plain.collect([1, -2, 0.5])
            var noisy = OnnxRuntimeHistogram(kind: kind, bins: 16)
            try noisy.collect([])
            try noisy.collect([.nan, .infinity])
            #expect(!noisy.hasData)
            try noisy.collect([1, .nan, -.infinity, -2, .infinity, 0.5])
            #expect(noisy == plain, "\(kind)")
        }
    }

    /// An extent built from a separate min/max pass gives the same collect as one computed here.
    @Test func extentFromMinMaxPass() throws {
        let values: [Float] = [0.25, -3, 1.5, 2]
        for kind in OnnxRuntimeHistogram.Kind.allCases {
            var own = OnnxRuntimeHistogram(kind: kind, bins: 8)
            try own.collect(values)
            try own.collect(values.map { $0 * 2 })
            var fed = OnnxRuntimeHistogram(kind: kind, bins: 8)
            for batch in [values, values.map { $0 * 2 }] {
                let absMin: Float = fed.needsAbsoluteMinimum ? batch.map(abs).min()! : 0
                var pass = try fed.beginCollect(CollectExtent(min: batch.min()!, max: batch.max()!, absMin: absMin))
                pass.count(batch)
                fed.finish(pass)
            }
            #expect(fed == own, "\(kind)")
        }
    }

    /// A grid that would outgrow the bound throws instead of allocating.
    @Test func growthIsBounded() throws {
        var h = OnnxRuntimeHistogram(kind: .signed, bins: 2048)
        try h.collect([-1e-3, 1e-3])
        #expect(throws: HistogramError.tooManyBins) { try h.collect([1e6]) }
        #expect(h.counts.count == 2048, "state unchanged")
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
