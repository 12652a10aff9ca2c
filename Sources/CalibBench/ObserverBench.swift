import CKernels
import CalibKit
import Foundation

/// Section 1: the observer kernels on in-memory tensors, one core, against the machine's read
/// bandwidth and the numpy/torch baselines (bench/baseline.py, run by this program).
enum ObserverBench {
    struct Case {
        var key: String  // the baseline case it compares with (bench/baseline.py)
        var label: String
        var dtype: DType
        var shape: [Int]
        var axis: Int?
        var data: Data
        var ema = false
        /// Also measured on every core (RangeKernel.observe(threads:)).
        var parallel = true

        enum Data { case mixed, nonNegative, f16, bf16 }
    }

    static func cases(quick: Bool) -> [Case] {
        let mi = 1 << 20
        let s = quick ? 16 : 256  // MiB
        let n32 = s * mi / 4, n16 = s * mi / 2
        return [
            Case(key: "minmax-f32", label: "minmax f32 per-tensor", dtype: .float32, shape: [n32], data: .mixed),
            Case(
                key: "minmax-f32", label: "minmax f32 per-tensor, >= 0 (ReLU)", dtype: .float32, shape: [n32], data: .nonNegative,
                parallel: false),
            Case(
                key: "minmax-f32", label: "ema f32 per-tensor", dtype: .float32, shape: [n32], data: .mixed, ema: true,
                parallel: false),
            Case(key: "minmax-f16", label: "minmax f16 per-tensor", dtype: .float16, shape: [n16], data: .f16),
            Case(key: "minmax-bf16", label: "minmax bf16 per-tensor", dtype: .bfloat16, shape: [n16], data: .bf16),
            Case(
                key: "nchw", label: "per-channel NCHW axis 1 \(quick ? "[16,64,64,64]" : "[64,256,64,64]")", dtype: .float32,
                shape: quick ? [16, 64, 64, 64] : [64, 256, 64, 64], axis: 1, data: .mixed),
            Case(
                key: "nchw7", label: "per-channel NCHW axis 1 \(quick ? "[512,160,7,7]" : "[2048,640,7,7]")", dtype: .float32,
                shape: quick ? [512, 160, 7, 7] : [2048, 640, 7, 7], axis: 1, data: .mixed),
            Case(
                key: "btd", label: "per-channel BTD last axis \(quick ? "[4,256,4096]" : "[16,1024,4096]")", dtype: .float32,
                shape: quick ? [4, 256, 4096] : [16, 1024, 4096], axis: 2, data: .mixed),
            Case(
                key: "rows", label: "per-channel axis 0 \(quick ? "[1024,4096]" : "[4096,16384]")", dtype: .float32,
                shape: quick ? [1024, 4096] : [4096, 16384], axis: 0, data: .mixed),
        ]
    }

    struct Result {
        var c: Case
        var oneCore: Double  // GB/s
        var allCores: Double?
        var portable: Double?
    }

    static func run(quick: Bool, reps: Int, baseline: Baseline?) {
        let mib = quick ? 16 : 256
        print("\n1. Observers, one core, \(mib) MiB inputs (best of \(reps); GB/s = input bytes / time)")
        print("   Each kind of memory is measured on its own: calib and the baselines on huge pages, then on 4 KiB pages.")
        for huge in [true, false] {
            run(quick: quick, reps: reps, hugePages: huge, baseline: baseline)
        }
        if let baseline {
            print("   baselines: \(baseline.describe())")
            for r in baseline.results {
                print(
                    "     \(r.case.padding(toLength: 12, withPad: " ", startingAt: 0)) \(r.pages.padding(toLength: 6, withPad: " ", startingAt: 0)) \(r.baseline.padding(toLength: 48, withPad: " ", startingAt: 0)) \(f2(r.gbps)) GB/s"
                )
            }
        }
    }

    static func run(quick: Bool, reps: Int, hugePages: Bool, baseline: Baseline?) {
        let mib = quick ? 16 : 256
        let bytes = mib << 20
        let pages = hugePages ? "huge" : "small"
        let t0 = now()
        let mixed = Buffer(bytes: bytes, hugePages: hugePages), relu = Buffer(bytes: bytes, hugePages: hugePages)
        let half = Buffer(bytes: bytes, hugePages: hugePages), bf = Buffer(bytes: bytes, hugePages: hugePages)
        mixed.fillFloat32(seed: 1)
        relu.fillFloat32(seed: 2, nonNegative: true)
        half.fill16(seed: 3, bfloat: false)
        bf.fill16(seed: 4, bfloat: true)
        print(
            String(
                format: "\n   %@ (inputs generated in %.1f s)",
                hugePages
                    ? (mixed.hugePages
                        ? "huge pages (THP requested with madvise, as numpy does)" : "huge pages REFUSED (madvise failed)")
                    : "4 KiB pages (no THP request: as torch allocates, as a mapped file)", now() - t0))

        // The yardstick: a SIMD sum reads every byte with the least work per byte; the faster of
        // reading one stream and reading both halves at once (two prefetch streams).
        func sumBandwidth() -> Double {
            let one = best(reps) { sink = [Float(ck_sum_f32(Int32(CK_ISA_BEST), mixed.base, bytes / 4, 1))] }
            let two = best(reps) { sink = [Float(ck_sum_f32(Int32(CK_ISA_BEST), mixed.base, bytes / 4, 2))] }
            return gbps(bytes, min(one, two))
        }
        var bandwidth = sumBandwidth()

        var results: [Result] = []
        for c in cases(quick: quick) {
            let buffer =
                switch c.data {
                case .mixed: mixed
                case .nonNegative: relu
                case .f16: half
                case .bf16: bf
                }
            let tensor = buffer.tensor(c.dtype, shape: c.shape)
            let n = tensor.elementCount * c.dtype.size
            var stats = TensorStats(
                observer: ObserverConfig(kind: c.ema ? .ema : .minmax, channelAxis: c.axis),
                channels: c.axis.map { c.shape[$0] } ?? 1)
            let one = best(reps) {
                let r = RangeKernel.observe(tensor, channelAxis: c.axis)
                if c.ema { stats.accumulate(r) }
                sink = r.min
            }
            var result = Result(c: c, oneCore: gbps(n, one))
            if c.parallel && ProcessInfo.processInfo.activeProcessorCount > 1 {
                let threads = ProcessInfo.processInfo.activeProcessorCount
                let t = best(reps) { sink = RangeKernel.observe(tensor, channelAxis: c.axis, threads: threads).min }
                result.allCores = gbps(n, t)
            }
            results.append(result)
        }
        // Bandwidth again at the end, the better of the two (the machine is shared).
        bandwidth = max(bandwidth, sumBandwidth())
        let portable = best(max(1, reps / 2)) {
            sink = RangeKernel.observe(mixed.tensor(.float32, shape: [bytes / 4]), channelAxis: nil, portableKernels: true).min
        }

        var table = Table(header: [
            "case (GB/s)", "calib 1 core", "all cores", "torch (1 thread)", "GB/s", "ratio", "best other", "ratio", "targets",
        ])
        table.rightAligned = [1, 2, 4, 5, 7]
        table.add(["read bandwidth (SIMD sum, 1 or 2 streams, 1 core)", f2(bandwidth), "", "", "", "", "", "", ""])
        let f32 = results.first { $0.c.key == "minmax-f32" }?.oneCore ?? .nan
        for r in results {
            let primary = baseline?.primary(for: r.c.key, pages: pages)
            let fastest = baseline?.fastest(for: r.c.key, pages: pages)
            let ratio = primary.map { r.oneCore / $0.gbps }
            var targets: [String] = []
            switch r.c.key {
            case "minmax-f32":
                targets.append(mark(r.oneCore >= 12, ">=12 GB/s"))
                targets.append(mark(r.oneCore >= 0.8 * bandwidth, ">=80% bw (\(Int((100 * r.oneCore / bandwidth).rounded()))%)"))
                if let ratio { targets.append(mark(ratio >= 1.5, ">=1.5x torch")) }
            case "minmax-f16", "minmax-bf16":
                targets.append(mark(r.oneCore >= f32 / 2, ">=1/2 f32 (\(Int((100 * r.oneCore / f32).rounded()))%)"))
            default:
                targets.append(mark(r.oneCore >= 6, ">=6 GB/s"))
                if let ratio { targets.append(mark(ratio >= 3, ">=3x torch")) }
            }
            table.add([
                r.c.label, f2(r.oneCore), r.allCores.map(f2) ?? "", primary?.baseline ?? "(no baseline)",
                primary.map { f2($0.gbps) } ?? "", ratio.map { f2($0) + "x" } ?? "",
                fastest.map { "\($0.baseline) \(f2($0.gbps))" } ?? "", fastest.map { f2(r.oneCore / $0.gbps) + "x" } ?? "",
                targets.joined(separator: ", "),
            ])
        }
        print(table.render())
        print("   portable (non-AVX2) kernels, minmax f32 per-tensor: \(f2(gbps(bytes, portable))) GB/s")
    }

    static func mark(_ ok: Bool, _ text: String) -> String { (ok ? "met " : "MISSED ") + text }
}

extension RangeKernel {
    /// The portable kernels, forced (the internal `isa:` entry point is not visible here, so the
    /// public API is used with a C call underneath).
    static func observe(_ tensor: TensorData, channelAxis: Int?, portableKernels: Bool) -> BatchRange {
        precondition(channelAxis == nil && tensor.dtype == .float32 && tensor.byteOrder == .native)
        var kmin: Int32 = .max, kmax: Int32 = .min
        let bad = ck_observe(
            Int32(CK_ISA_PORTABLE), Int32(CK_F32), 0, tensor.bytes.baseAddress, 1, 1, tensor.elementCount, &kmin, &kmax)
        var lo: Float = 0, hi: Float = 0
        ck_keys_finish(&kmin, &kmax, &lo, &hi, 1)
        return BatchRange(min: [lo], max: [hi], elements: tensor.elementCount, nonfinite: Int(bad))
    }
}

/// The numpy/torch figures, from bench/baseline.py run as a child process.
struct Baseline {
    struct Row: Decodable {
        var `case`: String
        var baseline: String
        var pages: String
        var gbps: Double
    }

    var results: [Row]
    var info: [String: String]

    /// The baseline each target is stated against: `torch.aminmax`, per channel the fastest
    /// torch form built on `torch.aminmax(dim=...)`; numpy when torch is missing.
    func primary(for key: String, pages: String) -> Row? {
        let rows = results.filter { $0.case == key && $0.pages == pages }
        let aminmax = rows.filter { $0.baseline.contains("aminmax") }
        return aminmax.max { $0.gbps < $1.gbps } ?? rows.max { $0.gbps < $1.gbps }
    }

    /// The fastest of every baseline (numpy or torch, any form) of a case.
    func fastest(for key: String, pages: String) -> Row? {
        results.filter { $0.case == key && $0.pages == pages }.max { $0.gbps < $1.gbps }
    }

    func describe() -> String { info.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") }

    static func script() -> String {
        // Sources/CalibBench/ObserverBench.swift → bench/baseline.py
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("bench/baseline.py").path
    }

    /// Runs the script with `python`; nil (and a note) when it cannot.
    static func run(python: String, quick: Bool, reps: Int) -> Baseline? {
        let script = script()
        guard FileManager.default.fileExists(atPath: script) else {
            print("   (baseline skipped: \(script) not found)")
            return nil
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, script, "--json", "--reps", String(reps)] + (quick ? ["--quick"] : [])
        var env = ProcessInfo.processInfo.environment
        env["OPENBLAS_CORETYPE"] = nil
        env["OPENBLAS_L2_SIZE"] = nil
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        do { try process.run() } catch {
            print("   (baseline skipped: cannot run \(python): \(error))")
            return nil
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        struct Doc: Decodable {
            var info: [String: AnyScalar]
            var results: [Row]
        }
        guard process.terminationStatus == 0, let doc = try? JSONDecoder().decode(Doc.self, from: data) else {
            print("   (baseline skipped: \(python) \(script) failed with status \(process.terminationStatus))")
            return nil
        }
        return Baseline(results: doc.results, info: doc.info.compactMapValues(\.text))
    }
}

/// A JSON scalar of any type, kept as text (for the baseline's info block).
struct AnyScalar: Decodable {
    var text: String?
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) {
            text = s
        } else if let i = try? c.decode(Int.self) {
            text = String(i)
        } else if let d = try? c.decode(Double.self) {
            text = String(d)
        } else if let b = try? c.decode(Bool.self) {
            text = String(b)
        } else {
            text = nil
        }
    }
}
