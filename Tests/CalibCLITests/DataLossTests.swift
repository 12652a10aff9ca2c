import CalibTestSupport
import Foundation
import GRDB
import Testing

@testable import CalibKit
@testable import CalibStore
@testable import CalibSupport

/// The two findings of issue 13 that lost a whole store or a reported run, through the CLI.
@Suite(.serialized) struct DataLossTests {
    static let batches = Fixtures.path("golden/cases/aimet_multibatch_asym_unsigned_8/batches")

    static func sessionNames(_ db: String) throws -> [String] {
        try CalibStore(path: db, readOnly: true).sessions().map(\.session.name)
    }

    /// Finding 1: `export -o` naming the database (or its -wal/-shm, a symlink to it, or the default
    /// database by its relative name) is refused, and the database stays as it was.
    @Test func exportNeverOverwritesTheDatabase() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("cal.sqlite")
        #expect(try CLI.run(["run", "--db", db, "--session", "a", Self.batches]).status == 0)
        let before = try CLI.run(["export", "--db", db, "a"]).stdout
        try FileManager.default.createSymbolicLink(atPath: dir.path("link.json"), withDestinationPath: db)
        try FileManager.default.linkItem(atPath: db, toPath: dir.path("hardlink.json"))
        for (format, output) in [
            ("json", db), ("aimet", db), ("csv", dir.path("./cal.sqlite")), ("json", dir.path("link.json")),
            ("tensorrt", dir.path("hardlink.json")),
        ] {
            let r = try CLI.run(["export", "--db", db, "a", "--format", format, "-o", output])
            #expect(r.status == 1, "\(format) -o \(output): \(r.stderr)")
            #expect(r.stderr.contains("is the calibration database"), "\(r.stderr)")
        }
        #expect(try CLI.run(["export", "--db", db, "a"]).stdout == before && before.contains("layer2.relu"))
        #expect(try Self.sessionNames(db) == ["a"])

        // The default database, named relative to the working directory.
        #expect(try CLI.run(["run", "--session", "d", Self.batches], directory: dir.url.path).status == 0)
        let r = try CLI.run(["export", "d", "-o", "calibration.sqlite"], directory: dir.url.path)
        #expect(r.status == 1 && r.stderr.contains("calibration.sqlite is the calibration database"), "\(r.stderr)")
        #expect(try Self.sessionNames(dir.path("calibration.sqlite")) == ["d"])

        // A directory export whose member would be the database.
        let inDir = dir.path("ort")
        try FileManager.default.createDirectory(atPath: inDir, withIntermediateDirectories: true)
        let memberDB = inDir + "/calibration.cache"
        #expect(try CLI.run(["run", "--db", memberDB, "--session", "o", Self.batches]).status == 0)
        let ort = try CLI.run(["export", "--db", memberDB, "o", "--format", "onnxruntime", "-o", inDir])
        #expect(ort.status == 1 && ort.stderr.contains("is the calibration database"), "\(ort.stderr)")
        #expect(try Self.sessionNames(memberDB) == ["o"])
        // The -wal of a database in use (a reader holds it open here) is refused too.
        let holder = try CalibStore(path: db)
        let wal = try CLI.run(["export", "--db", db, "a", "-o", db + "-wal"])
        #expect(wal.status == 1 && wal.stderr.contains("is the calibration database"), "\(wal.stderr)")
        _ = holder
    }

    /// Finding 2: the -wal and -shm deleted while a run writes. A second process is refused instead
    /// of working on a copy of its own, the run reports failure at its next commit, and what it had
    /// committed survives.
    @Test func deletedWALIsDetectedNotReportedAsSuccess() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("wal.sqlite")
        let frames = try FileManager.default.contentsOfDirectory(atPath: Self.batches).sorted().map {
            try Data(contentsOf: URL(fileURLWithPath: Self.batches + "/" + $0))
        }
        let writer = Process()
        writer.executableURL = CLI.executable
        writer.arguments = ["run", "--db", db, "--session", "first", "-"]
        let feed = Pipe(), errors = Pipe()
        writer.standardInput = feed
        writer.standardOutput = FileHandle.nullDevice
        writer.standardError = errors
        try writer.run()
        try feed.fileHandleForWriting.write(contentsOf: frames[0])
        // The first batch commits at once (no earlier commit to amortise).
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let s = try? CalibStore(path: db, readOnly: true).requireSession("first"),
                (try? CalibStore(path: db, readOnly: true).batchCount(session: s.id)) == 1
            {
                break
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        try FileManager.default.removeItem(atPath: db + "-wal")
        try FileManager.default.removeItem(atPath: db + "-shm")

        // Another writer and a reader are refused while the first run holds the deleted files.
        let second = try CLI.run(["run", "--db", db, "--session", "second", Self.batches])
        #expect(second.status == 1, "\(second.stdout)")
        #expect(second.stderr.contains("were deleted under it"), "\(second.stderr)")
        let show = try CLI.run(["show", "--db", db, "first"])
        #expect(show.status == 1 && show.stderr.contains("were deleted under it"), "\(show.stderr)")

        // The run's next commit finds its files gone and fails loudly.
        try feed.fileHandleForWriting.write(contentsOf: frames[1])
        try feed.fileHandleForWriting.close()
        writer.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(writer.terminationStatus == 1)
        #expect(stderr.contains("wal.sqlite-wal was deleted while calib had"), "\(stderr)")

        // Nothing reported as committed was lost, and the database is consistent.
        let store = try CalibStore(path: db, readOnly: true)
        #expect(try store.batchCount(session: store.requireSession("first").id) >= 1)
        #expect(try store.session(named: "second") == nil)
        let check = try CLI.run(["check", "--db", db])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        // And the database works as before once the run has gone.
        #expect(try CLI.run(["run", "--db", db, "--session", "second", Self.batches]).status == 0)
    }
}

/// Finding 19: read commands work on a database that cannot be written (a directory of another
/// user here; read-only media behave the same), and say how they opened it.
@Suite struct ReadOnlyDatabaseTests {
    @Test func readCommandsOpenAReadOnlyDatabase() throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
            print("skipped: needs root and setpriv to run calib as another user")
            return
        }
        let dir = "/tmp/calib-ro-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let db = dir + "/ro.sqlite"
        #expect(try CLI.run(["run", "--db", db, "--session", "s", DataLossTests.batches]).status == 0)
        chmod(dir, 0o755)
        chmod(db, 0o644)
        let asNobody = ["--reuid=nobody", "--regid=nogroup", "--clear-groups", CLI.executable.path]
        let show = try CLI.run(asNobody + ["show", "--db", db, "s"], executable: URL(fileURLWithPath: "/usr/bin/setpriv"))
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.hasPrefix("session s  ready, 3 batches"), "\(show.stdout)")
        #expect(show.stderr.contains("opened read-only as an immutable file"), "\(show.stderr)")
        let check = try CLI.run(asNobody + ["check", "--db", db], executable: URL(fileURLWithPath: "/usr/bin/setpriv"))
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        // Writing is refused with SQLite's reason and the database named.
        let run = try CLI.run(
            asNobody + ["run", "--db", db, "--session", "t", DataLossTests.batches],
            executable: URL(fileURLWithPath: "/usr/bin/setpriv"))
        #expect(run.status == 1 && run.stderr.contains(db), "\(run.stderr)")
    }
}

/// Finding 21: a writer killed with committed batches still in its WAL leaves a database that read
/// commands must open (SQLite recovers the WAL on first use, which a read-only connection cannot).
@Suite struct CrashLeftoverTests {
    @Test func readCommandsRecoverAWALLeftByAKilledWriter() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("live.sqlite")
        #expect(try CLI.run(["run", "--db", db, "--session", "s", DataLossTests.batches]).status == 0)
        // A connection kept open keeps the last commits in the WAL; copying the files without the
        // -shm is what a killed writer leaves behind for the next process.
        let live = try CalibStore(path: db)
        try live.writer.write { db in try db.execute(sql: "UPDATE sessions SET notes = 'in the wal'") }
        let copy = dir.path("crashed.sqlite")
        try FileManager.default.copyItem(atPath: db, toPath: copy)
        try FileManager.default.copyItem(atPath: db + "-wal", toPath: copy + "-wal")
        _ = live
        let check = try CLI.run(["check", "--db", copy])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        let show = try CLI.run(["sessions", "--db", copy, "--json"])
        #expect(show.status == 0, "\(show.stderr)")
        #expect((show.json as? [[String: Any]])?.first?["notes"] as? String == "in the wal", "\(show.stdout)")
    }
}

/// Finding 21 sibling: a run killed while creating a new database leaves a file without calib's
/// schema (empty, or SQLite's header only). Read commands say what it is and what to do, instead of
/// "session '-': older schema"; `check` accepts it; the next run sets it up.
@Suite struct SchemaLessDatabaseTests {
    @Test func aDatabaseKilledBeforeItsSchemaIsExplained() throws {
        let dir = TemporaryDirectory()
        let empty = dir.path("empty.sqlite")
        _ = FileManager.default.createFile(atPath: empty, contents: nil)
        // SQLite's header and WAL mode only: what opening a new database writes before its migrations.
        let header = dir.path("header.sqlite")
        try DatabaseQueue(path: header).writeWithoutTransaction { db in
            _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "CREATE TABLE t (x); DROP TABLE t")
        }
        for db in [empty, header] {
            for command in [["sessions"], ["show", "s"], ["export", "s"]] {
                let r = try CLI.run([command[0], "--db", db] + command.dropFirst())
                #expect(r.status == 1, "\(command)")
                #expect(r.stderr.contains("\(db) holds no calibration data") && !r.stderr.contains("session '-'"), "\(r.stderr)")
            }
            #expect(try CLI.run(["check", "--db", db]).status == 0)
            #expect(try CLI.run(["run", "--db", db, "--session", "s", DataLossTests.batches]).status == 0)
            #expect(try CLI.run(["sessions", "--db", db]).status == 0)
        }
    }
}

/// Finding 16: importers refuse encodings that cannot be right, naming the file and tensor.
@Suite struct ImportGridTests {
    @Test func offGridOffsetsAreRefused() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("g.sqlite")
        func entry(_ offset: Int, sym: Bool = false, bw: Int = 8) -> String {
            """
            {"version": "1.0.0", "activation_encodings": [{"name": "x", "dtype": "INT", "bw": \(bw), "is_sym": \(sym), \
            "scale": [0.1], "offset": [\(offset)], "enc_type": "PER_TENSOR"}], "param_encodings": []}
            """
        }
        for (n, (text, expected)) in [
            (entry(-1000), "off the unsigned 8-bit grid"), (entry(-3, sym: true), "is not symmetric"),
            (entry(0, bw: 1), "bitwidth 1"),
        ].enumerated() {
            let file = dir.path("bad\(n).encodings")
            try Data(text.utf8).write(to: URL(fileURLWithPath: file))
            let r = try CLI.run(["import", "--db", db, "--format", "aimet", "--session", "s\(n)", file])
            #expect(r.status == 1, "\(text)")
            #expect(r.stderr.contains(file) && r.stderr.contains("'x'") && r.stderr.contains(expected), "\(r.stderr)")
        }
        let good = dir.path("good.encodings")
        try Data(entry(-100).utf8).write(to: URL(fileURLWithPath: good))
        #expect(try CLI.run(["import", "--db", db, "--format", "aimet", "--session", "ok", good]).status == 0)
    }
}
