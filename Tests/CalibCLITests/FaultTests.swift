import CalibTestSupport
import Foundation
import Testing

@testable import CalibKit
@testable import CalibStore

/// Faults of the environment a `calib run` meets (issue 13, findings 8, 11, 18, 20, 21): processes
/// started together, bad database paths, signals and kills, idle producers.
@Suite(.serialized) struct FaultTests {
    static let batches = Fixtures.path("golden/cases/aimet_multibatch_asym_unsigned_8/batches")

    /// Starts `calib` with `arguments` without waiting; stdout and stderr go to files in `dir`.
    static func start(
        _ arguments: [String], in dir: TemporaryDirectory, tag: String, stdin: Any? = nil
    ) throws -> (
        Process, out: String, err: String
    ) {
        let p = Process()
        p.executableURL = CLI.executable
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["CALIB_DB"] = nil
        p.environment = env
        let out = dir.path("\(tag).out"), err = dir.path("\(tag).err")
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: out)
        p.standardError = FileHandle(forWritingAtPath: err)
        p.standardInput = stdin ?? FileHandle.nullDevice
        try p.run()
        return (p, out, err)
    }

    static func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// Finding 18: N `calib run` creating one new database at once. GRDB's migrator read what was
    /// applied before taking the lock, so several processes ran `0001` and all but one failed with
    /// `table sessions already exists` (or `duplicate column name` for a later migration), printing
    /// the migration's SQL. Now every process succeeds, and the database checks clean.
    @Test func processesCreatingOneDatabaseTogetherAllSucceed() throws {
        let dir = TemporaryDirectory()
        for round in 0..<4 {
            let db = dir.path("fresh\(round).sqlite")
            let procs = try (0..<8).map { i in
                try Self.start(["run", "--db", db, "--session", "s\(i)", Self.batches], in: dir, tag: "r\(round)-\(i)")
            }
            for (p, _, _) in procs { p.waitUntilExit() }
            for (i, (p, _, err)) in procs.enumerated() {
                #expect(p.terminationStatus == 0, "round \(round), process \(i): \(Self.text(err))")
            }
            let check = try CLI.run(["check", "--db", db])
            #expect(check.status == 0 && check.stdout.contains("8 sessions, 24 batches"), "\(check.stdout)\(check.stderr)")
        }
    }
}
