import CKernels
import CalibTestSupport
import Foundation
import Testing

@testable import CalibKit
@testable import CalibModel
@testable import CalibObservers
@testable import CalibReaders

/// The batch identity and the per-tensor ranges taken in one read (`ck_xxh3`, issue 14): the hash
/// against libxxhash's XXH3-128 on every length around its block and stripe edges, the lane
/// reductions against a scalar loop, and the ranges they give against `RangeKernel`.
@Suite struct FusedHashTests {
    typealias Rng = KernelTests.Rng

    static var isas: [Int32] {
        ck_best_isa() >= Int32(CK_ISA_AVX2) ? [Int32(CK_ISA_PORTABLE), Int32(CK_ISA_AVX2)] : [Int32(CK_ISA_PORTABLE)]
    }

    /// Scalar reductions of the 32-bit lanes of `bytes[begin ..< end]`.
    static func lanes(_ bytes: UnsafeRawBufferPointer, _ begin: Int, _ end: Int) -> (Int32, Int32, UInt32, UInt32) {
        var r: (Int32, Int32, UInt32, UInt32) = (.min, .max, 0, .max)
        var i = begin
        while i + 4 <= end {
            let v = bytes.loadUnaligned(fromByteOffset: i, as: UInt32.self)
            let s = Int32(bitPattern: v)
            r = (max(r.0, s), min(r.1, s), max(r.2, v), min(r.3, v))
            i += 4
        }
        return r
    }

    /// Hashes `bytes` with `ck_xxh3` in steps of `step` bytes, reducing `segments`.
    static func fused(
        _ bytes: UnsafeRawBufferPointer, isa: Int32, step: Int, segments: inout [ck_lanes]
    ) -> String {
        let base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var state = ck_xxh3()
        ck_xxh3_begin(&state, isa)
        var at = 0
        while at < bytes.count {
            at = min(bytes.count, at + step)
            ck_xxh3_update(&state, base, bytes.count, at, &segments, segments.count)
        }
        var low: UInt64 = 0
        var high: UInt64 = 0
        ck_xxh3_finish(&state, base, bytes.count, &segments, segments.count, &low, &high)
        return ContentHasher.hex(high: high, low: low)
    }

    @Test func hashesAsLibxxhashAndReducesEveryLane() throws {
        var rng = Rng(seed: 14)
        let size = 3 << 20
        let owned = OwnedBytes(count: size)
        for i in 0..<size { owned.pointer[i] = UInt8(truncatingIfNeeded: rng.next()) }
        let all = UnsafeRawBufferPointer(owned.bytes)
        // Every length over the first blocks (XXH3's long path starts at 241; blocks are 1024
        // bytes, stripes 64), then some long ones.
        let lengths = Array(241...2200) + [4095, 4096, 4097, 65_535, 65_536, 65_537, 1 << 20, size - 3]
        for isa in Self.isas {
            for length in lengths {
                let bytes = UnsafeRawBufferPointer(rebasing: all[0..<length])
                let want = ContentHasher.hash(bytes, .xxh3_128)
                // Up to three ranges: 4-aligned, disjoint, in order; empty ones and ones ending at the
                // input's last whole lane included.
                var cuts = (0..<6).map { _ in rng.below(length / 4 + 1) * 4 }.sorted()
                if rng.chance(3) { cuts[5] = length / 4 * 4 }
                var segments = stride(from: 0, to: 6, by: 2).map { k -> ck_lanes in
                    var l = ck_lanes()
                    ck_lanes_init(&l, cuts[k], cuts[k + 1])
                    return l
                }
                let step = [1, 64, 1000, 1024, 5000, 1 << 19][rng.below(6)]
                let got = Self.fused(bytes, isa: isa, step: step, segments: &segments)
                #expect(got == want, "isa \(isa), \(length) bytes, steps of \(step)")
                for l in segments {
                    let r = Self.lanes(bytes, l.begin, l.end)
                    #expect(
                        (l.max_s, l.min_s, l.max_u, l.min_u) == r,
                        "isa \(isa), \(length) bytes, lanes [\(l.begin), \(l.end)) in steps of \(step)")
                }
            }
        }
    }

    /// `absorb` gives `fold`'s range bit for bit (-0 below +0, subnormals, one sign only), and refuses
    /// a tensor holding NaN or ±inf.
    @Test(arguments: KernelTests.Signs.allCases)
    func absorbedReductionsGiveTheFoldedRange(signs: KernelTests.Signs) throws {
        var rng = Rng(seed: 7)
        for trial in 0..<40 {
            let count = 1 + rng.below(trial < 20 ? 40 : 5000)
            let nonfinite = trial % 4 == 3
            let t = KernelTests.tensor(
                .float32, shape: [count], offset: 4 * rng.below(16), signs: signs, nonfiniteOneIn: nonfinite ? 3 : nil,
                rng: &rng)
            var folded = RangeAccumulator(t, channelAxis: nil)
            let want = folded.result()
            let r = Self.lanes(t.bytes, 0, t.bytes.count)
            var absorbed = RangeAccumulator(t, channelAxis: nil)
            let took = absorbed.absorb(maxSigned: r.0, minSigned: r.1, maxUnsigned: r.2, minUnsigned: r.3)
            #expect(took == (want.nonfinite == 0), "\(signs) trial \(trial)")
            let got = absorbed.result()  // folds what absorb refused
            #expect(got.min.map(\.bitPattern) == want.min.map(\.bitPattern), "\(signs) trial \(trial)")
            #expect(got.max.map(\.bitPattern) == want.max.map(\.bitPattern), "\(signs) trial \(trial)")
            #expect(got.nonfinite == want.nonfinite && got.elements == want.elements)
        }
    }

    /// Through the pipeline: ranges and identity as the two-pass read gives them, for tensors the
    /// hash reduces (aligned float32 of either sign, one holding NaN) and ones it leaves to the fold
    /// (a file whose data starts at an odd offset).
    @Test func pipelineRangesAndIdentityMatchTheTwoPassRead() throws {
        let dir = TemporaryDirectory()
        var rng = Rng(seed: 3)
        func values(_ n: Int, nan: Bool = false) -> [Float] {
            (0..<n).map { i in nan && i == n / 2 ? .nan : Float(Int(rng.below(2_000_001)) - 1_000_000) / 4093 }
        }
        // The data section starts at a multiple of 8, as safetensors writers pad the header.
        var entries: [String] = []
        var section = Data()
        for (name, n, v) in [
            ("a", 2100, values(2100)), ("b", 64, values(64).map(abs)), ("c", 1000, values(1000, nan: true)),
            ("d", 5000, values(5000).map { -abs($0) - 1 }),
        ] {
            let begin = section.count
            section.append(TensorFiles.floats(v))
            entries.append("\"\(name)\":{\"dtype\":\"F32\",\"shape\":[\(n)],\"data_offsets\":[\(begin),\(section.count)]}")
        }
        var padded = "{" + entries.joined(separator: ",") + "}"
        while padded.utf8.count % 8 != 0 { padded += " " }
        let aligned = TensorFiles.safetensors(header: padded, data: section)
        try aligned.write(to: URL(fileURLWithPath: dir.path("aligned.safetensors")))
        // A header of odd length: every tensor starts at an odd offset in the file.
        let data = TensorFiles.floats(values(3000))
        var header = "{\"x\":{\"dtype\":\"F32\",\"shape\":[3000],\"data_offsets\":[0,\(data.count)]}}"
        if header.utf8.count % 2 == 0 { header += " " }
        let odd = TensorFiles.safetensors(header: header, data: data)
        try odd.write(to: URL(fileURLWithPath: dir.path("odd.safetensors")))
        for file in ["aligned.safetensors", "odd.safetensors"] {
            let path = dir.path(file)
            let pending = try #require(try BatchReader(inputs: [path]).nextPending())
            #expect(pending.tensors.indices.allSatisfy { pending.reducesLanes(ofTensor: $0) == (file == "aligned.safetensors") })
            let pipeline = BatchPipeline(
                try BatchReader(inputs: [path]), hash: .xxh3_128, workers: 2, select: { _ in (nil, true, nil) })
            defer { pipeline.stop() }
            let observed = try #require(try pipeline.next(timeout: 10)?.observed)
            let whole = try Data(contentsOf: URL(fileURLWithPath: path))
            #expect(observed.batch.contentHash == whole.withUnsafeBytes { ContentHasher.hash($0, .xxh3_128) })
            for (i, t) in observed.batch.tensors.enumerated() {
                let want = RangeKernel.observe(t, channelAxis: nil)
                let got = try #require(observed.ranges[i]?.range)
                #expect(got.min.map(\.bitPattern) == want.min.map(\.bitPattern), "\(file) \(t.name)")
                #expect(got.max.map(\.bitPattern) == want.max.map(\.bitPattern), "\(file) \(t.name)")
                #expect(got.nonfinite == want.nonfinite, "\(file) \(t.name)")
            }
            let end = try pipeline.next(timeout: 10)
            #expect(end == nil)
        }
    }
}
