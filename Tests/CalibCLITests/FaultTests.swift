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

/// Finding 20: every error names the file and says what to do; no raw SQLite statement, no
/// `NSCocoaErrorDomain Code=512 "(null)"`.
@Suite(.serialized) struct ErrorMessageTests {
    static let batches = FaultTests.batches

    /// `calib ARGS` fails with exit 1 and a message that holds every one of `needles`, and neither the
    /// SQL that failed nor Foundation's error domains.
    static func expectError(_ args: [String], _ needles: String..., sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try CLI.run(args)
        #expect(r.status == 1, "\(args): exit \(r.status)", sourceLocation: sourceLocation)
        for n in needles { #expect(r.stderr.contains(n), "\(args): \(r.stderr)", sourceLocation: sourceLocation) }
        for bad in ["while executing", "NSCocoaErrorDomain", "Error Domain", "CREATE TABLE", "(null)"] {
            #expect(!r.stderr.contains(bad), "\(args): \(r.stderr)", sourceLocation: sourceLocation)
        }
    }

    @Test func databasePathsThatAreNotDatabases() throws {
        let dir = TemporaryDirectory()
        let folder = dir.path("folder.sqlite")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let text = dir.path("notes.sqlite")
        try Data("not a database, just text\n".utf8).write(to: URL(fileURLWithPath: text))
        for args in [["run", "--db", folder, "--session", "a", Self.batches], ["sessions", "--db", folder]] {
            try Self.expectError(args, folder, "is a directory, not a database file", "pass --db a file path")
        }
        for args in [
            ["run", "--db", text, "--session", "a", Self.batches], ["show", "--db", text, "a"], ["check", "--db", text],
            ["sessions", "--db", text],
        ] {
            try Self.expectError(args, text, "is not a calib database", "move this file away")
        }
        #expect(try String(contentsOfFile: text, encoding: .utf8) == "not a database, just text\n", "left as it was")
        let missing = dir.path("no/such/dir/cal.sqlite")
        try Self.expectError(["run", "--db", missing, "--session", "a", Self.batches], missing, "does not exist: create it")
        let underFile = text + "/cal.sqlite"
        try Self.expectError(["run", "--db", underFile, "--session", "a", Self.batches], underFile, "is not a directory")
    }

    /// A database damaged after it was written: commands name it and `check` reports the damage as
    /// a finding (exit 1) instead of failing with an error that tells the user to run `check`.
    @Test func damagedDatabase() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("damaged.sqlite")
        #expect(try CLI.run(["run", "--db", db, "--session", "a", Self.batches]).status == 0)
        // Checkpoint everything into the main file, then overwrite the statistics table's root page.
        let store = try CalibStore(path: db)
        let root = try store.writer.writeWithoutTransaction { db -> Int in
            try db.checkpoint(.truncate)
            return try Int.fetchOne(db, sql: "SELECT rootpage FROM sqlite_master WHERE name = 'statistics'")!
        }
        let pageSize = try store.writer.read { db in try Int.fetchOne(db, sql: "PRAGMA page_size")! }
        _ = store
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: db))
        try handle.seek(toOffset: UInt64((root - 1) * pageSize))
        try handle.write(contentsOf: Data(repeating: 0xFF, count: 64))
        try handle.close()
        try Self.expectError(["show", "--db", db, "a"], db, "the database is damaged", "Restore a backup")
        try Self.expectError(["export", "--db", db, "a"], db, "the database is damaged")
        let check = try CLI.run(["check", "--db", db])
        #expect(
            check.status == 1 && check.stdout.contains("problem: integrity: the database is damaged"),
            "\(check.stdout)\(check.stderr)")
        #expect(!check.stderr.contains("calib check"), "check does not tell the user to run check: \(check.stderr)")
    }

    @Test func exportAndConfigFileErrors() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("cal.sqlite")
        #expect(try CLI.run(["run", "--db", db, "--session", "a", Self.batches]).status == 0)
        let file = dir.path("plain.txt")
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        // onnxruntime writes a directory: under a file, and onto a file.
        try Self.expectError(
            ["export", "--db", db, "a", "--format", "onnxruntime", "-o", file + "/ort"], file + "/ort", "Not a directory",
            "choose another output path")
        try Self.expectError(
            ["export", "--db", db, "a", "--format", "onnxruntime", "-o", file], file, "it exists and is not a directory",
            "pass -o a directory")
        for format in ["csv", "aimet", "tensorrt", "json"] {
            let out = dir.path("missing/out.\(format)")
            try Self.expectError(["export", "--db", db, "a", "--format", format, "-o", out], out, "does not exist: create it")
        }
        try Self.expectError(
            ["run", "--db", db, "--session", "b", "--config", dir.url.path, Self.batches], dir.url.path, "Is a directory")
        if getuid() != 0 {  // root writes anywhere
            let locked = dir.path("locked")
            try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: true)
            chmod(locked, 0o555)
            defer { chmod(locked, 0o755) }
            for format in ["csv", "onnxruntime"] {
                try Self.expectError(
                    ["export", "--db", db, "a", "--format", format, "-o", locked + "/out"], locked + "/out", "no permission")
            }
        }
    }
}
