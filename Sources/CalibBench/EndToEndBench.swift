import CalibKit
import Foundation

/// Section 2: `CalibrationRunner` over safetensors batches in a temp dir (warm page cache), and the
/// same batches phase by phase (read + hash, observe, the rest = store) to show where time goes.
enum EndToEndBench {
    static func writeBatches(dir: String, batches: Int, tensors: Int, shape: [Int]) throws -> Int {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let elements = shape.reduce(1, *)
        let tensorBytes = elements * 4
        var header = "{"
        for t in 0..<tensors {
            if t > 0 { header += "," }
            header +=
                "\"layer\(t).output\":{\"dtype\":\"F32\",\"shape\":\(shape),\"data_offsets\":[\(t * tensorBytes),\((t + 1) * tensorBytes)]}"
        }
        header += "}"
        while (8 + header.utf8.count) % 8 != 0 { header += " " }  // keep the data 8-byte aligned, as writers do
        let data = Buffer(bytes: tensors * tensorBytes)
        data.fillFloat32(seed: 42)
        let floats = data.base.assumingMemoryBound(to: Float.self)
        var total = 0
        for b in 0..<batches {
            // Every batch differs (else the runner would skip it as a duplicate).
            for t in 0..<tensors { floats[t * elements] = Float(b) + 0.5 }
            let path = dir + "/batch-\(String(format: "%03d", b)).safetensors"
            guard let f = fopen(path, "wb") else { throw CocoaError(.fileWriteUnknown) }
            var length = UInt64(header.utf8.count).littleEndian
            fwrite(&length, 8, 1, f)
            _ = header.withCString { fwrite($0, 1, header.utf8.count, f) }
            fwrite(data.base, 1, data.count, f)
            fclose(f)
            total += 8 + header.utf8.count + data.count
        }
        return total
    }

    /// Reads every file once so the timed runs find them in the page cache.
    static func warm(dir: String) throws -> Int {
        var total = 0
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 8 << 20, alignment: 64)
        defer { buffer.deallocate() }
        for name in try FileManager.default.contentsOfDirectory(atPath: dir).sorted() where name.hasSuffix(".safetensors") {
            let fd = open(dir + "/" + name, O_RDONLY)
            guard fd >= 0 else { continue }
            while true {
                let n = read(fd, buffer, 8 << 20)
                if n <= 0 { break }
                total += n
            }
            close(fd)
        }
        return total
    }

    /// Maps every file and touches each page (what the reader's mapping costs before any byte is
    /// hashed or observed): seconds.
    static func mapAndTouch(dir: String) throws -> Double {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        var checksum: UInt8 = 0
        let t = now()
        for name in try FileManager.default.contentsOfDirectory(atPath: dir).sorted() where name.hasSuffix(".safetensors") {
            let fd = open(dir + "/" + name, O_RDONLY)
            guard fd >= 0 else { continue }
            var st = stat()
            fstat(fd, &st)
            let size = Int(st.st_size)
            if let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED {
                let bytes = p.assumingMemoryBound(to: UInt8.self)
                for offset in stride(from: 0, to: size, by: page) { checksum &+= bytes[offset] }
                munmap(p, size)
            }
            close(fd)
        }
        sink = [Float(checksum)]
        return now() - t
    }

    static func run(quick: Bool, reps: Int, python: String = "python3", withBaseline: Bool = true) throws {
        let batches = quick ? 8 : 64, tensors = 16
        let shape = quick ? [4, 128, 256] : [16, 128, 256]
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("calib-bench-\(getpid())").path
        let dir = root + "/batches"
        defer { try? FileManager.default.removeItem(atPath: root) }
        print("\n2. End to end: CalibrationRunner, \(batches) batches x \(tensors) tensors f32 \(shape), per-tensor minmax")
        let t0 = now()
        let bytes = try writeBatches(dir: dir, batches: batches, tensors: tensors, shape: shape)
        print(String(format: "   wrote %.2f GiB in %.1f s to %@", Double(bytes) / Double(1 << 30), now() - t0, dir))
        _ = try warm(dir: dir)

        // The runner, wall clock, into a fresh database each time.
        var runnerSeconds = Double.infinity
        var runnerCommits = (transactions: 0, seconds: 0.0)
        var peak: Double? = nil
        for rep in 0..<max(1, min(reps, 3)) {
            let db = root + "/run\(rep).sqlite"
            let store = try CalibStore(path: db)
            let resetOK = Memory.resetPeak()
            let t = now()
            let summary = try CalibrationRunner(store: store, options: RunOptions(session: "e2e")).run(BatchReader(inputs: [dir]))
            let seconds = now() - t
            precondition(summary.added == batches, "runner added \(summary.added) of \(batches) batches")
            if seconds < runnerSeconds {
                runnerSeconds = seconds
                runnerCommits = (summary.transactions, summary.commitSeconds)
            }
            if resetOK, let p = Memory.peakMiB { peak = max(peak ?? 0, p) } else if !resetOK { peak = nil }
        }

        // Phases, as the runner does them, without the store.
        func phase(_ observe: (TensorData) -> Void) throws -> (read: Double, observe: Double) {
            var read = 0.0, obs = 0.0
            let reader = try BatchReader(inputs: [dir])
            while true {
                let t = now()
                guard let batch = try reader.next() else { break }
                let t1 = now()
                for tensor in batch.tensors { observe(tensor) }
                let t2 = now()
                read += t1 - t
                obs += t2 - t1
            }
            return (read, obs)
        }
        var readSeconds = Double.infinity, observeSeconds = Double.infinity, observe2 = Double.infinity
        let cores = ProcessInfo.processInfo.activeProcessorCount
        for _ in 0..<max(1, min(reps, 3)) {
            let p = try phase { sink = RangeKernel.observe($0, channelAxis: nil).min }
            readSeconds = min(readSeconds, p.read)
            observeSeconds = min(observeSeconds, p.observe)
            let q = try phase { sink = RangeKernel.observe($0, channelAxis: nil, threads: cores).min }
            observe2 = min(observe2, q.observe)
        }
        var commitSeconds = Double.infinity
        for rep in 0..<max(1, min(reps, 3)) {
            commitSeconds = min(commitSeconds, try commitPhase(dir: dir, root: root, rep: rep))
        }
        var touchSeconds = Double.infinity
        for _ in 0..<max(1, min(reps, 3)) { touchSeconds = min(touchSeconds, try mapAndTouch(dir: dir)) }

        print(
            "   phases timed one at a time on one thread, share of the runner's wall clock (the runner overlaps reading with the rest)"
        )
        var table = Table(header: ["phase", "seconds", "share", "GB/s"])
        table.rightAligned = [1, 2, 3]
        table.add(["CalibrationRunner.run (wall clock)", f2(runnerSeconds), "100%", f2(gbps(bytes, runnerSeconds))])
        table.add([
            "  BatchReader.next (map, parse, XXH3-128)", f2(readSeconds), pct(readSeconds, runnerSeconds),
            f2(gbps(bytes, readSeconds)),
        ])
        table.add([
            "    of which mmap + first touch of each page", f2(touchSeconds), pct(touchSeconds, runnerSeconds),
            f2(gbps(bytes, touchSeconds)),
        ])
        table.add([
            "  RangeKernel.observe (1 core)", f2(observeSeconds), pct(observeSeconds, runnerSeconds),
            f2(gbps(bytes, observeSeconds)),
        ])
        table.add([
            "  CalibStore.commit (statistics + encodings, one transaction per batch)", f2(commitSeconds),
            pct(commitSeconds, runnerSeconds), "",
        ])
        table.add(["RangeKernel.observe(threads: \(cores)), each tensor split", f2(observe2), "", f2(gbps(bytes, observe2))])
        print(table.render())
        print(
            String(
                format:
                    "   reading alone (XXH3-128 of each file on one core) bounds a runner that overlaps it with the rest at %.2f GB/s",
                gbps(bytes, readSeconds)))
        print(
            String(
                format:
                    "   SQLite: %d transactions took %.2f s, %@ of the runner's wall clock (committing every batch alone: %@)",
                runnerCommits.transactions, runnerCommits.seconds, pct(runnerCommits.seconds, runnerSeconds),
                pct(commitSeconds, runnerSeconds)))
        print(
            "   peak RSS during an in-process run: \(peak.map { f1($0) + " MiB" } ?? "n/a (needs /proc/self/clear_refs)") (VmHWM, reset before each run)"
        )

        try cliRuns(
            root: root, dir: dir, bytes: bytes, batches: batches, reps: reps, largestTensor: shape.reduce(1, *) * 4, quick: quick)
        try perChannelRuns(root: root, quick: quick)
        try perChannelMemoryRuns(root: root, quick: quick)
        try WholeProcessBench.run(root: root, quick: quick, reps: reps, python: python, withBaseline: withBaseline)
    }

    /// Peak RSS of `calib run` on single tensors with many channels (issue 13, #7b): the observer's
    /// accumulators must be O(channels), not channels x pieces (these peaked at 8.3 GB and 1.6 GB).
    static func perChannelMemoryRuns(root: String, quick: Bool) throws {
        guard let calib = Subprocess.calib else { return }
        let cases: [(label: String, dtype: String, shape: [Int], flags: [String])] = [
            ("activation, axis -1", "F32", quick ? [4, 4_000_000] : [4, 16_000_000], ["--per-channel-axis", "-1"]),
            ("weight, --role param", "F16", quick ? [65536, 2048] : [262144, 2048], ["--role", "param"]),
        ]
        var table = Table(header: ["per-channel `calib run`", "shape", "channels", "MiB", "seconds", "peak RSS", "bytes/channel"])
        table.rightAligned = [2, 3, 4, 5, 6]
        for c in cases {
            let path = root + "/wide.safetensors"
            let size = c.dtype == "F16" ? 2 : 4
            let bytes = c.shape.reduce(1, *) * size
            let header = #"{"w":{"dtype":""# + c.dtype + #"","shape":"# + "\(c.shape)" + #","data_offsets":[0,"# + "\(bytes)]}}"
            var file = Data()
            withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { file.append(contentsOf: $0) }
            file.append(Data(header.utf8))
            var chunk = Data(capacity: 1 << 20)
            for i in 0..<((1 << 20) / size) {
                let v = Float(i % 997) - 500
                if size == 2 {
                    withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { chunk.append(contentsOf: $0) }
                } else {
                    withUnsafeBytes(of: v.bitPattern.littleEndian) { chunk.append(contentsOf: $0) }
                }
            }
            FileManager.default.createFile(atPath: path, contents: file)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.seekToEnd()
            var left = bytes
            while left > 0 {
                try handle.write(contentsOf: chunk.prefix(left))
                left -= min(left, chunk.count)
            }
            try handle.close()
            defer { try? FileManager.default.removeItem(atPath: path) }
            let db = root + "/wide.sqlite"
            let r = try Subprocess.run(calib, ["run", "--db", db, "--session", "w"] + c.flags + [path])
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: db + suffix) }
            guard r.status == 0 else { throw BenchError("calib run failed (\(r.status)): \(r.stderr)") }
            let channels = c.flags.contains("-1") ? c.shape.last! : c.shape[0]
            table.add([
                c.label, "\(c.shape)", "\(channels)", f1(Double(bytes) / Double(1 << 20)), f2(r.seconds), f1(r.peakMiB) + " MiB",
                f1(r.peakMiB * Double(1 << 20) / Double(channels)),
            ])
        }
        print()
        print(table.render())
        print("   Per-channel statistics and encodings are arrays per channel: the peak grows with the channels, not the pieces.")
    }

    /// Many per-channel tensors: each commit writes megabytes of statistics and encodings, so how
    /// often the runner commits decides SQLite's share. One transaction per batch against the
    /// default policy, in-process, same batches.
    static func perChannelRuns(root: String, quick: Bool) throws {
        let batches = quick ? 4 : 16, tensors = quick ? 50 : 200, shape = [16, 4096]
        let dir = root + "/per-channel"
        let bytes = try writeBatches(dir: dir, batches: batches, tensors: tensors, shape: shape)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try warm(dir: dir)
        print("\n   per-channel: \(batches) batches x \(tensors) tensors f32 \(shape), axis 1 (4096 channels), minmax")
        var table = Table(header: ["commit policy", "transactions", "seconds", "GB/s", "in SQLite", "share"])
        table.rightAligned = [1, 2, 3, 4, 5]
        for (name, policy) in [("one per batch", CommitPolicy.everyBatch), ("adaptive (default)", CommitPolicy.adaptive)] {
            let store = try CalibStore(path: root + "/pc-\(name.prefix(3)).sqlite")
            var options = RunOptions(session: "pc", settings: SettingsOverride(granularity: .axis(1)))
            options.commitPolicy = policy
            let t = now()
            let summary = try CalibrationRunner(store: store, options: options).run(BatchReader(inputs: [dir]))
            let seconds = now() - t
            table.add([
                name, "\(summary.transactions)", f2(seconds), f2(gbps(bytes, seconds)), f2(summary.commitSeconds),
                pct(summary.commitSeconds, seconds),
            ])
        }
        print(table.render())
    }

    /// The real `calib run` in a child process, as a user runs it: wall clock and the child's peak
    /// RSS, over all batches and over a quarter of them (memory must not grow with the batch count),
    /// then over a few batches of one large tensor each (memory must not grow with the tensor either).
    static func cliRuns(root: String, dir: String, bytes: Int, batches: Int, reps: Int, largestTensor: Int, quick: Bool) throws {
        guard let calib = Subprocess.calib else {
            print("   (calib executable not found next to calib-bench: build the whole package to time `calib run`)")
            return
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted().map { dir + "/" + $0 }
        func timed(_ inputs: [String], tag: String) throws -> (seconds: Double, peak: Double) {
            var seconds = Double.infinity, peak = 0.0
            for rep in 0..<max(1, min(reps, 3)) {
                let db = root + "/cli-\(tag)-\(rep).sqlite"
                let r = try Subprocess.run(calib, ["run", "--db", db, "--session", "e2e"] + inputs)
                guard r.status == 0 else { throw BenchError("calib run failed (\(r.status)): \(r.stderr)") }
                seconds = min(seconds, r.seconds)
                peak = max(peak, r.peakMiB)
            }
            return (seconds, peak)
        }
        let all = try timed([dir], tag: "all")
        let quarter = try timed(Array(files.prefix(max(1, batches / 4))), tag: "quarter")
        let quarterBytes = files.prefix(max(1, batches / 4)).reduce(0) {
            $0 + ((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0)
        }

        // One large tensor per batch.
        let bigDir = root + "/big"
        let bigShape = quick ? [16, 1024, 1024] : [64, 1024, 1024]  // 64 / 256 MiB of float32
        let bigBytes = try writeBatches(dir: bigDir, batches: 4, tensors: 1, shape: bigShape)
        _ = try warm(dir: bigDir)
        let big = try timed([bigDir], tag: "big")
        try? FileManager.default.removeItem(atPath: bigDir)

        let mib = Double(1 << 20)
        var table = Table(header: [
            "`calib run` (child process, best of \(max(1, min(reps, 3))))", "GiB", "seconds", "GB/s", "peak RSS", "limit", "",
        ])
        table.rightAligned = [1, 2, 3, 4, 5]
        func row(_ what: String, _ n: Int, _ r: (seconds: Double, peak: Double), largest: Int, target: Bool) {
            let limit = 64 + Double(largest) / mib
            let speed = gbps(n, r.seconds)
            var verdict = r.peak.isNaN ? "RSS n/a (no /usr/bin/time)" : r.peak <= limit ? "RSS met" : "RSS MISSED"
            if target { verdict += speed >= 3 ? ", met >= 3 GB/s" : ", MISSED >= 3 GB/s" }
            table.add([
                what, String(format: "%.2f", Double(n) / Double(1 << 30)), f2(r.seconds), f2(speed), f1(r.peak) + " MiB",
                f1(limit) + " MiB", verdict,
            ])
        }
        let bigTensor = bigShape.reduce(1, *) * 4
        row(
            "\(batches) batches x 16 tensors (\(f1(Double(largestTensor) / mib)) MiB each)", bytes, all, largest: largestTensor,
            target: true)
        row("\(max(1, batches / 4)) of those batches", quarterBytes, quarter, largest: largestTensor, target: false)
        row("4 batches x 1 tensor of \(f1(Double(bigTensor) / mib)) MiB", bigBytes, big, largest: bigTensor, target: false)
        print(table.render())
        print("   limit: 64 MiB plus the largest tensor. The child's peak counts the calib binary and its libraries too.")
    }

    /// The batches committed one by one into a fresh session as the runner commits them (observed
    /// first, untimed): the seconds spent in `CalibStore.commit`.
    static func commitPhase(dir: String, root: String, rep: Int) throws -> Double {
        let store = try CalibStore(path: root + "/commit\(rep).sqlite")
        // TensorRecord and BatchRecord have no public initialiser: templates from a one-tensor run.
        let seedFile = root + "/seed.safetensors"
        try StoreBench.writeSeed(seedFile)
        _ = try CalibrationRunner(store: store, options: RunOptions(session: "seed")).run(BatchReader(inputs: [seedFile]))
        let seed = try store.requireSession("seed")
        guard let template = try store.reports(session: seed).first?.tensor,
            let batchTemplate = try store.batches(session: seed.id).first
        else { return .nan }
        let observer = ObserverConfig(kind: .minmax)
        let scheme = QuantScheme()
        let session = try store.createSession(name: "commit", observer: observer, scheme: scheme)
        var ids: [String: Int64] = [:]
        var stats: [String: TensorStats] = [:]
        var seconds = 0.0
        var seq = 0
        let reader = try BatchReader(inputs: [dir])
        while let batch = try reader.next() {
            var list: [(TensorRecord, TensorStats, Bool)] = []
            var elements = 0
            for tensor in batch.tensors {
                var s = stats[tensor.name] ?? TensorStats(observer: observer, channels: 1)
                s.accumulate(RangeKernel.observe(tensor, channelAxis: nil))
                stats[tensor.name] = s
                var record = template
                record.name = tensor.name
                record.id = ids[tensor.name] ?? 0
                record.dtype = tensor.dtype
                record.shape = tensor.shape
                record.channelAxis = nil
                record.channels = 1
                list.append((record, s, ids[tensor.name] == nil))
                elements += tensor.elementCount
            }
            var record = batchTemplate
            record.seq = seq
            record.source = batch.source
            record.contentHash = batch.contentHash
            record.tensors = list.count
            record.elements = elements
            record.bytes = batch.byteCount
            let t = now()
            let rows = list.map { Derivation.rows(for: $0.0, stats: $0.1, scheme: scheme, isNew: $0.2) }
            let newIds = try store.commit(BatchCommit(batches: [record], tensors: rows), session: session, expectedBatches: seq)
                .tensorIDs
            seconds += now() - t
            ids.merge(newIds) { _, new in new }
            seq += 1
        }
        return seconds
    }

    static func pct(_ part: Double, _ whole: Double) -> String { "\(Int((100 * part / whole).rounded()))%" }
}
