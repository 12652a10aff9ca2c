import CalibTestSupport
import Foundation
import Testing

@testable import CalibKit
@testable import CalibStore
@testable import CalibSupport

/// Crash safety and concurrency, with real `calib` processes.
@Suite(.serialized) struct ReliabilityTests {
    /// `count` batch files of `tensors` float32 tensors [64, 256] with values from a fixed generator.
    static func makeBatches(in dir: TemporaryDirectory, count: Int = 40, tensors: Int = 8) throws -> String {
        let root = dir.path("batches")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 2_000_000) / 100_000 - 10
        }
        for b in 0..<count {
            let ts = (0..<tensors).map { t in ("layer\(t).out", [64, 256], (0..<64 * 256).map { _ in next() * Float(t + 1) }) }
            try TensorFiles.safetensors(ts).write(to: URL(fileURLWithPath: root + String(format: "/%03d.safetensors", b)))
        }
        return root
    }

    static let runFlags = ["--observer", "ema", "--per-channel-axis", "1"]

    static func export(_ db: String) throws -> String {
        let r = try CLI.run(["export", "--db", db, "s"])
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout
    }

    /// Kill -9 at points spread over a run, resume with the same command, and compare with a run that
    /// was never interrupted: no batch lost, none counted twice (EMA is order- and count-sensitive).
    @Test func killedRunsResumeToTheSameResult() throws {
        let dir = TemporaryDirectory()
        let batches = try Self.makeBatches(in: dir, count: 60)
        let reference = dir.path("reference.sqlite")
        let start = Date()
        #expect(try CLI.run(["run", "--db", reference, "--session", "s"] + Self.runFlags + [batches]).status == 0)
        let duration = Date().timeIntervalSince(start)
        let expected = try Self.export(reference)

        let points = 24
        var killed = 0
        var runTime = duration
        for i in 1...points {
            let db = dir.path("killed-\(i).sqlite")
            // Spread over the run. A run that finished before its kill (a busy machine measured the
            // reference slowly) shortens the estimate, and that point is tried again on a fresh database.
            for attempt in 0..<4 {
                try? FileManager.default.removeItem(atPath: db)
                let process = Process()
                process.executableURL = CLI.executable
                process.arguments = ["run", "--db", db, "--session", "s"] + Self.runFlags + [batches]
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
                let started = Date()
                try process.run()
                Thread.sleep(forTimeInterval: runTime * Double(i) / Double(points + 1))
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                if process.terminationReason == .uncaughtSignal {
                    killed += 1
                    break
                }
                runTime = min(runTime, Date().timeIntervalSince(started)) * 0.8
                if attempt == 3 { break }
            }
            let check = try CLI.run(["check", "--db", db])
            #expect(
                check.status == 0 || check.stderr.contains("no calibration database"),
                "after kill \(i): \(check.stdout)\(check.stderr)")
            let resumed = try CLI.run(["run", "--db", db, "--session", "s"] + Self.runFlags + [batches])
            #expect(resumed.status == 0, "\(resumed.stderr)")
            #expect(try Self.export(db) == expected, "kill point \(i) of \(points)")
            let store = try CalibStore(path: db, readOnly: true)
            #expect(try store.batches(session: store.requireSession("s").id).count == 60)
        }
        #expect(killed >= 20, "only \(killed) of \(points) kills landed during the run (run took \(duration) s)")
        print("kill points survived: \(killed) killed mid-run of \(points), all resumed to the uninterrupted result")
    }

    /// Finding 21: kills in the first milliseconds of a run on a new database (opening it, creating
    /// the schema, the first commit) leave a database that `check` accepts and the next run completes:
    /// the schema is one transaction and the session is created with its first batch.
    @Test func earlyKillsLeaveACheckableDatabase() throws {
        let dir = TemporaryDirectory()
        let batches = try Self.makeBatches(in: dir, count: 4, tensors: 2)
        var states = Set<String>()
        for i in 0..<30 {
            let db = dir.path("early-\(i).sqlite")
            let process = Process()
            process.executableURL = CLI.executable
            process.arguments = ["run", "--db", db, "--session", "s", batches]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(UInt32(i * 2_000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let check = try CLI.run(["check", "--db", db])
            #expect(
                check.status == 0 || check.stderr.contains("no calibration database"),
                "kill after \(i * 2) ms: \(check.stdout)\(check.stderr)")
            let sessions = try CLI.run(["sessions", "--db", db, "--json"])
            states.insert(
                sessions.status == 0
                    ? "sessions: \((sessions.json as? [[String: Any]])?.first?["status"] as? String ?? "none")"
                    : sessions.stderr.contains("holds no calibration data") ? "no schema" : "no file")
            let resumed = try CLI.run(["run", "--db", db, "--session", "s", batches])
            #expect(resumed.status == 0, "\(resumed.stderr)")
            #expect(
                try CalibStore(path: db, readOnly: true).batches(
                    session: CalibStore(path: db, readOnly: true).requireSession("s").id
                ).count == 4)
        }
        print("early kills left: \(states.sorted())")
    }

    /// Readers in other processes during a run see whole batches only; a second writer to another
    /// session waits its turn; a second writer to the same session is refused; nothing corrupts.
    @Test func concurrentReadersAndWriters() throws {
        let dir = TemporaryDirectory()
        let batches = try Self.makeBatches(in: dir, count: 80)
        let files = try FileManager.default.contentsOfDirectory(atPath: batches).sorted().map { batches + "/" + $0 }
        let db = dir.path("shared.sqlite")
        #expect(try CLI.run(["run", "--db", db, "--session", "s"] + Self.runFlags + [files[0]]).status == 0)

        // The writer reads its batches from a pipe that this test fills one batch at a time, reading
        // the session between batches: the reads overlap the run however fast the machine is.
        let writer = Process()
        writer.executableURL = CLI.executable
        writer.arguments = ["run", "--db", db, "--session", "s"] + Self.runFlags + ["-"]
        let feed = Pipe()
        writer.standardInput = feed
        writer.standardOutput = FileHandle.nullDevice
        writer.standardError = FileHandle.nullDevice
        try writer.run()
        let other = Process()
        other.executableURL = CLI.executable
        other.arguments = ["run", "--db", db, "--session", "other", batches]
        other.standardOutput = FileHandle.nullDevice
        other.standardError = FileHandle.nullDevice
        try other.run()

        var reads = 0, lastBatches = 0
        var readsDuringRun = 0
        var toFeed = files[...]
        while writer.isRunning || reads < 5 {
            if let next = toFeed.popFirst() {
                try feed.fileHandleForWriting.write(contentsOf: Data(contentsOf: URL(fileURLWithPath: next)))
                if toFeed.isEmpty { try feed.fileHandleForWriting.close() }
            }
            if writer.isRunning { readsDuringRun += 1 }
            let show = try CLI.run(["show", "--db", db, "s", "--json"])
            #expect(show.status == 0, "\(show.stderr)")
            let encodings = try #require((show.json as? [String: Any])?["encodings"] as? [String: [String: Any]])
            let counts = Set(encodings.values.map { $0["batches"] as! Int })
            #expect(counts.count == 1, "every tensor has seen the same whole batches: \(counts)")
            let n = counts.first ?? 0
            #expect(n >= lastBatches, "a reader never sees the count go back")
            lastBatches = n
            reads += 1
        }
        writer.waitUntilExit()
        other.waitUntilExit()
        #expect(writer.terminationStatus == 0)
        #expect(other.terminationStatus == 0, "the second writer waited for the lock instead of failing")
        #expect(readsDuringRun >= files.count, "reads overlapped the run")
        #expect(lastBatches == files.count, "the reads saw the run grow to every batch")

        // The same command again, twice at once into one session: one adds nothing, neither corrupts.
        let check = try CLI.run(["check", "--db", db])
        #expect(check.status == 0, "\(check.stdout)")
        let reference = dir.path("reference.sqlite")
        #expect(try CLI.run(["run", "--db", reference, "--session", "s"] + Self.runFlags + files).status == 0)
        #expect(try Self.export(db) == Self.export(reference))
        print(
            "concurrent read/write: \(readsDuringRun) reads during the run (\(reads) in all), all consistent; second writer waited and succeeded"
        )
    }

    @Test func sameSessionTwoWritersNeverDoubleCount() throws {
        let dir = TemporaryDirectory()
        let batches = try Self.makeBatches(in: dir, count: 30)
        let db = dir.path("race.sqlite")
        let procs = (0..<2).map { _ in
            let p = Process()
            p.executableURL = CLI.executable
            p.arguments = ["run", "--db", db, "--session", "s"] + Self.runFlags + [batches]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            return p
        }
        for p in procs { try p.run() }
        for p in procs { p.waitUntilExit() }
        // One may have been refused ("another process added batches"); re-running completes the session.
        #expect(try CLI.run(["run", "--db", db, "--session", "s"] + Self.runFlags + [batches]).status == 0)
        let reference = dir.path("reference.sqlite")
        #expect(try CLI.run(["run", "--db", reference, "--session", "s"] + Self.runFlags + [batches]).status == 0)
        #expect(try Self.export(db) == Self.export(reference))
        #expect(try CLI.run(["check", "--db", db]).status == 0)
    }

    @Test func nonFiniteErrorPolicyRejectsTheBatch() throws {
        let dir = TemporaryDirectory()
        let good = dir.path("a.safetensors"), bad = dir.path("b.safetensors")
        try TensorFiles.safetensors([("x", [3], [1, 2, 3])]).write(to: URL(fileURLWithPath: good))
        try TensorFiles.safetensors([("x", [3], [1, .infinity, 3])]).write(to: URL(fileURLWithPath: bad))
        let db = dir.path("nf.sqlite")
        let r = try CLI.run(["run", "--db", db, "--session", "s", "--nonfinite", "error", good, bad])
        #expect(r.status != 0)
        #expect(r.stderr.contains(bad) && r.stderr.contains("tensor 'x'") && r.stderr.contains("1 NaN/Inf"), "\(r.stderr)")
        let store = try CalibStore(path: db, readOnly: true)
        #expect(try store.batches(session: store.requireSession("s").id).map(\.source) == [good])
    }

    @Test func checkFindsInconsistencies() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("c.sqlite")
        let batches = Fixtures.path("golden/cases/aimet_multibatch_asym_unsigned_8/batches")
        #expect(try CLI.run(["run", "--db", db, "--session", "s", batches]).status == 0)
        let ok = try CLI.run(["check", "--db", db])
        #expect(ok.status == 0 && ok.stdout.contains(": ok (1 sessions, 3 batches"), "\(ok.stdout)")
        let store = try CalibStore(path: db)
        try store.writer.write { db in
            try db.execute(sql: "UPDATE statistics SET batches = batches + 1 WHERE tensor_id = (SELECT min(id) FROM tensors)")
            try db.execute(sql: "DELETE FROM encodings WHERE tensor_id = (SELECT max(id) FROM tensors)")
        }
        let bad = try CLI.run(["check", "--db", db])
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("statistics count 7 tensor-batches but the batches hold 6"), "\(bad.stdout)")
        #expect(bad.stdout.contains("tensor 'layer2.relu' has no encoding"), "\(bad.stdout)")
    }
}
