import CalibTestSupport
import Foundation
import Testing

@testable import CalibKit
@testable import CalibStore
@testable import CalibSupport

/// Issue 13, findings 8 and 11: a run fed from stdin by a producer that idles commits on a timer;
/// SIGINT/SIGTERM/SIGHUP commit what was observed and mark the session `interrupted`; a run killed
/// outright reads as interrupted (its writer is gone), never as still running; a run that stored
/// nothing leaves no session.
@Suite(.serialized) struct SignalTests {
    /// A `calib run --session s -` reading from a pipe this test writes, with `env` added.
    final class StdinRun {
        let process = Process()
        let feed = Pipe()
        let err: String
        let db: String

        init(_ dir: TemporaryDirectory, db: String, tag: String, env: [String: String] = [:]) throws {
            self.db = db
            err = dir.path("\(tag).err")
            _ = FileManager.default.createFile(atPath: err, contents: nil)
            process.executableURL = CLI.executable
            process.arguments = ["run", "--db", db, "--session", "s", "-"]
            var environment = ProcessInfo.processInfo.environment
            environment["CALIB_DB"] = nil
            for (k, v) in env { environment[k] = v }
            process.environment = environment
            process.standardInput = feed
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle(forWritingAtPath: err)
            try process.run()
        }

        func send(_ file: String) throws {
            try feed.fileHandleForWriting.write(contentsOf: Data(contentsOf: URL(fileURLWithPath: file)))
        }

        var stderr: String { (try? String(contentsOfFile: err, encoding: .utf8)) ?? "" }
    }

    static func files(_ dir: TemporaryDirectory, count: Int) throws -> [String] {
        let root = try ReliabilityTests.makeBatches(in: dir, count: count, tensors: 2)
        return try FileManager.default.contentsOfDirectory(atPath: root).sorted().map { root + "/" + $0 }
    }

    /// The session's status and batch count as `calib sessions --json` reports them (another process).
    static func sessions(_ db: String) throws -> [[String: Any]] {
        let r = try CLI.run(["sessions", "--db", db, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        return try #require(r.json as? [[String: Any]])
    }

    /// Waits until `condition` holds, at most `seconds`.
    static func eventually(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let end = Date(timeIntervalSinceNow: seconds)
        while Date() < end {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return try condition()
    }

    /// Finding 8: frames read from an idle producer are committed within the commit interval, while
    /// the run still waits for more; readers see them.
    @Test func idleProducersFramesAreCommittedOnATimer() throws {
        let dir = TemporaryDirectory()
        let files = try Self.files(dir, count: 3)
        let db = dir.path("idle.sqlite")
        let run = try StdinRun(dir, db: db, tag: "idle", env: ["CALIB_COMMIT_INTERVAL": "1"])
        for f in files { try run.send(f) }
        let committed = try Self.eventually(20) {
            guard FileManager.default.fileExists(atPath: db) else { return false }
            return try Self.sessions(db).first?["batches"] as? Int == 3
        }
        #expect(committed, "the idle run committed its 3 batches")
        #expect(run.process.isRunning, "the run was still waiting for frames")
        let status = try Self.sessions(db).first
        #expect(status?["status"] as? String == "running" && status?["writer_pid"] as? Int == Int(run.process.processIdentifier))
        try run.feed.fileHandleForWriting.close()
        run.process.waitUntilExit()
        #expect(run.process.terminationStatus == 0, "\(run.stderr)")
        #expect(try Self.sessions(db).first?["status"] as? String == "ready")
    }

    /// Finding 8/11: SIGINT, SIGTERM and SIGHUP commit what was observed, mark the session
    /// interrupted, say so and exit 128 + signal; the same command resumes to the full result.
    @Test(arguments: [SIGINT, SIGTERM, SIGHUP])
    func signalsCommitWhatWasObservedAndMarkTheSessionInterrupted(_ sig: Int32) throws {
        let dir = TemporaryDirectory()
        let files = try Self.files(dir, count: 4)
        let db = dir.path("sig.sqlite")
        // A long interval: nothing is committed before the signal except by the signal itself.
        let run = try StdinRun(dir, db: db, tag: "sig", env: ["CALIB_COMMIT_INTERVAL": "600"])
        for f in files.prefix(3) { try run.send(f) }
        // The batches are observed (not yet committed) once the run has read them all; give it time.
        Thread.sleep(forTimeInterval: 1.5)
        kill(run.process.processIdentifier, sig)
        run.process.waitUntilExit()
        #expect(run.process.terminationReason == .exit, "ended by the signal itself: \(run.stderr)")
        #expect(run.process.terminationStatus == 128 + sig, "\(run.stderr)")
        #expect(
            run.stderr.contains("interrupted by \(StopRequest.name(sig))") && run.stderr.contains("keeps its 3 batches")
                && run.stderr.contains("re-run the same command"), "\(run.stderr)")
        let s = try #require(try Self.sessions(db).first)
        #expect(s["status"] as? String == "interrupted" && s["batches"] as? Int == 3, "\(s)")
        #expect(try CLI.run(["check", "--db", db]).status == 0)
        // Resuming with every file skips the three stored batches and adds the fourth.
        let resumed = try CLI.run(["run", "--db", db, "--session", "s"] + files)
        #expect(resumed.status == 0 && resumed.stdout.contains("1 batch added"), "\(resumed.stdout)\(resumed.stderr)")
        #expect(try Self.sessions(db).first?["status"] as? String == "ready")
    }

    /// Finding 11: a run killed outright cannot mark its session; readers see its writer is gone and
    /// report the session interrupted (the table says why), and the next run resumes it.
    @Test func aSessionWhoseWriterWasKilledReadsInterrupted() throws {
        let dir = TemporaryDirectory()
        let files = try Self.files(dir, count: 3)
        let db = dir.path("kill.sqlite")
        let run = try StdinRun(dir, db: db, tag: "kill", env: ["CALIB_COMMIT_INTERVAL": "0.5"])
        for f in files.prefix(2) { try run.send(f) }
        let two = try Self.eventually(20) {
            guard FileManager.default.fileExists(atPath: db) else { return false }
            return try Self.sessions(db).first?["batches"] as? Int == 2
        }
        #expect(two)
        #expect(try Self.sessions(db).first?["writer_gone"] as? Bool == false)
        kill(run.process.processIdentifier, SIGKILL)
        run.process.waitUntilExit()
        let s = try #require(try Self.sessions(db).first)
        #expect(s["status"] as? String == "interrupted" && s["writer_gone"] as? Bool == true, "\(s)")
        let table = try CLI.run(["sessions", "--db", db])
        #expect(table.stdout.contains("interrupted (writer gone)"), "\(table.stdout)")
        let show = try CLI.run(["show", "--db", db, "s"])
        #expect(show.stdout.contains("interrupted (writer gone), 2 batches"), "\(show.stdout)")
        #expect(try CLI.run(["check", "--db", db]).status == 0)
        let resumed = try CLI.run(["run", "--db", db, "--session", "s"] + files)
        #expect(resumed.status == 0 && resumed.stdout.contains("1 batch added"), "\(resumed.stdout)\(resumed.stderr)")
        let after = try #require(try Self.sessions(db).first)
        #expect(after["status"] as? String == "ready" && after["writer_gone"] as? Bool == false, "\(after)")
    }

    /// Finding 11: a signal before any batch was stored leaves no session (it is created with its
    /// first batch), and says so.
    @Test func aSignalBeforeTheFirstBatchLeavesNoSession() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("none.sqlite")
        let run = try StdinRun(dir, db: db, tag: "none")
        #expect(try Self.eventually(20) { FileManager.default.fileExists(atPath: db) })
        Thread.sleep(forTimeInterval: 0.5)
        kill(run.process.processIdentifier, SIGINT)
        run.process.waitUntilExit()
        #expect(run.process.terminationStatus == 130, "\(run.stderr)")
        #expect(run.stderr.contains("nothing was stored and session 's' was not created"), "\(run.stderr)")
        #expect(try Self.sessions(db).isEmpty)
    }

    /// The identity a run records names a live process until it ends, and not after.
    @Test func processIdentityTellsALiveProcessFromAnEndedOne() throws {
        #expect(!ProcessIdentity.current.isGone)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sleep")
        p.arguments = ["30"]
        try p.run()
        let ticks = try #require(ProcessIdentity.startTicks(of: p.processIdentifier))
        var other = ProcessIdentity.current
        other.pid = p.processIdentifier
        other.startTicks = ticks
        #expect(!other.isGone)
        var reused = other
        reused.startTicks = ticks + 1  // the same pid, another process
        #expect(reused.isGone)
        kill(p.processIdentifier, SIGKILL)  // a test thread's blocked SIGTERM would be inherited
        p.waitUntilExit()
        #expect(other.isGone)
        var elsewhere = other
        elsewhere.host = "another-host"
        #expect(!elsewhere.isGone, "another host's process cannot be told ended")
    }
}
