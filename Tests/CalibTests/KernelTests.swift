import CKernels
import CalibTestSupport
import Foundation
import Testing

@testable import CalibKit
@testable import CalibModel
@testable import CalibObservers
@testable import CalibReaders
@testable import CalibSupport

/// The observer kernels (C, AVX2 and portable) against a plain scalar reference, over randomized
/// tensors of every dtype, both byte orders, C and Fortran order, unaligned data, NaN/Inf sprinkled,
/// per tensor and per channel on every axis, through every strategy of the kernels (contiguous runs,
/// rows, rows of several periods, column blocks) and the threaded split.
@Suite struct KernelTests {
    /// xorshift64*: deterministic, so a failure names a reproducible case.
    struct Rng {
        var state: UInt64
        init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
        mutating func next() -> UInt64 {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return state &* 0x2545_F491_4F6C_DD1D
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func chance(_ oneIn: Int) -> Bool { below(oneIn) == 0 }
    }

    /// Sign pattern of generated floats: the contiguous kernels pick their reductions by sign.
    enum Signs: CaseIterable { case mixed, nonNegative, nonPositive, zeros }

    static let isas: [(String, Int32)] = [("portable", Int32(CK_ISA_PORTABLE)), ("avx2", Int32(CK_ISA_AVX2))]

    /// A tensor over fresh bytes at `offset` past a 64-byte boundary, filled by `rng`.
    static func tensor(
        _ dtype: DType, shape: [Int], byteOrder: ByteOrder = .little, fortran: Bool = false, offset: Int = 0,
        signs: Signs = .mixed, nonfiniteOneIn: Int? = 50, rng: inout Rng
    ) -> TensorData {
        let count = shape.reduce(1, *)
        let owned = OwnedBytes(count: offset + count * dtype.size)
        let p = owned.pointer.baseAddress! + offset
        for i in 0..<count {
            var bits = element(dtype, signs: signs, nonfiniteOneIn: nonfiniteOneIn, rng: &rng)
            if byteOrder == .big {
                bits = bits.byteSwapped >> (64 - 8 * dtype.size)
            }
            withUnsafeBytes(of: bits.littleEndian) { raw in
                (p + i * dtype.size).copyMemory(from: raw.baseAddress!, byteCount: dtype.size)
            }
        }
        return TensorData(
            name: "t", dtype: dtype, shape: shape, byteOrder: byteOrder, fortranOrder: fortran,
            bytes: UnsafeRawBufferPointer(rebasing: owned.bytes[offset..<(offset + count * dtype.size)]), storage: owned)
    }

    /// One element's bits (in the low `dtype.size` bytes).
    static func element(_ dtype: DType, signs: Signs, nonfiniteOneIn: Int?, rng: inout Rng) -> UInt64 {
        let r = rng.next()
        let nonfinite = nonfiniteOneIn.map { rng.chance($0) } ?? false
        func signed(_ bits: UInt64, _ signBit: UInt64) -> UInt64 {
            switch signs {
            case .mixed: return bits
            case .nonNegative: return bits & ~signBit
            case .nonPositive: return bits | signBit
            case .zeros: return rng.chance(3) ? bits : (bits & signBit)
            }
        }
        switch dtype {
        case .float32:
            var f: Float
            if nonfinite {
                switch rng.below(4) {
                case 0: f = .nan
                case 1: f = .infinity
                case 2: f = -.infinity
                default: f = -.nan
                }
            } else {
                switch rng.below(8) {
                case 0: f = Float(bitPattern: UInt32(truncatingIfNeeded: r) & 0x807F_FFFF)  // subnormal
                case 1: f = rng.chance(2) ? 0 : -0.0
                case 2:
                    f = Float(bitPattern: UInt32(truncatingIfNeeded: r))
                    if !f.isFinite { f = .greatestFiniteMagnitude }
                default: f = Float(Int64(r % 2_000_001) - 1_000_000) / 997
                }
            }
            return signed(UInt64(f.bitPattern), 1 << 31)
        case .float16, .bfloat16:
            // Any 16-bit pattern is a value; exponent all ones is NaN/Inf.
            var bits = r & 0xFFFF
            let expMask: UInt64 = dtype == .float16 ? 0x7C00 : 0x7F80
            if !nonfinite && bits & expMask == expMask { bits &= ~(expMask & (expMask >> 1)) }
            if nonfinite { bits |= expMask }
            if rng.chance(6) { bits &= 0x8000 }  // ±0
            return signed(bits, 0x8000)
        case .float64:
            var d: Double
            if nonfinite {
                switch rng.below(5) {  // ±1e300 become ±inf as float32
                case 0: d = .nan
                case 1: d = .infinity
                case 2: d = -.infinity
                case 3: d = 1e300
                default: d = -1e300
                }
            } else {
                d = rng.chance(5) ? Double(bitPattern: r & 0x800F_FFFF_FFFF_FFFF) : Double(Int64(r % 20001) - 10000) / 7
            }
            return signed(d.bitPattern, 1 << 63)
        default:
            return r
        }
    }

    /// The reference: every element decoded one by one (TensorData.floatValues, logical C order),
    /// compared in total order (-0 < +0), non-finite counted.
    static func reference(_ t: TensorData, channelAxis: Int?) -> BatchRange {
        let values = t.floatValues()
        let channels = channelAxis.map { t.shape[$0] } ?? 1
        let inner = channelAxis.map { t.shape[($0 + 1)...].reduce(1, *) } ?? 1
        var mins = [Float](repeating: .infinity, count: channels)
        var maxs = [Float](repeating: -.infinity, count: channels)
        var nonfinite = 0
        for (i, v) in values.enumerated() {
            guard v.isFinite else {
                nonfinite += 1
                continue
            }
            let c = channelAxis == nil ? 0 : (i / inner) % channels
            if v.isTotallyOrdered(belowOrEqualTo: mins[c]) { mins[c] = v }
            if maxs[c].isTotallyOrdered(belowOrEqualTo: v) { maxs[c] = v }
        }
        // Finite float64 values beyond float32 become ±inf as floats: counted apart.
        var beyond = 0
        if t.dtype == .float64 {
            for i in 0..<t.elementCount {
                var bits = t.bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)
                if t.byteOrder != .native { bits = bits.byteSwapped }
                let d = Double(bitPattern: bits)
                if d.isFinite && Float(d).isInfinite { beyond += 1 }
            }
        }
        return BatchRange(min: mins, max: maxs, elements: values.count, nonfinite: nonfinite - beyond, beyondFloat32: beyond)
    }

    static func same(_ a: BatchRange, _ b: BatchRange) -> Bool {
        a.min.map(\.bitPattern) == b.min.map(\.bitPattern) && a.max.map(\.bitPattern) == b.max.map(\.bitPattern)
            && a.elements == b.elements && a.nonfinite == b.nonfinite && a.beyondFloat32 == b.beyondFloat32
    }

    static func check(_ t: TensorData, axis: Int?, _ label: @autoclosure () -> String) {
        let want = reference(t, channelAxis: axis)
        for (name, isa) in isas {
            let got = RangeKernel.observe(t, channelAxis: axis, isa: isa)
            #expect(same(got, want), "\(name) \(label()): got \(got), want \(want)")
        }
    }

    static let allDTypes = DType.allCases

    @Test func everyLengthPerTensor() {
        var rng = Rng(seed: 1)
        for dtype in [DType.float32, .float16, .bfloat16] {
            for n in 0...200 {
                let signs = Signs.allCases[n % 4]
                let nf: Int? = n % 3 == 0 ? nil : 40
                let t = Self.tensor(dtype, shape: [n], offset: n % 7, signs: signs, nonfiniteOneIn: nf, rng: &rng)
                Self.check(t, axis: nil, "\(dtype) n=\(n) \(signs)")
            }
        }
    }

    @Test(arguments: DType.allCases)
    func everyDTypeAndByteOrder(_ dtype: DType) {
        var rng = Rng(seed: 2 + UInt64(DType.allCases.firstIndex(of: dtype)!))
        for order in [ByteOrder.little, .big] {
            for n in [0, 1, 7, 8, 15, 16, 17, 33, 64, 100, 257, 2051] {
                for signs in dtype.isFloatingPoint ? Signs.allCases : [.mixed] {
                    let t = Self.tensor(dtype, shape: [n], byteOrder: order, offset: rng.below(8), signs: signs, rng: &rng)
                    Self.check(t, axis: nil, "\(dtype) \(order) n=\(n) \(signs)")
                }
            }
            let t = Self.tensor(dtype, shape: [6, 5, 70], byteOrder: order, offset: 3, rng: &rng)
            for axis in 0..<3 { Self.check(t, axis: axis, "\(dtype) \(order) [6,5,70] axis \(axis)") }
        }
    }

    @Test func largePerTensor() {
        var rng = Rng(seed: 3)
        for dtype in [DType.float32, .float16, .bfloat16] {
            // Longer than one piece of the contiguous kernels (16384 elements).
            for (n, nf) in [(33_001, nil), (25_001, 9_000 as Int?), (17_000, 3 as Int?)] {
                for signs in nf == nil ? [Signs.mixed, .nonNegative, .nonPositive] : [.mixed] {
                    let t = Self.tensor(dtype, shape: [n], offset: 1, signs: signs, nonfiniteOneIn: nf, rng: &rng)
                    Self.check(t, axis: nil, "\(dtype) n=\(n) nf=\(String(describing: nf)) \(signs)")
                }
            }
        }
        // A tensor whose pieces change sign pattern along the way (the kernels adapt piece by piece).
        let n = 120_000
        let owned = OwnedBytes(count: 4 * n + 4)
        let p = (owned.pointer.baseAddress! + 4).assumingMemoryBound(to: Float.self)
        for i in 0..<n {
            p[i] = (i / 20_000) % 3 == 0 ? Float(i % 97) : (i / 20_000) % 3 == 1 ? -Float(i % 89) - 1 : Float(i % 50) - 25
        }
        p[63_456] = -.infinity
        let t = TensorData(
            name: "s", dtype: .float32, shape: [n], bytes: UnsafeRawBufferPointer(rebasing: owned.bytes[4..<(4 * n + 4)]),
            storage: owned)
        Self.check(t, axis: nil, "sign-changing pieces")
    }

    /// Long runs are read as two halves side by side: each half keeps its own sign pattern and
    /// non-finite values, whatever the other holds.
    @Test func longRunsReadAsTwoHalves() {
        var rng = Rng(seed: 12)
        enum Half { case nonNegative, negative, mixed }
        for dtype in [DType.float32, .float16, .bfloat16] {
            let bits = dtype.size * 8
            for n in [65_537, 131_072 + 5] {
                for (k, (first, second)) in [
                    (Half.nonNegative, Half.negative), (.negative, .nonNegative), (.mixed, .negative), (.nonNegative, .mixed),
                ].enumerated() {
                    for nonfinite in [nil, k % 2] as [Int?] {
                        let t = Self.tensor(dtype, shape: [n], offset: 2, nonfiniteOneIn: nil, rng: &rng)
                        let p = UnsafeMutableRawPointer(mutating: t.bytes.baseAddress!)
                        let signBit: UInt32 = 1 << (bits - 1)
                        for i in 0..<n {
                            let half = i < n / 2 ? first : second
                            var v: UInt32 =
                                bits == 32
                                ? p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)
                                : UInt32(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                            if half == .nonNegative { v &= ~signBit } else if half == .negative { v |= signBit }
                            if bits == 32 {
                                p.storeBytes(of: v, toByteOffset: 4 * i, as: UInt32.self)
                            } else {
                                p.storeBytes(of: UInt16(v), toByteOffset: 2 * i, as: UInt16.self)
                            }
                        }
                        if let which = nonfinite {
                            // An infinity in one half only.
                            let i = which == 0 ? n / 3 : n - n / 5
                            let inf: UInt32 = bits == 32 ? 0x7f80_0000 : dtype == .float16 ? 0x7c00 : 0x7f80
                            if bits == 32 {
                                p.storeBytes(of: inf, toByteOffset: 4 * i, as: UInt32.self)
                            } else {
                                p.storeBytes(of: UInt16(inf), toByteOffset: 2 * i, as: UInt16.self)
                            }
                        }
                        Self.check(
                            t, axis: nil,
                            "\(dtype) n=\(n) halves \(first)/\(second) non-finite in \(String(describing: nonfinite))")
                    }
                }
            }
        }
    }

    /// Shapes that send per-channel observation through each strategy.
    static let channelCases: [(shape: [Int], axis: Int, what: String)] = [
        ([2, 3, 32, 33], 1, "runs (NCHW, inner 1056)"),
        ([3, 1100], 0, "runs (axis 0)"),
        ([2, 3, 16, 17], 1, "rows (inner 272, period 816)"),
        ([4, 6, 5, 5], 1, "rows (inner 25, period 150)"),
        ([9, 70], 1, "rows (last axis, period 70)"),
        ([37, 3], 1, "rows of several periods (period 3)"),
        ([11, 5, 3], 1, "rows of several periods (period 15)"),
        ([5, 7], 0, "rows of several periods (first axis, period 35)"),
        ([2, 5000], 1, "column blocks"),
        ([2, 4101], 1, "column blocks, short last block"),
        ([2, 4105], 1, "column blocks, short last block (16-bit)"),
        ([2, 3, 4], 2, "small"),
        ([1, 1, 1], 1, "single element"),
        ([4, 1, 9], 1, "one channel"),
        ([0, 4], 1, "no rows"),
        ([3, 0], 1, "no channels"),
        ([3, 4, 0], 1, "empty inner"),
    ]

    @Test func perChannelStrategies() {
        var rng = Rng(seed: 4)
        for c in Self.channelCases {
            for dtype in [DType.float32, .float16, .bfloat16, .float64] {
                for nf in [nil, 30 as Int?] {
                    for signs in dtype == .float32 ? [Signs.mixed, .nonNegative] : [.mixed] {
                        let t = Self.tensor(
                            dtype, shape: c.shape, offset: rng.below(8), signs: signs, nonfiniteOneIn: nf, rng: &rng)
                        Self.check(
                            t, axis: c.axis, "\(c.what) \(c.shape) axis \(c.axis) \(dtype) nf=\(String(describing: nf)) \(signs)")
                    }
                }
            }
        }
    }

    @Test func randomShapesAndAxes() {
        var rng = Rng(seed: 5)
        let dtypes: [DType] = [.float32, .float16, .bfloat16, .float64, .int8, .uint32, .bool]
        for i in 0..<300 {
            let rank = 1 + rng.below(4)
            var shape = (0..<rank).map { _ in 1 + rng.below(rank > 2 ? 6 : 9) }
            if rng.chance(4) { shape[rng.below(rank)] = 20 + rng.below(rank > 2 ? 100 : 300) }
            let dtype = dtypes[rng.below(dtypes.count)]
            let t = Self.tensor(
                dtype, shape: shape, byteOrder: rng.chance(5) ? .big : .little, fortran: rng.chance(3), offset: rng.below(8),
                signs: Signs.allCases[rng.below(4)], nonfiniteOneIn: rng.chance(2) ? nil : 1 + rng.below(60), rng: &rng)
            let axis: Int? = rng.chance(5) ? nil : rng.below(rank)
            Self.check(
                t, axis: axis, "#\(i) \(dtype) \(shape) fortran=\(t.fortranOrder) \(t.byteOrder) axis \(String(describing: axis))"
            )
        }
    }

    @Test func fortranOrder() {
        var rng = Rng(seed: 6)
        for dtype in [DType.float32, .float16, .bfloat16] {
            for shape in [[4, 70], [70, 4], [3, 5, 40], [300, 2, 3]] {
                let t = Self.tensor(dtype, shape: shape, fortran: true, offset: 2, rng: &rng)
                for axis in 0..<shape.count { Self.check(t, axis: axis, "fortran \(dtype) \(shape) axis \(axis)") }
                Self.check(t, axis: nil, "fortran \(dtype) \(shape) per tensor")
            }
        }
    }

    /// Signed zeros follow IEEE total order: -0 is below +0 wherever it appears.
    @Test func signedZeros() {
        func range(_ values: [Float], axis: Int? = nil, shape: [Int]? = nil) -> BatchRange {
            let owned = OwnedBytes(count: values.count * 4)
            values.withUnsafeBytes { owned.pointer.copyMemory(from: $0) }
            let t = TensorData(name: "z", dtype: .float32, shape: shape ?? [values.count], bytes: owned.bytes, storage: owned)
            return RangeKernel.observe(t, channelAxis: axis)
        }
        let zeros = [Float](repeating: 0, count: 40) + [-0.0] + [Float](repeating: 0, count: 40)
        #expect(range(zeros).min[0].bitPattern == (-0.0 as Float).bitPattern)
        #expect(range(zeros).max[0].bitPattern == (0.0 as Float).bitPattern)
        #expect(range([-0.0, -0.0]).max[0].bitPattern == (-0.0 as Float).bitPattern)
        #expect(range([.nan, .infinity]).min == [.infinity])
        #expect(range([.nan, .infinity]).max == [-.infinity])
        #expect(range([.nan, .infinity]).nonfinite == 2)
        let pc = range([1, -0.0, .nan, 0, 0, -0.0], axis: 1, shape: [2, 3])
        #expect(pc.min.map(\.bitPattern) == [Float(0).bitPattern, (-0.0 as Float).bitPattern, (-0.0 as Float).bitPattern])
        #expect(pc.nonfinite == 1)
    }

    @Test func threadedSplitIsBitIdentical() {
        var rng = Rng(seed: 7)
        let cases: [(DType, [Int], Int?)] = [
            (.float32, [100_001], nil),
            (.float16, [70_000], nil),
            (.float32, [8, 16, 20, 20], 1),  // runs, split along rows
            (.float32, [1, 64, 1100], 1),  // runs, one row: split along channels
            (.float32, [2, 8, 2, 1100], 1),  // runs, fewer rows than threads: split along channels
            (.float32, [20, 30, 100], 2),  // last axis
            (.bfloat16, [410, 300], 1),
            (.float32, [900, 80], 0),  // one row of short channels: split along channels, rows path
            (.float64, [60_000], nil),
        ]
        for (dtype, shape, axis) in cases {
            let t = Self.tensor(dtype, shape: shape, offset: 5, nonfiniteOneIn: 10_000, rng: &rng)
            let one = RangeKernel.observe(t, channelAxis: axis)
            for threads in [2, 3] {
                let many = RangeKernel.observe(
                    t, channelAxis: axis, isa: Int32(CK_ISA_BEST), threads: threads, parallelThreshold: 0)
                #expect(Self.same(one, many), "\(dtype) \(shape) axis \(String(describing: axis)) threads \(threads)")
            }
            let portable = RangeKernel.observe(t, channelAxis: axis, isa: Int32(CK_ISA_PORTABLE))
            #expect(Self.same(one, portable), "\(dtype) \(shape) portable")
        }
        // The split itself covers everything exactly once.
        for (outer, channels, inner, parts) in [(10, 1, 1, 3), (5, 7, 300, 2), (1, 9, 2048, 4), (3, 2, 2048, 4), (3, 9, 2048, 4)]
        {
            let pieces = RangeKernel.split(outer: outer, channels: channels, inner: inner, into: parts)
            var covered = [Int](repeating: 0, count: outer * channels)
            for piece in pieces { for o in piece.outer { for c in piece.channels { covered[o * channels + c] += 1 } } }
            #expect(pieces.isEmpty || covered.allSatisfy { $0 == 1 }, "\(outer)x\(channels)x\(inner) in \(parts)")
        }
    }

    /// A batch's tensors observed together in pieces, as the runner does: the same bits as one by
    /// one, and every byte of every tensor handed back for release exactly once.
    @Test func batchPiecesAreBitIdenticalAndReleaseEveryByteOnce() {
        var rng = Rng(seed: 11)
        let specs: [(DType, [Int], Int?)] = [
            (.float32, [40_000], nil), (.float16, [3, 5000], nil), (.float32, [8, 16, 20, 20], 1),
            (.float32, [1, 64, 1100], 1), (.bfloat16, [410, 300], 1), (.float32, [20, 30, 100], 2),
            (.float64, [7], nil), (.float32, [2, 9, 2, 1100], 1),
        ]
        let tensors = specs.map { Self.tensor($0.0, shape: $0.1, offset: 3, nonfiniteOneIn: 5_000, rng: &rng) }
        let axes = specs.map(\.2)
        let one = zip(tensors, axes).map { RangeKernel.observe($0, channelAxis: $1) }
        for (threads, pieceBytes) in [(1, 1 << 20), (2, 4096), (3, 1000), (2, 1 << 30)] {
            var released = tensors.map { [Int](repeating: 0, count: $0.bytes.count) }
            let lock = NSLock()
            let ranges = RangeKernel.observe(tensors, channelAxes: axes, threads: threads, pieceBytes: pieceBytes) { i, bytes in
                let start = bytes.baseAddress! - tensors[i].bytes.baseAddress!
                lock.withLock { for k in start..<(start + bytes.count) { released[i][k] += 1 } }
            }
            for i in tensors.indices {
                #expect(Self.same(ranges[i], one[i]), "\(specs[i]) threads \(threads) pieces of \(pieceBytes)")
                let used = tensors[i].elementCount * tensors[i].dtype.size
                #expect(released[i][..<used].allSatisfy { $0 == 1 }, "\(specs[i]): bytes released other than once")
            }
        }
    }

    /// The one-pass runner folds each tensor as its bytes are hashed, in whatever pieces the hash
    /// takes (parts of rows and of channel runs too): the same bits as observing the tensor whole.
    @Test func accumulatorFedInPiecesIsBitIdentical() {
        var rng = Rng(seed: 13)
        let specs: [(DType, [Int], Int?)] = [
            (.float32, [40_001], nil), (.float16, [3, 5000], nil), (.float32, [8, 16, 20, 20], 1),
            (.float32, [1, 64, 1100], 1), (.bfloat16, [410, 300], 1), (.float32, [20, 30, 100], 2),
            (.float64, [7], nil), (.float64, [3000], nil), (.int8, [50, 7], 0), (.float32, [0, 4], 1),
            (.float16, [2000, 30], 0), (.float32, [3, 7, 900], 1), (.float32, [0], 0), (.float32, [5, 1, 40], 1),
        ]
        for (dtype, shape, axis) in specs {
            let t = Self.tensor(dtype, shape: shape, byteOrder: rng.chance(3) ? .big : .little, offset: 3, rng: &rng)
            let whole = RangeKernel.observe(t, channelAxis: axis)
            for piece in [1, 7, 4096, 65_537, 1 << 30] {
                var a = RangeAccumulator(t, channelAxis: axis)
                var ready = 0
                while ready < t.bytes.count {
                    ready = min(t.bytes.count, ready + piece)
                    a.fold(upTo: ready)
                    #expect(a.folded <= ready)
                }
                #expect(a.isComplete)
                #expect(Self.same(a.result(), whole), "\(dtype) \(shape) axis \(String(describing: axis)) pieces of \(piece)")
            }
        }
    }

    /// The benchmark's bandwidth yardstick reads every element once, in one stream or two.
    @Test func sumReadsEveryElement() {
        for n in [0, 1, 63, 64, 65, 1000, 100_003] {
            let values = (0..<n).map { Float($0 % 7) }
            let exact = Double((0..<n).reduce(0) { $0 + $1 % 7 })
            values.withUnsafeBytes { raw in
                for isa in [Int32(CK_ISA_BEST), Int32(CK_ISA_PORTABLE)] {
                    #expect(ck_sum_f32(isa, raw.baseAddress, n, 1) == exact, "n \(n) isa \(isa) one stream")
                    #expect(ck_sum_f32(isa, raw.baseAddress, n, 2) == exact, "n \(n) isa \(isa) two streams")
                }
            }
        }
    }

    @Test func decoderMatchesFloatValues() {
        var rng = Rng(seed: 8)
        for dtype in DType.allCases {
            for order in [ByteOrder.little, .big] {
                let t = Self.tensor(dtype, shape: [333], byteOrder: order, offset: 1, rng: &rng)
                var out = [Float](repeating: 0, count: 333)
                ElementDecoder(t).decode(start: 0, count: 333, into: &out)
                let want = t.floatValues()
                #expect(
                    zip(out, want).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }, "\(dtype) \(order)")
            }
        }
    }
}
