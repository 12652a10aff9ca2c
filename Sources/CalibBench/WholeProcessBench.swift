import Foundation

/// Section 2's whole-process yardstick (issue 14): `calib run` against the least work that still
/// reads every byte (`bench/probe.c`: mmap + AVX2 min/max per tensor, no hash, no database) and
/// against numpy memmap `min()`/`max()`, each a whole process timed spawn to exit, run back to back
/// in rounds on the same files so machine noise falls on all of them alike.
enum WholeProcessBench {
    /// `bench/probe.c`, found from this source file's place in the package.
    static let probeSource = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../bench/probe.c").standardizedFileURL.path

    /// numpy's side: what a user would write with memmap, one tensor at a time.
    static let numpyScript = """
        import json, struct, sys
        import numpy as np
        for path in sys.argv[1:]:
            with open(path, "rb") as f:
                n = struct.unpack("<Q", f.read(8))[0]
                header = json.loads(f.read(n))
            m = np.memmap(path, dtype=np.uint8, mode="r")
            for name, t in header.items():
                if name == "__metadata__":
                    continue
                a, b = t["data_offsets"]
                x = m[8 + n + a:8 + n + b].view(np.float32)
                x.min(); x.max()
        """

    struct Sample {
        var seconds: [Double] = []
        var peakMiB = 0.0
        var median: Double {
            let s = seconds.sorted()
            return s.isEmpty ? .nan : s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
    }

    static func run(root: String, quick: Bool, reps: Int, python: String, withBaseline: Bool) throws {
        guard let calib = Subprocess.calib else { return }
        let rounds = max(5, reps)
        print("\n   whole processes, back to back in \(rounds) rounds (median): bench/probe.c, `calib run`, numpy memmap")
        let probe = root + "/probe"
        let cc = try Subprocess.run("/usr/bin/env", ["cc", "-O2", "-mavx2", "-pthread", probeSource, "-o", probe])
        let haveProbe = cc.status == 0
        if !haveProbe { print("   (no C probe: `cc -O2 -mavx2 -pthread bench/probe.c` failed: \(cc.stderr.prefix(200)))") }
        let script = root + "/numpy_minmax.py"
        try numpyScript.write(toFile: script, atomically: true, encoding: .utf8)
        var haveNumpy = false
        if withBaseline {
            let r = try? Subprocess.run("/usr/bin/env", [python, "-c", "import numpy"])
            haveNumpy = r?.status == 0
            if !haveNumpy { print("   (numpy not importable by \(python): skipped)") }
        }
        let sets: [(label: String, batches: Int, tensors: Int, shape: [Int])] =
            quick
            ? [("64 MiB: 4 files x 4 f32 [4,512,1024]", 4, 4, [4, 512, 1024])]
            : [
                ("1 GiB: 16 files x 4 f32 [8,512,1024]", 16, 4, [8, 512, 1024]),
                ("2 GiB: 64 files x 16 f32 [16,128,256]", 64, 16, [16, 128, 256]),
            ]
        for set in sets {
            let dir = root + "/whole-\(set.batches)"
            let bytes = try EndToEndBench.writeBatches(dir: dir, batches: set.batches, tensors: set.tensors, shape: set.shape)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            _ = try EndToEndBench.warm(dir: dir)
            let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted().map { dir + "/" + $0 }
            var probe1 = Sample(), probe2 = Sample(), run = Sample(), numpy = Sample()
            func time(_ s: inout Sample, _ program: String, _ args: [String]) throws {
                let r = try Subprocess.run(program, args)
                guard r.status == 0 else { throw BenchError("\(program) failed (\(r.status)): \(r.stderr.prefix(400))") }
                s.seconds.append(r.seconds)
                s.peakMiB = max(s.peakMiB, r.peakMiB)
            }
            for round in 0..<rounds {
                if haveProbe {
                    try time(&probe1, probe, ["-t", "1"] + files)
                    try time(&probe2, probe, ["-t", "2"] + files)
                }
                let db = root + "/whole-\(round).sqlite"
                try time(&run, calib, ["run", "--db", db, "--session", "w", dir])
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: db + suffix) }
                if haveNumpy { try time(&numpy, "/usr/bin/env", [python, script] + files) }
            }
            var table = Table(header: [set.label, "median s", "best s", "GB/s", "x probe 2t", "numpy x", "peak RSS"])
            table.rightAligned = [1, 2, 3, 4, 5, 6]
            let yard = haveProbe ? probe2.median : .nan, np = haveNumpy ? numpy.median : .nan
            for (name, s) in [
                ("probe, 1 thread", probe1), ("probe, 2 threads", probe2), ("calib run (new database)", run),
                ("numpy memmap min()/max()", numpy),
            ] where !s.seconds.isEmpty {
                let m = s.median
                table.add([
                    name, String(format: "%.3f", m), String(format: "%.3f", s.seconds.min()!), f2(gbps(bytes, m)),
                    yard.isNaN ? "" : String(format: "%.2fx", m / yard), np.isNaN ? "" : String(format: "%.2fx", np / m),
                    f1(s.peakMiB) + " MiB",
                ])
            }
            print(table.render())
            let limit = 64 + Double(2 * bytes / set.batches) / Double(1 << 20)
            print(
                "   calib run: \(yard.isNaN ? "" : String(format: "%.2fx the 2-thread probe (target <= 1.25x), ", run.median / yard))"
                    + "\(np.isNaN ? "" : String(format: "%.2fx faster than numpy (target >= 3x), ", np / run.median))"
                    + "peak RSS \(f1(run.peakMiB)) MiB (limit 64 MiB + a batch per core: \(f1(limit)) MiB)")
        }
    }
}
