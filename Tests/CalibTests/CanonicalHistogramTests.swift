import CalibTestSupport
import Foundation
import Testing

@testable import CalibDerivation
@testable import CalibModel
@testable import CalibObservers

/// calib's canonical histogram: counting, exact merging in any order and split, its bytes, the
/// projection onto the tools' grids, and how far each tool's method computed on it lands from what
/// the tool itself gave on every golden case.
@Suite struct CanonicalHistogramTests {
    /// Running min/max and the histogram of `batches`, fed in the order given.
    static func observe(_ batches: [[Float]]) -> (min: Float, max: Float, histogram: CanonicalHistogram) {
        var h = CanonicalHistogram()
        let counter = CanonicalCounter()
        var lo = Float.infinity
        var hi = -Float.infinity
        for b in batches {
            for v in b where v.isFinite {
                lo = min(lo, v)
                hi = max(hi, v)
            }
            b.withUnsafeBufferPointer { counter.observe($0, into: &h) }
        }
        return (lo, hi, h)
    }

    /// Bins counted one value at a time with a dictionary: the definition, without the table.
    static func naive(_ values: [Float], mantissaBits: Int = CanonicalHistogram.defaultMantissaBits) -> [UInt32: UInt64] {
        var out: [UInt32: UInt64] = [:]
        for v in values where v.isFinite { out[CanonicalHistogram.bin(v, mantissaBits: mantissaBits), default: 0] += 1 }
        return out
    }

    static func dictionary(_ h: CanonicalHistogram) -> [UInt32: UInt64] {
        Dictionary(uniqueKeysWithValues: zip(h.bins, h.counts))
    }

    static let tensorNames = ["act", "relu", "drift"]

    @Test func countsEveryFiniteValueInItsBin() {
        var values: [Float] = [
            0, -0.0, 1, -1, (1 + 0x1p-8).nextDown, 1 + 0x1p-8, .leastNonzeroMagnitude, -.leastNormalMagnitude,
            .greatestFiniteMagnitude,
        ]
        values += [.nan, .infinity, -.infinity, -.greatestFiniteMagnitude]
        var g = SystemRandomNumberGenerator()
        values += (0..<10_000).map { _ in Float.random(in: -40...40, using: &g) * Float.random(in: 0...1, using: &g) }
        let (lo, hi, h) = Self.observe([values])
        #expect(Self.dictionary(h) == Self.naive(values))
        #expect(h.total == UInt64(values.count - 3))
        #expect(lo == -.greatestFiniteMagnitude && hi == .greatestFiniteMagnitude)
        // +0 and -0 land in bins of their own sign; 1 and 1 + 2^-8 in neighbouring 8-bit bins.
        #expect(h.bins.contains(0) && h.bins.contains(1 << UInt32(8 + h.mantissaBits)))
        #expect(
            CanonicalHistogram.bin((1 + 0x1p-8).nextDown, mantissaBits: 8) + 1
                == CanonicalHistogram.bin(1 + 0x1p-8, mantissaBits: 8))
        #expect(CanonicalHistogram.bin(-1, mantissaBits: 8) == 1 << 16 | 127 << 8)
    }

    /// The vectorised kernel (chunks of 4096, bounds first) and the portable one count the same,
    /// across chunk ends and tails, for every grid width.
    @Test func vectorAndPortableKernelsAgree() {
        var rng = SplitMix(seed: 11)
        var values: [Float] = (0..<9_000).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: rng.next())) }
        values += [0, -0.0, 1, .nan, .infinity] + (0..<3).map { Float($0) * 1e-40 }
        for bits in [1, 8, 11, 16] {
            var fast = CanonicalHistogram(mantissaBits: bits)
            var portable = CanonicalHistogram(mantissaBits: bits)
            values.withUnsafeBufferPointer {
                CanonicalCounter(mantissaBits: bits).observe($0, into: &fast)
                CanonicalCounter(mantissaBits: bits, portable: true).observe($0, into: &portable)
            }
            #expect(fast == portable, "\(bits) bits")
            #expect(Self.dictionary(fast) == Self.naive(values, mantissaBits: bits), "\(bits) bits")
        }
    }

    @Test func readsUnalignedFloat32WhereItLies() {
        let values: [Float] = (0..<1001).map { Float($0) * 0.37 - 150 }
        var bytes = [UInt8](repeating: 0, count: 1 + 4 * values.count)
        values.withUnsafeBytes { raw in for i in 0..<raw.count { bytes[1 + i] = raw[i] } }
        var h = CanonicalHistogram()
        bytes.withUnsafeBytes { raw in
            CanonicalCounter().observe(float32: raw.baseAddress! + 1, count: values.count, into: &h)
        }
        #expect(Self.dictionary(h) == Self.naive(values))
    }

    /// The property the reference tools lack: the same batches in another order, or split in two
    /// shards merged, give the same counts bit for bit (golden batches and the MiniLM sample).
    @Test func mergesExactlyInAnyOrderAndSplit() throws {
        let golden = OnnxRuntimeGoldenCase.batches
        for name in Self.tensorNames {
            let batches = golden.map { $0[name]! }
            let forward = Self.observe(batches)
            let backward = Self.observe(batches.reversed())
            #expect(forward.histogram == backward.histogram, "\(name): reversed order")
            #expect(forward.histogram.serialized() == backward.histogram.serialized())
            var shuffled = batches
            var rng = SplitMix(seed: 7)
            shuffled.shuffle(using: &rng)
            let half = shuffled.count / 2
            var a = Self.observe(Array(shuffled[..<half])).histogram
            let b = Self.observe(Array(shuffled[half...])).histogram
            var ba = b
            ba.merge(a)
            a.merge(b)
            #expect(a == forward.histogram, "\(name): two shards merged")
            #expect(ba == forward.histogram, "\(name): merged the other way round")
            #expect(Self.dictionary(a) == Self.naive(batches.flatMap { $0 }))
        }
    }

    @Test func bytesRoundTripAndRefuseDamage() throws {
        let (_, _, h) = Self.observe(OnnxRuntimeGoldenCase.batches.map { $0["act"]! })
        let bytes = h.serialized()
        #expect(try CanonicalHistogram(serialized: bytes) == h)
        #expect(bytes.count < 9 + 6 * h.bins.count)
        #expect(throws: HistogramBytesError.self) { try CanonicalHistogram(serialized: bytes.dropLast()) }
        #expect(throws: HistogramBytesError.self) { try CanonicalHistogram(serialized: bytes + [0]) }
        var overlong = Array(bytes[..<9])
        overlong += [UInt8](repeating: 0xFF, count: 12) + [1]
        #expect(throws: HistogramBytesError.self) { try CanonicalHistogram(serialized: overlong) }
        #expect(throws: HistogramBytesError.self) {
            try CanonicalHistogram(mantissaBits: 11, bins: [5, 5], counts: [1, 1])  // not ascending
        }
        #expect(throws: HistogramBytesError.self) {
            try CanonicalHistogram(mantissaBits: 11, bins: [0xFF << 11], counts: [1])  // an infinity's bin
        }
        let state = HistogramState.canonical(h, method: .onnxruntime(.percentile(99.9, symmetric: false)), onnxruntimeBins: 512)
        #expect(try HistogramState(serialized: state.serialized()) == state)
        let plain = HistogramState.canonical(CanonicalHistogram(), method: nil, onnxruntimeBins: nil)
        #expect(try HistogramState(serialized: plain.serialized()) == plain)
    }

    @Test func projectionKeepsEveryCountAndPlacesWholeBinsExactly() {
        let values: [Float] = (0..<4096).map { Float($0 % 64) - 20 }  // integers: whole canonical bins
        let (lo, hi, h) = Self.observe([values])
        let edges = (0...64).map { Float($0) - 20.5 }
        let counts = h.projected(onto: edges, min: lo, max: hi)
        #expect(counts.reduce(0, +) == 4096)
        #expect(counts.dropLast().allSatisfy { $0 == 64 })  // bin k holds the integer k - 20 only
        let magnitudes = h.projected(onto: (0...32).map { Float($0) + 0.5 }, min: lo, max: hi, absolute: true)
        #expect(magnitudes.reduce(0, +) == 4096)
    }

    /// TensorRT's entropy against a literal transcription of ModelOpt's `_compute_amax_entropy`
    /// (digitize, Counter, scipy's entropy with its normalisation), on histograms of different shapes.
    @Test func tensorRTEntropyMatchesALiteralTranscription() {
        var rng = SplitMix(seed: 3)
        var shapes: [[Double]] = []
        // Laplace-like |x|; a bulk with an outlier at the end; sparse noise.
        shapes.append((0..<2048).map { (i: Int) -> Double in (exp(-Double(i) / 90) * 1e5).rounded(.down) })
        shapes.append((0..<2048).map { (i: Int) -> Double in i < 300 ? Double(1000 - 3 * i) : (i == 2047 ? 5 : 0) })
        for _ in 0..<1 {
            var noise: [Double] = []
            for _ in 0..<2048 {
                let v = Double(rng.next() % 50)
                noise.append(rng.next() % 4 == 0 ? 0 : v)
            }
            shapes.append(noise)
        }
        for (k, h) in shapes.enumerated() {
            let fast = TensorRTEntropy.search(h)
            let literal = Self.literalEntropy(h)
            #expect(fast.divergences.count == literal.count, "shape \(k)")
            for (a, b) in zip(fast.divergences, literal) {
                #expect(a == b || abs(a - b) <= 1e-9 * max(abs(a), abs(b)), "shape \(k): \(a) vs \(b)")
            }
            var best = 0
            for i in literal.indices where literal[i] <= literal[best] { best = i }
            #expect(fast.bins == 128 + best, "shape \(k)")
        }
    }

    static func literalEntropy(_ calibHist: [Double], numBits: Int = 8, startBin: Int = 128) -> [Double] {
        var bins = calibHist
        bins[0] = bins[1]
        let nbins = 1 << (numBits - 1)
        var divergences: [Double] = []
        for i in startBin...bins.count {
            let space = (0...nbins).map { Double(i) * Double($0) / Double(nbins) }  // np.linspace(0, i, nbins + 1)
            // np.digitize(range(i), space) - 1: the last edge at or below j (bisection, as numpy searches).
            var digitized = (0..<i).map { j -> Int in
                var lo = 0
                var hi = space.count
                while hi - lo > 1 {
                    let mid = (lo + hi) / 2
                    if space[mid] <= Double(j) { lo = mid } else { hi = mid }
                }
                return lo
            }
            for j in 0..<i where bins[j] == 0 { digitized[j] = -1 }
            var newDensityCounts = [Double](repeating: 0, count: nbins)
            for (idx, d) in digitized.enumerated() where d != -1 { newDensityCounts[d] += bins[idx] }
            var counter: [Int: Int] = [:]
            for d in digitized { counter[d, default: 0] += 1 }
            for (key, val) in counter where key != -1 { newDensityCounts[key] /= Double(val) }
            var newDensity = [Double](repeating: 0, count: i)
            for (idx, d) in digitized.enumerated() where d != -1 { newDensity[idx] = newDensityCounts[d] }
            var reference = Array(bins[..<i])
            reference[i - 1] += bins[i...].reduce(0, +)
            // scipy.stats.entropy(pk, qk): both normalised to sum 1, sum of pk * log(pk / qk).
            let ps = reference.reduce(0, +)
            let qs = newDensity.reduce(0, +)
            var ent = 0.0
            for (p, q) in zip(reference, newDensity) where p > 0 {
                ent += q > 0 ? (p / ps) * log((p / ps) / (q / qs)) : .infinity
            }
            divergences.append(ent)
        }
        return divergences
    }

    // MARK: distance to the references

    /// One golden case's distance: how far the encoding a method computes on the canonical
    /// histogram lies from the tool's own, in quantization steps of the reference (the largest of
    /// the two ends of the encoding's range).
    struct Distance: CustomStringConvertible {
        var tool: String
        var testCase: String
        var steps: [String: Double]
        var worst: Double { steps.values.max() ?? 0 }
        var description: String {
            "\(tool) \(testCase): worst \(String(format: "%.3f", worst)) steps ("
                + steps.keys.sorted().map {
                    "\($0) \(String(format: "%.3f", steps[$0]!))"
                }.joined(separator: ", ") + ")"
        }
    }

    static func steps(_ e: Encoding, refMin: Float, refMax: Float, refScale: Float) -> Double {
        max(abs(Double(e.min[0]) - Double(refMin)), abs(Double(e.max[0]) - Double(refMax))) / Double(refScale)
    }

    static func aimetDistances() throws -> [Distance] {
        try AimetHistogramCase.all.map { golden in
            let batches = try golden.batches()
            var steps: [String: Double] = [:]
            for name in golden.tensors.keys.sorted() {
                let (lo, hi, h) = observe(batches.map { $0[name]! })
                let stats = TensorStats(
                    observer: ObserverConfig(kind: .histogram),
                    state: .histogram(min: [lo], max: [hi], .canonical(h, method: nil, onnxruntimeBins: nil)),
                    batches: batches.count, elements: 0, nonfinite: 0)
                let scale = golden.floats(name, "scale")[0]
                if golden.convention == "aimet" {
                    let e = stats.encoding(golden.aimetScheme, channelAxis: nil, method: .aimet(golden.aimetMethod))
                    steps[name] = Self.steps(
                        e, refMin: golden.floats(name, "min")[0], refMax: golden.floats(name, "max")[0], refScale: scale)
                } else {
                    let scheme = golden.torchScheme
                    let e = stats.encoding(scheme, channelAxis: nil)
                    let zp = Float(golden.ints(name, "zero_point")[0])
                    let qmin = Float(golden.tensors[name]!["quant_min"] as! Int)
                    let qmax = Float(golden.tensors[name]!["quant_max"] as! Int)
                    steps[name] = Self.steps(e, refMin: (qmin - zp) * scale, refMax: (qmax - zp) * scale, refScale: scale)
                }
            }
            return Distance(tool: golden.convention, testCase: golden.name, steps: steps)
        }
    }

    static func onnxRuntimeDistances() -> [Distance] {
        OnnxRuntimeGoldenCase.all.map { golden in
            var steps: [String: Double] = [:]
            for name in tensorNames {
                let (lo, hi, h) = observe(OnnxRuntimeGoldenCase.batches.map { $0[name]! })
                let method = OnnxRuntimeHistogramTests.method(golden)
                let stats = TensorStats(
                    observer: ObserverConfig(kind: .histogram),
                    state: .histogram(min: [lo], max: [hi], .canonical(h, method: nil, onnxruntimeBins: golden.bins)),
                    batches: 0, elements: 0, nonfinite: 0)
                let scheme = QuantScheme(
                    convention: .onnxruntime, bitwidth: 8, symmetric: golden.symmetric, signed: golden.signed,
                    reduceRange: golden.reduceRange)
                let e = stats.encoding(scheme, channelAxis: nil, method: .onnxruntime(method))
                let scale = golden.float(name, "scale")
                let zp = Float(golden.int(name, "zero_point"))
                steps[name] = Self.steps(
                    e, refMin: (Float(golden.int(name, "qmin")) - zp) * scale,
                    refMax: (Float(golden.int(name, "qmax")) - zp) * scale,
                    refScale: scale)
            }
            return Distance(tool: "onnxruntime", testCase: golden.name, steps: steps)
        }
    }

    /// Within one quantization step of the reference on every `collect all` case and every AIMET and
    /// torch case: what one histogram of all the data gives. The onnxruntime `per_batch` cases are
    /// reported, not bounded: there onnxruntime's own merge drifts (its |x| histogram drops values
    /// below the first batch's smallest magnitude), and the canonical histogram does not follow it.
    @Test func methodsLandWithinOneStepOfTheReferences() throws {
        let all = try Self.aimetDistances() + Self.onnxRuntimeDistances()
        for d in all { print("distance \(d)") }
        for d in all where !d.testCase.hasSuffix("per_batch") {
            #expect(d.worst <= 0.25, "\(d)")  // the issue asks for 1 step; 11 bits gives 0.083 at most
        }
        #expect(all.count == AimetHistogramCase.all.count + OnnxRuntimeGoldenCase.all.count)
    }
}
