import CalibTestSupport
import Foundation
import Testing

@testable import CalibKit
@testable import CalibStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Issue 13's findings about input files: entries of batch directories that cannot be read, files
/// that change or shrink while a run reads them, and inputs that would need more memory than there is.
@Suite struct InputFileTests {
    static func batch(_ value: Float) -> Data { TensorFiles.safetensors([("layer1.out", [2], [value, value + 1])]) }

    static func sessions(_ db: String) throws -> [String] {
        guard FileManager.default.fileExists(atPath: db) else { return [] }
        return try CalibStore(path: db, readOnly: true).sessions().map(\.session.name)
    }

    /// Finding 17: an entry named like a batch file that cannot be read (a dangling symlink, a
    /// symlink loop, a FIFO) used to be skipped silently inside a directory; it is now an error
    /// naming the entry, before anything is stored, as it is when given directly.
    @Test(arguments: ["dangling", "loop", "fifo", "dangling-dir"])
    func unreadableDirectoryEntryIsAnError(kind: String) throws {
        let dir = TemporaryDirectory()
        let data = dir.path("data")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try Self.batch(1).write(to: URL(fileURLWithPath: data + "/a.safetensors"))
        let entry: String
        let expected: String
        switch kind {
        case "dangling":
            entry = data + "/b.safetensors"
            try FileManager.default.createSymbolicLink(atPath: entry, withDestinationPath: dir.path("gone.safetensors"))
            expected = "is a dangling symbolic link to '\(dir.path("gone.safetensors"))'"
        case "loop":
            entry = data + "/b.npy"
            try FileManager.default.createSymbolicLink(atPath: entry, withDestinationPath: entry)
            expected = "is a symbolic link loop"
        case "fifo":
            entry = data + "/b.npz"
            #expect(mkfifo(entry, 0o600) == 0)
            expected = "is named like a batch file but is a FIFO, not a regular file"
        default:
            // A link without a batch extension may have been a batch directory.
            entry = data + "/batch-7"
            try FileManager.default.createSymbolicLink(atPath: entry, withDestinationPath: dir.path("gone"))
            expected = "is a dangling symbolic link"
        }
        let db = dir.path("cal.sqlite")
        let r = try CLI.run(["run", "--db", db, "--session", "s", data])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("calib: error: \(entry): \(expected)"), "\(r.stderr)")
        #expect(try Self.sessions(db).isEmpty)

        // Given directly, the same entry is refused with the same words.
        let direct = try CLI.run(["run", "--db", db, "--session", "s", entry])
        #expect(
            direct.status == 1 && direct.stderr.contains(entry)
                && direct.stderr.contains(kind == "fifo" ? "not a regular file" : expected), "\(direct.stderr)")

        // Hidden entries and files with other names are still skipped: the directory alone works.
        try FileManager.default.removeItem(atPath: entry)
        try Data("notes".utf8).write(to: URL(fileURLWithPath: data + "/README"))
        #expect(symlink(dir.path("gone"), data + "/.hidden-link") == 0)
        let ok = try CLI.run(["run", "--db", db, "--session", "s", data])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(try Self.sessions(db) == ["s"])
    }

    /// A float32 safetensors file of `megabytes` MiB for one tensor `x`; returns its size.
    @discardableResult
    static func big(_ path: String, megabytes: Int) throws -> Int {
        let bytes = megabytes << 20
        let header = TensorFiles.safetensors(
            header: #"{"x":{"dtype":"F32","shape":["# + "\(bytes / 4)" + #"],"data_offsets":[0,"# + "\(bytes)" + "]}}",
            data: Data())
        // One MiB of 0, 1, …, 999 repeated: building the file value by value would take minutes in a debug build.
        let mib = TensorFiles.floats((0..<(1 << 18)).map { Float($0 % 1000) })
        #expect(FileManager.default.createFile(atPath: path, contents: header))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        for _ in 0..<megabytes { try handle.write(contentsOf: mib) }
        try handle.close()
        return header.count + bytes
    }

    /// Starts `calib run` on `input` into session `s` of `db`; returns the process and its stderr pipe.
    static func start(_ db: String, _ input: String) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = ["run", "--db", db, "--session", "s", input]
        var env = ProcessInfo.processInfo.environment
        env["CALIB_DB"] = nil
        process.environment = env
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        return (process, errors)
    }

    /// Waits until the run has `input` mapped (its session is only created with the first batch,
    /// so the process's mappings are what tells that reading has begun).
    static func waitUntilMapped(_ input: String, _ process: Process) {
        let deadline = Date().addingTimeInterval(60)
        let maps = "/proc/\(process.processIdentifier)/maps"
        while Date() < deadline && process.isRunning {
            if let text = try? String(contentsOfFile: maps, encoding: .utf8), text.contains(input) { return }
            usleep(1000)
        }
    }

    /// Finding 4: a file truncated while the run has it mapped used to kill calib with SIGBUS and
    /// no message. Now the run fails with exit 1, naming the file and what happened to it, and
    /// stores nothing from it.
    @Test func fileTruncatedDuringTheRunIsAnErrorNotACrash() throws {
        let dir = TemporaryDirectory()
        let input = dir.path("big.safetensors")
        let size = try Self.big(input, megabytes: 256)
        let db = dir.path("cal.sqlite")
        let (process, errors) = try Self.start(db, input)
        Self.waitUntilMapped(input, process)
        #expect(truncate(input, 4096) == 0)
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit, "killed by signal \(process.terminationStatus): \(stderr)")
        #expect(process.terminationStatus == 1, "\(stderr)")
        // Cut while it was read (the usual case), or, if the cut came first, refused as truncated.
        let whileRead =
            "calib: error: \(input): changed while it was read (it shrank from \(size) to 4096 bytes); nothing from it was stored"
        #expect(stderr.contains(whileRead) || stderr.contains("\(input): tensor 'x': data_offsets"), "\(stderr)")
        #expect(try Self.sessions(db).isEmpty)
    }

    /// Finding 5: a file overwritten in place while it is read used to be stored under the hash of
    /// one content with the statistics of another. The run now refuses it, naming the file.
    @Test func fileOverwrittenDuringTheRunIsRefused() throws {
        let dir = TemporaryDirectory()
        let input = dir.path("big.safetensors")
        let size = try Self.big(input, megabytes: 64)
        let db = dir.path("cal.sqlite")
        // Another process keeps rewriting the data in place (same size, header untouched).
        let handle = try #require(FileHandle(forWritingAtPath: input))
        nonisolated(unsafe) var writing = true
        let writer = Thread {
            var pass: UInt8 = 0
            while writing {
                pass &+= 1
                let chunk = Data(repeating: pass | 0x40, count: 1 << 20)
                for offset in stride(from: size - (48 << 20), to: size - (1 << 20), by: 1 << 20) where writing {
                    try? handle.seek(toOffset: UInt64(offset))
                    try? handle.write(contentsOf: chunk)
                }
            }
        }
        writer.start()
        defer {
            writing = false
            usleep(50_000)
            try? handle.close()
        }
        let (process, errors) = try Self.start(db, input)
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 1, "\(stderr)")
        #expect(
            stderr.contains(
                "calib: error: \(input): changed while it was read (it was written to); nothing from it was stored"),
            "\(stderr)")
        #expect(try Self.sessions(db).isEmpty)
    }

    /// A zip with one deflated member `big.npy` of junk data that declares `declared` bytes inflated
    /// (refused before the data is looked at, so it need not be real deflate).
    static func deflatedNpz(declared: UInt32, compressed: Int) -> Data {
        func le16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        let name = Array("big.npy".utf8)
        let data = [UInt8](repeating: 0x5A, count: compressed)
        var out = le32(0x0403_4b50) + le16(20) + le16(0) + le16(8) + le32(0) + le32(0)
        out += le32(UInt32(compressed)) + le32(declared) + le16(UInt16(name.count)) + le16(0) + name + data
        let central = out.count
        out += le32(0x0201_4b50) + le16(20) + le16(20) + le16(0) + le16(8) + le32(0) + le32(0)
        out += le32(UInt32(compressed)) + le32(declared) + le16(UInt16(name.count)) + le16(0) + le16(0)
        out += le16(0) + le16(0) + le32(0) + le32(0) + name
        let size = out.count - central
        out += le32(0x0605_4b50) + le16(0) + le16(0) + le16(1) + le16(1) + le32(UInt32(size)) + le32(UInt32(central)) + le16(0)
        return Data(out)
    }

    /// Finding 7a through the CLI: under a memory limit (here `ulimit -v` 3 GB, by prlimit), an npz
    /// member declaring 2.9 GB used to crash calib in malloc ("out of memory allocating"); it is now
    /// refused before anything is allocated, naming the file, the member and the limit.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit")))
    func npzBeyondTheMemoryLimitIsRefused() throws {
        let dir = TemporaryDirectory()
        let input = dir.path("bomb.npz")
        try Self.deflatedNpz(declared: 2_900_000_000, compressed: 2_900_000).write(to: URL(fileURLWithPath: input))
        let db = dir.path("cal.sqlite")
        let r = try CLI.run(
            ["--as=3000000000", CLI.executable.path, "run", "--db", db, "--session", "s", input],
            executable: URL(fileURLWithPath: "/usr/bin/prlimit"))
        #expect(r.status == 1, "\(r.stderr)")
        #expect(
            r.stderr.contains(
                "calib: error: \(input): tensor 'big': the archive's deflated members inflate to 2900000000 bytes in memory "
                    + "(this one to 2900000000), more than half of what the address-space limit (ulimit -v) leaves"),
            "\(r.stderr)")
        #expect(try Self.sessions(db).isEmpty)

        // A stdin frame beyond the limit is refused by its header, not read until malloc fails.
        // (Only the header is sent: calib stops reading there, and more would meet a closed pipe.)
        let frame = TensorFiles.safetensors(
            header: #"{"x":{"dtype":"F32","shape":[900000000],"data_offsets":[0,3600000000]}}"#, data: Data())
        let s = try CLI.run(
            ["--as=3000000000", CLI.executable.path, "run", "--db", db, "--session", "s", "-"], stdin: frame,
            executable: URL(fileURLWithPath: "/usr/bin/prlimit"))
        #expect(s.status == 1, "\(s.stderr)")
        #expect(
            s.stderr.contains(
                "stdin#0: frame of 3600000079 bytes is larger than the address-space limit (ulimit -v) (3000000000 bytes)"),
            "\(s.stderr)")
    }

    /// Finding 7b: per-channel statistics used to take channels x pieces accumulators, and the pages
    /// of a tensor cut along its channels stayed resident until the whole tensor was read: a 1 GiB
    /// `[262144, 2048]` weight peaked at 1.6 GB. This 256 MiB `[65536, 2048]` float16 weight (64
    /// pieces) peaked at about 330 MB before; now at the run's usual ~50 MB.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/time")))
    func perChannelMemoryDoesNotGrowWithPieces() throws {
        let dir = TemporaryDirectory()
        let input = dir.path("weight.safetensors")
        let (rows, columns) = (65536, 2048)
        let header = TensorFiles.safetensors(
            header: #"{"w":{"dtype":"F16","shape":["# + "\(rows),\(columns)" + #"],"data_offsets":[0,"# + "\(rows * columns * 2)"
                + "]}}",
            data: Data())
        var mib = Data(capacity: 1 << 20)
        for i in 0..<(1 << 19) {
            withUnsafeBytes(of: Float16(Float(i % 997) - 500).bitPattern.littleEndian) { mib.append(contentsOf: $0) }
        }
        #expect(FileManager.default.createFile(atPath: input, contents: header))
        let handle = try #require(FileHandle(forWritingAtPath: input))
        try handle.seekToEnd()
        for _ in 0..<((rows * columns * 2) >> 20) { try handle.write(contentsOf: mib) }
        try handle.close()

        let db = dir.path("cal.sqlite")
        let r = try CLI.run(
            ["-v", CLI.executable.path, "run", "--db", db, "--session", "w", "--role", "param", input],
            executable: URL(fileURLWithPath: "/usr/bin/time"))
        #expect(r.status == 0, "\(r.stderr)")
        let line = try #require(r.stderr.split(separator: "\n").first { $0.contains("Maximum resident set size (kbytes)") })
        let peak = try #require(Int(line.split(separator: " ").last ?? "")) * 1024
        #expect(peak < 150 << 20, "peak RSS \(peak >> 20) MiB")
        // Every row of 2048 consecutive values holds each of -500 ... 496.
        let show = try CLI.run(["show", "--db", db, "w", "--json"])
        let encodings = (show.json as? [String: Any])?["encodings"] as? [String: Any]
        let w = try #require(encodings?["w"] as? [String: Any])
        let lo = try #require(w["observed_min"] as? [Double]), hi = try #require(w["observed_max"] as? [Double])
        #expect(lo.count == rows && hi.count == rows)
        #expect(lo.allSatisfy { $0 == -500 } && hi.allSatisfy { $0 == 496 })
    }

    /// Sibling of 7b: `[130000000]` per channel, once it no longer aborts allocating 64 GB, ran for
    /// minutes and then failed in SQLite ("string or blob too big") without naming the tensor. It is
    /// refused before anything is observed, naming the file, tensor and what to do instead.
    @Test func moreChannelsThanTheStoreHoldsAreRefusedUpFront() throws {
        let dir = TemporaryDirectory()
        let input = dir.path("wide.safetensors")
        let count = 130_000_000
        let header = TensorFiles.safetensors(
            header: #"{"x":{"dtype":"U8","shape":["# + "\(count)" + #"],"data_offsets":[0,"# + "\(count)" + "]}}", data: Data())
        #expect(FileManager.default.createFile(atPath: input, contents: header))
        #expect(truncate(input, off_t(header.count + count)) == 0)  // sparse: zeros, no disk
        let db = dir.path("cal.sqlite")
        let r = try CLI.run(["run", "--db", db, "--session", "s", "--per-channel-axis", "0", input])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(
            r.stderr.contains(
                "calib: error: \(input): tensor 'x': per-channel axis 0 has 130000000 channels (shape [130000000]), more than the "
                    + "125000000 a tensor's per-channel arrays can hold"), "\(r.stderr)")
        #expect(try Self.sessions(db).isEmpty)
        // Per tensor it is an ordinary batch.
        #expect(try CLI.run(["run", "--db", db, "--session", "s", input]).status == 0)
    }
}
