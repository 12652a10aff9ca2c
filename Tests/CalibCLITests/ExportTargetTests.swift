import CalibTestSupport
import Foundation
import Testing

/// Issue 13, findings 9, 10 and 12: where exports go, what range-based formats can hold, and
/// selections that match nothing, through the CLI.
@Suite struct ExportTargetTests {
    static let batches = Fixtures.path("golden/cases/aimet_multibatch_asym_unsigned_8/batches")

    static func calibrated(_ dir: TemporaryDirectory, session: String = "s") throws -> String {
        let db = dir.path("cal.sqlite")
        let r = try CLI.run(["run", "--db", db, "--session", session, batches])
        #expect(r.status == 0, "\(r.stderr)")
        return db
    }

    static func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    // MARK: - Finding 9: where exports go

    static func isFIFO(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFIFO
    }

    static func temporaries(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".tmp") }
    }

    /// Reads a FIFO until its writer closes it, without blocking on open (so a writer that never comes
    /// fails the test instead of hanging it).
    static func drain(_ fifo: String, timeout: TimeInterval = 30) -> Data {
        let fd = open(fifo, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else { return Data() }
        defer { close(fd) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let n = read(fd, &buffer, buffer.count)
            if n > 0 {
                data.append(contentsOf: buffer[..<n])
            } else if n == 0 && !data.isEmpty {
                break
            } else {
                usleep(2000)
            }
        }
        return data
    }

    /// A FIFO, a symlink to a file, a dangling symlink and a symlink to this process's stdout (what
    /// `/dev/stdout` is) stay what they are: the export goes through them, only regular files are replaced.
    @Test func exportsWriteThroughNodesAndSymlinks() throws {
        let dir = TemporaryDirectory()
        let db = try Self.calibrated(dir)
        let expected = try CLI.run(["export", "--db", db, "s", "--format", "aimet"]).stdout
        #expect(expected.contains("layer2.relu"))

        let fifo = dir.path("pipe")
        #expect(mkfifo(fifo, 0o600) == 0)
        nonisolated(unsafe) var received = Data()
        let reader = Thread { received = Self.drain(fifo) }
        reader.start()
        let r = try CLI.run(["export", "--db", db, "s", "--format", "aimet", "-o", fifo])
        while !reader.isFinished { usleep(1000) }
        #expect(r.status == 0, "\(r.stderr)")
        #expect(String(decoding: received, as: UTF8.self) == expected)
        #expect(Self.isFIFO(fifo), "the FIFO was replaced by a file")

        // A symlink to a regular file: the target is replaced (atomically, keeping its mode), the link kept.
        try FileManager.default.createDirectory(atPath: dir.path("real"), withIntermediateDirectories: true)
        let real = dir.path("real/out.encodings")
        try Self.write("old", to: real)
        chmod(real, 0o640)
        let link = dir.path("link.encodings")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "real/out.encodings")
        #expect(try CLI.run(["export", "--db", db, "s", "--format", "aimet", "-o", link]).status == 0)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == "real/out.encodings")
        #expect(try String(contentsOfFile: real, encoding: .utf8) == expected)
        #expect((try FileManager.default.attributesOfItem(atPath: real)[.posixPermissions] as? Int) == 0o640)
        #expect(try Self.temporaries(dir.path("real")).isEmpty && Self.temporaries(dir.url.path).isEmpty)
        // A dangling symlink: the file it names is created.
        let dangling = dir.path("dangling.json")
        try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: dir.path("real/new.json"))
        #expect(try CLI.run(["export", "--db", db, "s", "-o", dangling]).status == 0)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dangling) == dir.path("real/new.json"))
        #expect(try String(contentsOfFile: dir.path("real/new.json"), encoding: .utf8).contains("\"session\": \"s\""))

        // A link to the process's own stdout, as /dev/stdout is: the export arrives on stdout.
        let stdoutLink = dir.path("stdout")
        try FileManager.default.createSymbolicLink(atPath: stdoutLink, withDestinationPath: "/proc/self/fd/1")
        let viaLink = try CLI.run(["export", "--db", db, "s", "--format", "aimet", "-o", stdoutLink])
        #expect(viaLink.status == 0 && viaLink.stdout == expected, "\(viaLink.stderr)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: stdoutLink) == "/proc/self/fd/1")
        // Through /dev/stdout into a file the shell opened for appending: appended, not replaced.
        let log = dir.path("log.txt")
        try Self.write("first line\n", to: log)
        let appended = try CLI.run(
            ["-c", "exec \"$0\" export --db \"$1\" s --format aimet -o /dev/stdout >> \"$2\"", CLI.executable.path, db, log],
            executable: URL(fileURLWithPath: "/bin/sh"))
        #expect(appended.status == 0, "\(appended.stderr)")
        #expect(try String(contentsOfFile: log, encoding: .utf8) == "first line\n" + expected)
        // (/dev/null and /dev/stdout themselves take the same paths as the FIFO and this link; they
        // are not named here, since a regression would replace the machine's own nodes.)
        // A directory is refused, naming it.
        let d = try CLI.run(["export", "--db", db, "s", "-o", dir.path("real")])
        #expect(d.status == 1 && d.stderr.contains("cannot write \(dir.path("real")): it is a directory"), "\(d.stderr)")
    }

    /// A JSON export interrupted by SIGTERM or SIGINT leaves no temporary file; one killed outright
    /// (SIGKILL, simulated by a leftover of a process that is gone) is cleaned up by the next export
    /// to the same file, while a live process's temporary stays.
    @Test func interruptedExportsLeaveNoTemporaryFiles() throws {
        let dir = TemporaryDirectory()
        // One tensor of 300,000 channels: a JSON export of about 25 MB, long enough to interrupt.
        let channels = 300_000
        let file = dir.path("wide.safetensors")
        try TensorFiles.safetensors([("wide", [2, channels], (0..<(2 * channels)).map { Float($0 % 977) - 400 })])
            .write(to: URL(fileURLWithPath: file))
        let db = dir.path("wide.sqlite")
        #expect(try CLI.run(["run", "--db", db, "--session", "w", "--per-channel-axis", "1", file]).status == 0)
        let outDir = dir.path("out")
        try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        let out = outDir + "/w.json"
        var interrupted = 0
        for sig in [SIGTERM, SIGINT, SIGTERM, SIGINT] {
            let p = Process()
            p.executableURL = CLI.executable
            p.arguments = ["export", "--db", db, "w", "-o", out]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            // Wait for the temporary file to appear, then interrupt.
            let deadline = Date().addingTimeInterval(20)
            while p.isRunning && Date() < deadline, try Self.temporaries(outDir).isEmpty { usleep(500) }
            kill(p.processIdentifier, sig)
            p.waitUntilExit()
            if p.terminationReason == .uncaughtSignal {
                interrupted += 1
                #expect(p.terminationStatus == sig)
            }
            let left = try Self.temporaries(outDir)
            #expect(left.isEmpty, "signal \(sig) left \(left)")
        }
        #expect(interrupted > 0, "no export was interrupted while writing")
        #expect(!FileManager.default.fileExists(atPath: out))

        // Leftovers of a killed export: a dead pid's are removed, a live pid's kept, others untouched.
        let dead = outDir + "/.w.json.4194303-12345.tmp"
        let live = outDir + "/.w.json.\(getpid())-777.tmp"
        let other = outDir + "/.other.json.4194303-1.tmp"
        for path in [dead, live, other] { try Self.write("partial", to: path) }
        let r = try CLI.run(["export", "--db", db, "w", "--tensor", "wide", "-o", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dead))
        #expect(FileManager.default.fileExists(atPath: live) && FileManager.default.fileExists(atPath: other))
    }

    /// An onnxruntime directory export is a set: a failure leaves the old set whole, a new directory
    /// appears with every member or not at all, and a member that is a symlink is refused.
    @Test func onnxRuntimeDirectoryExportsAreASet() throws {
        let dir = TemporaryDirectory()
        let db = try Self.calibrated(dir)
        let file = dir.path("other.safetensors")
        try TensorFiles.safetensors([("layer1.out", [2], [-9, 9]), ("layer2.relu", [2], [0, 7])]).write(
            to: URL(fileURLWithPath: file))
        #expect(try CLI.run(["run", "--db", db, "--session", "t", file]).status == 0)
        let ort = dir.path("ort")
        #expect(try CLI.run(["export", "--db", db, "s", "--format", "onnxruntime", "-o", ort]).status == 0)
        let members = ["calibration.cache", "calibration.flatbuffers", "calibration.json"]
        #expect(try FileManager.default.contentsOfDirectory(atPath: ort).sorted() == members)
        let old = try members.map { try Data(contentsOf: URL(fileURLWithPath: ort + "/" + $0)) }
        // calibration.cache made unreplaceable: nothing may change, not even the members before it.
        let blocker = ort + "/calibration.cache"
        try FileManager.default.removeItem(atPath: blocker)
        try FileManager.default.createDirectory(atPath: blocker + "/x", withIntermediateDirectories: true)
        let r = try CLI.run(["export", "--db", db, "t", "--format", "onnxruntime", "-o", ort])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("calibration.cache"), "\(r.stderr)")
        for (name, data) in zip(members, old) where name != "calibration.cache" {
            #expect(try Data(contentsOf: URL(fileURLWithPath: ort + "/" + name)) == data, "\(name) changed")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: ort).sorted() == members, "a staging directory was left")
        // Restored, the new set replaces the old one whole.
        try FileManager.default.removeItem(atPath: blocker)
        try old[0].write(to: URL(fileURLWithPath: blocker))
        #expect(try CLI.run(["export", "--db", db, "t", "--format", "onnxruntime", "-o", ort]).status == 0)
        let json = try String(contentsOfFile: ort + "/calibration.json", encoding: .utf8)
        let cache = try String(contentsOfFile: blocker, encoding: .utf8)
        #expect(json.contains("[-9.0]") && cache.contains("layer1.out 9.0"), "\(cache)")
        // A symlinked member is refused, naming it; the link stays.
        try FileManager.default.removeItem(atPath: blocker)
        try FileManager.default.createSymbolicLink(atPath: blocker, withDestinationPath: dir.path("elsewhere"))
        let link = try CLI.run(["export", "--db", db, "s", "--format", "onnxruntime", "-o", ort])
        #expect(link.status == 1 && link.stderr.contains("\(blocker): it is a symlink"), "\(link.stderr)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: blocker) == dir.path("elsewhere"))
        // Staging directories a killed export left (a process that is gone) are removed by the next one.
        try FileManager.default.removeItem(atPath: blocker)
        let staleInside = ort + "/.calib-export.4194303-5.tmp"
        let staleBeside = dir.path("a/b/.ort.4194303-6.tmp")
        for stale in [staleInside, staleBeside] {
            try FileManager.default.createDirectory(atPath: stale, withIntermediateDirectories: true)
            try Self.write("partial", to: stale + "/calibration.json")
        }
        #expect(try CLI.run(["export", "--db", db, "s", "--format", "onnxruntime", "-o", ort]).status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: ort).sorted() == members)
        // A new directory, and its parents, are created whole (the stale staging beside it removed).
        let fresh = dir.path("a/b/ort")
        #expect(try CLI.run(["export", "--db", db, "s", "--format", "onnxruntime", "-o", fresh]).status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: fresh).sorted() == members)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path("a/b")) == ["ort"])
    }

    /// show, sessions, diff (and a non-JSON export) whose stdout is full or closed exit non-zero
    /// with the reason, instead of exiting 0 with the output lost.
    @Test func writeErrorsOnStandardOutputAreReported() throws {
        let dir = TemporaryDirectory()
        let db = try Self.calibrated(dir)
        for command in [
            "show --db \(db) s", "show --db \(db) s --json", "sessions --db \(db)", "sessions --db \(db) --json",
            "diff --db \(db) s s", "export --db \(db) s --format csv", "export --db \(db) s", "check --db \(db)",
        ] {
            for (redirect, reason) in [(">/dev/full", "No space left on device"), (">&-", "Bad file descriptor")] {
                let r = try CLI.run(
                    ["-c", "exec \"$0\" \(command) \(redirect)", CLI.executable.path], executable: URL(fileURLWithPath: "/bin/sh")
                )
                #expect(r.status != 0, "\(command) \(redirect): exit 0")
                #expect(r.stderr.contains("cannot write standard output: \(reason)"), "\(command) \(redirect): \(r.stderr)")
            }
        }
    }

    // MARK: - Finding 10: what range-based formats can hold

    /// An all-zero or subnormal-only tensor has no TensorRT scale: refused by name (calib's own
    /// importer refuses a zero scale), or left out with --allow-incomplete, never written as 00000000.
    @Test func tensorRTRefusesZeroAndSubnormalScales() throws {
        let dir = TemporaryDirectory()
        let file = dir.path("z.safetensors")
        try TensorFiles.safetensors([
            ("ok", [2], [-1, 2]), ("zero", [4], [0, 0, 0, 0]),
            ("tiny", [2], [Float.leastNonzeroMagnitude * 1000, -Float.leastNormalMagnitude / 4]),
        ])
        .write(to: URL(fileURLWithPath: file))
        let db = dir.path("z.sqlite")
        #expect(try CLI.run(["run", "--db", db, "--session", "z", file]).status == 0)
        let out = dir.path("z.cache")
        let r = try CLI.run(["export", "--db", db, "z", "--format", "tensorrt", "-o", out])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("2 tensors cannot be exported as tensorrt:"), "\(r.stderr)")
        #expect(r.stderr.contains("  zero: its largest magnitude 0.0 gives TensorRT scale 0.0 (00000000)"), "\(r.stderr)")
        #expect(r.stderr.contains("  tiny: its largest magnitude"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
        let partial = try CLI.run(["export", "--db", db, "z", "--format", "tensorrt", "-o", out, "--allow-incomplete"])
        #expect(partial.status == 0 && partial.stderr.contains("leaving out 2 tensors"), "\(partial.stderr)")
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "TRT-100300-MinMaxCalibration\nok: 3c810204\n")
        // What calib writes, calib reads back; a zero scale it refuses, naming the line.
        #expect(try CLI.run(["import", "--db", db, "--format", "tensorrt", out, "--session", "back"]).status == 0)
        try Self.write("TRT-100300-MinMaxCalibration\nzero: 00000000\ntiny: 00000001\n", to: out)
        let bad = try CLI.run(["import", "--db", db, "--format", "tensorrt", out, "--session", "bad"])
        #expect(bad.status == 1 && bad.stderr.contains("line 2: 00000000 is a zero or subnormal scale"), "\(bad.stderr)")
    }

    /// Per-channel tensors in a format of one range per tensor are refused by name in every such
    /// format (onnxruntime used to collapse them silently, tensorrt refused them), or left out with
    /// --allow-incomplete; options such a format cannot reflect are refused, not ignored.
    @Test func rangeFormatsRefusePerChannelAndIgnoredOptions() throws {
        let dir = TemporaryDirectory()
        let file = dir.path("pc.safetensors")
        try TensorFiles.safetensors([("a", [2], [-1, 2]), ("w", [2, 3], [-1, 2, 3, 4, -5, 6])]).write(
            to: URL(fileURLWithPath: file))
        let config = dir.path("pc.json")
        try Self.write(#"{"tensors": {"w": {"per_channel_axis": 1}}}"#, to: config)
        let db = dir.path("pc.sqlite")
        #expect(try CLI.run(["run", "--db", db, "--session", "pc", "--config", config, file]).status == 0)
        for (format, holds) in [
            ("onnxruntime", "ONNX Runtime calibration tables hold one range per tensor"),
            ("onnxruntime-cache", "ONNX Runtime calibration tables hold one range per tensor"),
            ("tensorrt", "TensorRT implicit INT8 caches hold one scale per tensor"),
        ] {
            let out = dir.path("out-\(format)")
            let r = try CLI.run(["export", "--db", db, "pc", "--format", format, "-o", out])
            #expect(r.status == 1, "\(format): \(r.stderr)")
            #expect(
                r.stderr.contains("1 tensor cannot be exported as \(format):\n  w: per-channel (3 channels), and \(holds)"),
                "\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out), "\(format)")
        }
        let cache = try CLI.run(["export", "--db", db, "pc", "--format", "onnxruntime-cache", "--allow-incomplete"])
        #expect(cache.status == 0 && cache.stderr.contains("leaving out 1 tensor:\n  w: per-channel"), "\(cache.stderr)")
        #expect(cache.stdout.contains("\"a\"") && !cache.stdout.contains("\"w\""), "\(cache.stdout)")

        #expect(try CLI.run(["derive", "--db", db, "pc", "--label", "four", "--bitwidth", "4"]).status == 0)
        for (format, flags, said) in [
            ("tensorrt", ["--bitwidth", "4"], "so --bitwidth 4 would change nothing: drop it"),
            ("onnxruntime-cache", ["--symmetric", "--signed"], "so --symmetric, --signed would change nothing: drop them"),
            ("onnxruntime-cache", ["--label", "four"], "so --label four would change nothing"),
            ("tensorrt", ["--convention", "tensorrt"], "so --convention tensorrt would change nothing"),
        ] {
            let r = try CLI.run(["export", "--db", db, "pc", "--format", format, "--tensor", "a"] + flags)
            #expect(r.status == 1 && r.stdout.isEmpty, "\(format) \(flags): \(r.stdout)")
            #expect(
                r.stderr.contains("--format \(format) writes each tensor's calibrated range") && r.stderr.contains(said),
                "\(r.stderr)")
        }
        let trt = try CLI.run(["export", "--db", db, "pc", "--format", "aimet", "--trt-version", "8601"])
        #expect(
            trt.status == 64 && trt.stderr.contains("--trt-version applies to --format tensorrt only, not aimet"), "\(trt.stderr)"
        )
        // A header calib's own importer could not read back is refused.
        for (flag, value) in [
            ("--trt-version", "10.3"), ("--trt-version", ""), ("--trt-algorithm", "Min Max"), ("--trt-algorithm", ""),
        ] {
            let r = try CLI.run(["export", "--db", db, "pc", "--format", "tensorrt", "--tensor", "a", flag, value])
            #expect(
                r.status == 1 && r.stdout.isEmpty && r.stderr.contains("\(flag) '\(value)' must be"),
                "\(flag) \(value): \(r.stderr)")
        }
        let header = try CLI.run(["export", "--db", db, "pc", "--format", "tensorrt", "--tensor", "a", "--trt-version", "8601"])
        #expect(header.status == 0 && header.stdout.hasPrefix("TRT-8601-MinMaxCalibration\na: "), "\(header.stderr)")
        // Encoding formats take them as before.
        let aimet = try CLI.run(["export", "--db", db, "pc", "--format", "aimet", "--bitwidth", "4"])
        #expect(aimet.status == 0 && aimet.stdout.contains("\"bw\": 4"), "\(aimet.stderr)")
    }

    // MARK: - Finding 12: empty results are errors

    /// `--tensor` that matches nothing: an error naming the glob, and no file; a glob that matches
    /// nothing beside others that match: a note.
    @Test func tensorSelectionsThatMatchNothingAreErrors() throws {
        let dir = TemporaryDirectory()
        let db = try Self.calibrated(dir)
        let out = dir.path("out.json")
        for format in ["json", "aimet", "csv", "tensorrt"] {
            let r = try CLI.run(["export", "--db", db, "s", "--format", format, "--tensor", "nope", "-o", out])
            #expect(r.status == 1, "\(format): \(r.stderr)")
            #expect(r.stderr.contains("no tensor of session 's' matches --tensor 'nope' (it has 2 tensors"), "\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out))
        }
        let stdout = try CLI.run(["export", "--db", db, "s", "--tensor", "nope*", "--tensor", "x?"])
        #expect(stdout.status == 1 && stdout.stdout.isEmpty, "\(stdout.stdout)")
        #expect(stdout.stderr.contains("matches --tensor 'nope*', 'x?'"), "\(stdout.stderr)")
        let ort = try CLI.run(["export", "--db", db, "s", "--format", "onnxruntime", "--tensor", "nope", "-o", dir.path("ort")])
        #expect(ort.status == 1 && !FileManager.default.fileExists(atPath: dir.path("ort")), "\(ort.stderr)")
        for extra in [[], ["--json"]] {
            let show = try CLI.run(["show", "--db", db, "s", "--tensor", "nope"] + extra)
            #expect(show.status == 1 && show.stdout.isEmpty, "\(show.stdout)")
            #expect(show.stderr.contains("no tensor of session 's' matches --tensor 'nope'"), "\(show.stderr)")
        }
        // One glob of several matching nothing: the rest is shown, and the empty glob named.
        let partial = try CLI.run(["show", "--db", db, "s", "--tensor", "layer1.*", "--tensor", "layr2.relu"])
        #expect(partial.status == 0 && partial.stdout.contains("layer1.out") && !partial.stdout.contains("layer2.relu"))
        #expect(partial.stderr.contains("calib: note: --tensor 'layr2.relu' matches no tensor"), "\(partial.stderr)")
        let export = try CLI.run(["export", "--db", db, "s", "--tensor", "layer2.relu", "--tensor", "typo"])
        #expect(export.status == 0 && export.stderr.contains("--tensor 'typo' matches no tensor"), "\(export.stderr)")
        // A run whose --tensor globs partly match.
        let run = try CLI.run(["run", "--db", db, "--session", "r", "--tensor", "layer1.out", "--tensor", "typo", Self.batches])
        #expect(run.status == 0 && run.stderr.contains("--tensor 'typo' matches no tensor"), "\(run.stderr)")
    }

    /// Siblings: an export left with no tensor (every one left out by --allow-incomplete), and a diff
    /// of sessions with no tensor in common (a drift gate over nothing), are errors too.
    @Test func exportsAndDiffsOfNothingAreErrors() throws {
        let dir = TemporaryDirectory()
        let db = try Self.calibrated(dir)
        let nan = dir.path("nan.safetensors")
        try TensorFiles.safetensors([("dead", [2], [.nan, .nan])]).write(to: URL(fileURLWithPath: nan))
        #expect(try CLI.run(["run", "--db", db, "--session", "n", nan]).status == 0)
        let out = dir.path("n.encodings")
        let r = try CLI.run(["export", "--db", db, "n", "--format", "aimet", "-o", out, "--allow-incomplete"])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(
            r.stderr.contains(
                "every tensor of session 'n' cannot be encoded, so nothing is left to export:\n  dead: no finite value observed"),
            "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
        for extra in [[], ["--json"], ["--fail-above", "1"]] {
            let diff = try CLI.run(["diff", "--db", db, "s", "n"] + extra)
            #expect(diff.status == 2 && diff.stdout.isEmpty, "\(diff.stdout)")
            #expect(
                diff.stderr.contains("sessions 's' (2 tensors) and 'n' (1 tensor) have no tensor in common"), "\(diff.stderr)")
        }
        #expect(try CLI.run(["diff", "--db", db, "s", "s", "--fail-above", "1"]).status == 0)
    }

    /// `--config` files that would change nothing are refused, and rules that match no tensor are named.
    @Test func configsThatChangeNothingAreRefusedOrNamed() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("cfg.sqlite")
        let config = dir.path("c.json")
        for (n, (text, expected)) in [
            ("{}", "the config holds no rule"), (#"{"tensors": {}}"#, "the config holds no rule"),
            (#"{"layer2.relu": {}}"#, "'layer2.relu' sets nothing"),
            (#"{"tensors": {"*": {"bitwidth": 4}}, "version": 1}"#, "unknown top-level key 'version' beside \"tensors\""),
            (#"{"bitwidth": 4}"#, "settings for 'bitwidth' must be an object (expected {\"tensors\""),
        ].enumerated() {
            try Self.write(text, to: config)
            let r = try CLI.run(["run", "--db", db, "--session", "c\(n)", "--config", config, Self.batches])
            #expect(r.status == 1, "\(text): \(r.stdout)")
            #expect(r.stderr.contains(config) && r.stderr.contains(expected), "\(text): \(r.stderr)")
        }
        try Self.write(#"{"tensors": {"layer1.*": {"bitwidth": 4}, "layr2.*": {"bitwidth": 4}}}"#, to: config)
        let r = try CLI.run(["run", "--db", db, "--session", "ok", "--config", config, Self.batches])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(
            r.stderr.contains("calib: note: \(config): rule 'layr2.*' matches no tensor of session 'ok', so it changed nothing"),
            "\(r.stderr)")
        let show = try CLI.run(["show", "--db", db, "ok", "--json"])
        let encodings = (show.json as? [String: Any])?["encodings"] as? [String: [String: Any]]
        #expect(encodings?["layer1.out"]?["bitwidth"] as? Int == 4 && encodings?["layer2.relu"]?["bitwidth"] as? Int == 8)
        // derive names them too.
        let derive = try CLI.run(["derive", "--db", db, "ok", "--label", "l", "--config", config])
        #expect(derive.status == 0 && derive.stderr.contains("rule 'layr2.*' matches no tensor"), "\(derive.stderr)")
        // A rule that matches says nothing.
        try Self.write(#"{"layer1.*": {"bitwidth": 4}}"#, to: config)
        let quiet = try CLI.run(["run", "--db", db, "--session", "q", "--config", config, Self.batches])
        #expect(quiet.status == 0 && quiet.stderr.isEmpty, "\(quiet.stderr)")
    }
}
