import CalibTestSupport
import Foundation
import Testing

@testable import CalibKit
@testable import CalibStore

/// Issue 13, findings 13, 14, 24 and 25 through the CLI: session management (`rm`, `rename`,
/// `derive --list/--delete`), the `PATH:NAME` syntax, names kept byte for byte, output polish.
@Suite struct SessionCommandTests {
    static let batches = Fixtures.path("golden/cases/aimet_multibatch_asym_unsigned_8/batches")

    static func sessionNames(_ db: String) throws -> [String] {
        try CalibStore(path: db, readOnly: true).sessions().map(\.session.name)
    }

    /// Row counts of every table, to show that a refused operation changed nothing.
    static func tableCounts(_ db: String) throws -> [Int] {
        let store = try CalibStore(path: db, readOnly: true)
        return try store.writer.read { db in
            try ["sessions", "tensors", "batches", "statistics", "encodings", "encoding_sets"].map {
                try Int.fetchOne(db, sql: "SELECT count(*) FROM \($0)") ?? -1
            }
        }
    }

    // MARK: - Finding 25: rm, rename, derive --list / --delete

    @Test func removeDeletesSessionsAllOrNothing() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("rm.sqlite")
        for name in ["a", "b", "c"] {
            #expect(try CLI.run(["run", "--db", db, "--session", name, Self.batches]).status == 0)
        }
        #expect(try CLI.run(["derive", "--db", db, "b", "--label", "w4", "--bitwidth", "4"]).status == 0)

        // One missing name: nothing is deleted.
        let before = try Self.tableCounts(db)
        let missing = try CLI.run(["rm", "--db", db, "a", "nosuch"])
        #expect(missing.status == 1 && missing.stderr.contains("no session named 'nosuch'"), "\(missing.stderr)")
        #expect(try Self.tableCounts(db) == before)
        #expect(try Self.sessionNames(db) == ["a", "b", "c"])

        let r = try CLI.run(["rm", "--db", db, "a", "b"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(
            r.stdout == "removed session 'a' (3 batches, 2 tensors)\nremoved session 'b' (3 batches, 2 tensors, 1 encoding set)\n"
        )
        #expect(try Self.sessionNames(db) == ["c"])
        // Nothing of theirs is left behind, and the database is consistent.
        #expect(try Self.tableCounts(db) == [1, 2, 3, 2, 2, 0])
        #expect(try CLI.run(["check", "--db", db]).status == 0)
        // `remove` is the same command; with no name it is a usage error.
        #expect(try CLI.run(["remove", "--db", db, "c"]).status == 0)
        #expect(try Self.sessionNames(db) == [])
        #expect(try CLI.run(["rm", "--db", db]).status == 64)
        let help = try CLI.run(["rm", "--help"])
        #expect(help.status == 0 && help.stdout.contains("one transaction"))
    }

    @Test func renameKeepsEverythingAndRefusesTakenOrBadNames() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("rename.sqlite")
        #expect(try CLI.run(["run", "--db", db, "--session", "a", Self.batches]).status == 0)
        #expect(try CLI.run(["run", "--db", db, "--session", "b", Self.batches]).status == 0)
        #expect(try CLI.run(["derive", "--db", db, "a", "--label", "w4", "--bitwidth", "4"]).status == 0)
        let export = try CLI.run(["export", "--db", db, "a", "--label", "w4"]).stdout

        for (new, message) in [
            ("b", "a session named 'b' already exists"), ("x:y", "holds ':'"), ("", "must not be empty"),
            ("two\nlines", "control character U+000A"),
        ] {
            let r = try CLI.run(["rename", "--db", db, "a", new])
            #expect(r.status == 1 && r.stderr.contains(message), "\(new): \(r.stderr)")
        }
        let missing = try CLI.run(["rename", "--db", db, "nosuch", "z"])
        #expect(missing.status == 1 && missing.stderr.contains("no session named 'nosuch'"), "\(missing.stderr)")
        #expect(try Self.sessionNames(db) == ["a", "b"])

        let r = try CLI.run(["rename", "--db", db, "a", "renamed"])
        #expect(r.status == 0 && r.stdout == "renamed session 'a' to 'renamed'\n", "\(r.stderr)")
        #expect(try Self.sessionNames(db) == ["renamed", "b"])
        // The labelled set and the batches went with it: a re-run skips all three batches.
        let renamedExport = try CLI.run(["export", "--db", db, "renamed", "--label", "w4"]).stdout
        #expect(renamedExport == export.replacingOccurrences(of: "\"session\": \"a\"", with: "\"session\": \"renamed\""))
        let rerun = try CLI.run(["run", "--db", db, "--session", "renamed", Self.batches])
        #expect(rerun.stdout.contains("0 batches added, 3 skipped"), "\(rerun.stdout)")
        #expect(try CLI.run(["check", "--db", db]).status == 0)
        #expect(try CLI.run(["rename", "--help"]).stdout.contains("must not contain ':'"))
    }

    @Test func deriveListsAndDeletesLabels() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("labels.sqlite")
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.batches).sorted().map { Self.batches + "/" + $0 }
        #expect(try CLI.run(["run", "--db", db, "--session", "s", files[0], files[1]]).status == 0)
        #expect(try CLI.run(["derive", "--db", db, "s", "--label", "w4", "--bitwidth", "4"]).status == 0)
        #expect(try CLI.run(["run", "--db", db, "--session", "s", files[2]]).status == 0)
        #expect(try CLI.run(["derive", "--db", db, "s", "--label", "sym", "--symmetric"]).status == 0)

        let list = try CLI.run(["derive", "--db", db, "s", "--list", "--json"])
        #expect(list.status == 0, "\(list.stderr)")
        let sets = try #require(list.json as? [[String: Any]])
        #expect(sets.map { $0["label"] as? String } == ["sym", "w4"])
        #expect(sets.map { $0["encodings"] as? Int } == [2, 2])
        #expect(sets.map { $0["batches"] as? Int } == [3, 2])
        #expect(sets.map { $0["session_batches"] as? Int } == [3, 3])
        #expect(((sets[1]["options"] as? [String: Any])?["override"] as? [String: Any])?["bitwidth"] as? Int == 4)
        let table = try CLI.run(["derive", "--db", db, "s", "--list"]).stdout
        #expect(table.hasPrefix("LABEL") && table.contains("2 of 3"), "\(table)")
        #expect(table.contains("1 set derived before the session's latest batches"), "\(table)")

        // Deleting: a missing label deletes nothing; 'default' cannot be deleted.
        let before = try Self.tableCounts(db)
        let missing = try CLI.run(["derive", "--db", db, "s", "--delete", "w4", "--delete", "nosuch"])
        #expect(missing.status == 1 && missing.stderr.contains("no encoding set labelled 'nosuch'"), "\(missing.stderr)")
        let dflt = try CLI.run(["derive", "--db", db, "s", "--delete", "default"])
        #expect(dflt.status == 1 && dflt.stderr.contains("cannot be deleted"), "\(dflt.stderr)")
        #expect(try Self.tableCounts(db) == before)

        let del = try CLI.run(["derive", "--db", db, "s", "--delete", "w4"])
        #expect(del.status == 0 && del.stdout == "session 's': deleted 'w4' (2 encodings)\n", "\(del.stdout)\(del.stderr)")
        #expect(try Self.tableCounts(db) == [before[0], before[1], before[2], before[3], before[4] - 2, before[5] - 1])
        let gone = try CLI.run(["export", "--db", db, "s", "--label", "w4"])
        #expect(gone.status == 1 && gone.stderr.contains("no encoding set labelled 'w4'"), "\(gone.stderr)")
        #expect(try CLI.run(["derive", "--db", db, "s", "--delete", "sym"]).status == 0)
        #expect(try CLI.run(["derive", "--db", db, "s", "--list"]).stdout.contains("has no encoding sets"))
        #expect(try CLI.run(["derive", "--db", db, "s", "--list", "--json"]).stdout == "[]\n")
        #expect(try CLI.run(["check", "--db", db]).status == 0)

        // Usage errors: no mode, two modes, --json without --list, options without --label, a missing session.
        for args in [[], ["--list", "--label", "x"], ["--delete", "x", "--json"], ["--list", "--bitwidth", "4"]] {
            #expect(try CLI.run(["derive", "--db", db, "s"] + args).status == 64, "\(args)")
        }
        let nosuch = try CLI.run(["derive", "--db", db, "nosuch", "--list"])
        #expect(nosuch.status == 1 && nosuch.stderr.contains("no session named 'nosuch'"))
    }

    // MARK: - Finding 14: PATH:NAME is unambiguous

    /// Gives an existing session a name an older calib allowed (one holding ':').
    static func renameBehindCalib(_ db: String, _ old: String, to new: String) throws {
        try CalibStore(path: db).writer.write { db in
            try db.execute(sql: "UPDATE sessions SET name = ? WHERE name = ?", arguments: [new, old])
        }
    }

    @Test func newSessionNamesCannotHoldAColon() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("db.sqlite")
        // Before: this created a session that `show db.sqlite:full` could not reach (it showed 'full').
        for name in ["db.sqlite:full", "", "tab\there"] {
            let r = try CLI.run(["run", "--db", db, "--session", name, Self.batches])
            #expect(r.status == 1 && r.stderr.contains("--session: "), "\(name): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: db), "a refused name creates no database")
        }
        let colon = try CLI.run(["run", "--db", db, "--session", "a:b", Self.batches])
        #expect(colon.stderr.contains("'a:b' holds ':', which separates PATH:NAME"), "\(colon.stderr)")
        #expect(try CLI.run(["run", "--db", db, "--session", "full", Self.batches]).status == 0)
        let aimet = dir.path("full.encodings")
        #expect(try CLI.run(["export", "--db", db, "full", "--format", "aimet", "-o", aimet]).status == 0)
        let imported = try CLI.run(["import", "--db", db, "--format", "aimet", aimet, "--session", "x:y"])
        #expect(imported.status == 1 && imported.stderr.contains("holds ':'"), "\(imported.stderr)")
        #expect(try Self.sessionNames(db) == ["full"])
        // The library refuses them too.
        #expect(throws: NameError.self) {
            try CalibStore(path: db).createSession(name: "p:q", observer: ObserverConfig(), scheme: QuantScheme())
        }
    }

    @Test func pathColonNameIsNeverMisread() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("db.sqlite"), other = dir.path("other.sqlite")
        #expect(try CLI.run(["run", "--db", db, "--session", "full", Self.batches]).status == 0)
        #expect(try CLI.run(["run", "--db", db, "--session", "legacy", Self.batches, "--bitwidth", "4"]).status == 0)
        #expect(try CLI.run(["run", "--db", other, "--session", "o", Self.batches, "--bitwidth", "16"]).status == 0)
        // A session an older calib named "db.sqlite:full", in db.sqlite, which also holds 'full'.
        try Self.renameBehindCalib(db, "legacy", to: "db.sqlite:full")

        // PATH:NAME in another database.
        let o = try CLI.run(["show", "--db", db, other + ":o", "--json"])
        #expect(o.status == 0 && o.stdout.contains("\"bitwidth\": 16"), "\(o.stderr)")
        // Before: `show --db db.sqlite db.sqlite:full` silently showed 'full', not the session of that name.
        for command in [["show"], ["export"], ["diff", "full"]] {
            let r = try CLI.run(command + ["--db", "db.sqlite", "db.sqlite:full"], directory: dir.url.path)
            #expect(r.status != 0 && r.stderr.contains("'db.sqlite:full' is ambiguous"), "\(command): \(r.stderr)")
            #expect(r.stderr.contains("calib rename --db db.sqlite 'db.sqlite:full' NEW"), "\(r.stderr)")
        }
        // Where no file is named like its first part, the old name still reads, and a run resumes it.
        let away = try CLI.run(["show", "--db", db, "db.sqlite:full", "--json"])
        #expect(away.status == 0 && away.stdout.contains("\"bitwidth\": 4"), "\(away.stderr)")
        let resumed = try CLI.run(["run", "--db", db, "--session", "db.sqlite:full", Self.batches])
        #expect(resumed.status == 0 && resumed.stdout.contains("0 batches added, 3 skipped"), "\(resumed.stderr)")
        // Renaming it removes the ambiguity.
        #expect(try CLI.run(["rename", "--db", db, "db.sqlite:full", "legacy-full"]).status == 0)
        let full = try CLI.run(["show", "--db", "db.sqlite", "db.sqlite:full", "--json"], directory: dir.url.path)
        #expect(full.status == 0 && full.stdout.contains("\"bitwidth\": 8"), "\(full.stderr)")
        #expect(try CLI.run(["show", "--db", db, "legacy-full"]).status == 0)
        // PATH:NAME whose PATH does not exist says so.
        let missing = try CLI.run(["show", "--db", db, dir.path("nope.sqlite") + ":full"])
        #expect(missing.status == 1 && missing.stderr.contains("nope.sqlite, which does not exist"), "\(missing.stderr)")
        #expect(try CLI.run(["show", "--help"]).stdout.contains("PATH:NAME"))
    }

    // MARK: - Finding 13: tensor names, byte for byte

    /// Writes a one-tensor-per-name safetensors file; `names` are JSON string contents (escapes allowed).
    static func batch(_ dir: TemporaryDirectory, _ file: String, _ names: [String], values: [Float] = [-1, 2]) throws -> String {
        let path = dir.path(file)
        try TensorFiles.safetensors(names.map { ($0, [values.count], values) }).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func namesNoFormatCanHoldAreRefusedNamingFileAndTensor() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("names.sqlite")
        #expect(try CLI.run(["run", "--db", db, "--session", "s", try Self.batch(dir, "ok.safetensors", ["a"])]).status == 0)
        let before = try Self.tableCounts(db)
        // Before: "a\0b" was stored as "a" (then a raw UNIQUE-constraint error beside "a"), "x\ny" split the
        // TensorRT cache's line, and "" was stored though calib's own AIMET/TensorRT importers refuse it.
        for (json, shown, what) in [
            ("a\\u0000b", "a\\u{0}b", "NUL"), ("x\\ny", "x\\u{a}y", "U+000A"), ("", "", "empty"),
            ("cr\\r", "cr\\u{d}", "U+000D"), ("tab\\t", "tab\\u{9}", "U+0009"),
        ] {
            let file = try Self.batch(dir, "bad.safetensors", ["a", json])
            for session in ["s", "new"] {
                let r = try CLI.run(["run", "--db", db, "--session", session, file])
                #expect(r.status == 1, "\(json): \(r.stderr)")
                #expect(r.stderr.contains("\(file): tensor '\(shown)': "), "\(json): \(r.stderr)")
                #expect(r.stderr.contains(what), "\(json): \(r.stderr)")
            }
            #expect(try Self.tableCounts(db) == before, "\(json)")
        }
        #expect(try Self.sessionNames(db) == ["s"])
        // A --tensor filter that leaves such a tensor out reads the rest.
        let filtered = try CLI.run([
            "run", "--db", db, "--session", "s", "--tensor", "a",
            try Self.batch(dir, "f.safetensors", ["a", ""], values: [5, 6]),
        ])
        #expect(filtered.status == 0, "\(filtered.stderr)")

        // Importers refuse them too.
        let trt = dir.path("bad.cache")
        try Data("TRT-100300-MinMaxCalibration\nx\u{1}y: 3c010204\n".utf8).write(to: URL(fileURLWithPath: trt))
        let imported = try CLI.run(["import", "--db", db, "--format", "tensorrt", trt, "--session", "t"])
        #expect(imported.status == 1 && imported.stderr.contains("tensor 'x\\u{1}y'"), "\(imported.stderr)")
    }

    /// The members of an export's `encodings` object, names byte for byte.
    static func encodingMembers(_ text: String) throws -> [(String, JSONValue)] {
        guard case .object(let top) = try JSONValue.parse(Data(text.utf8)),
            case .object(let members)? = top.first(where: { $0.0 == "encodings" })?.1
        else { return [] }
        return members
    }

    @Test func nfcAndNfdSpellingsStayTwoTensors() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("nfd.sqlite")
        let nfc = "caf\u{E9}", nfd = "cafe\u{301}"
        #expect(nfc == nfd && Array(nfc.utf8) != Array(nfd.utf8))
        // Before: the second batch's NFD tensor was folded into the first batch's NFC tensor (one tensor,
        // 2 batches, range -1...8), and one file holding both was refused as a "duplicate tensor name".
        let first = try Self.batch(dir, "0.safetensors", [nfc], values: [-1, 2])
        let second = try Self.batch(dir, "1.safetensors", [nfd], values: [3, 8])
        let r = try CLI.run(["run", "--db", db, "--session", "s", first, second])
        #expect(r.status == 0 && r.stdout.contains("2 tensors"), "\(r.stdout)\(r.stderr)")
        let json = try CLI.run(["export", "--db", db, "s"])
        // (Foundation's JSONSerialization would merge the two keys itself: read with calib's parser.)
        let members = try Self.encodingMembers(json.stdout)
        #expect(members.map { Array($0.0.utf8) } == [Array(nfc.utf8), Array(nfd.utf8)])
        func range(_ member: JSONValue) -> [String] {
            guard case .object(let fields) = member else { return [] }
            return fields.filter { ["observed_min", "observed_max", "batches"].contains($0.0) }.map { $0.1.rendered() }
        }
        #expect(range(members[0].1) == ["-1.0", "2.0", "1"])
        #expect(range(members[1].1) == ["3.0", "8.0", "1"])
        // One file holding both spellings is two tensors, not a duplicate.
        let both = try CLI.run(["run", "--db", db, "--session", "both", try Self.batch(dir, "both.safetensors", [nfc, nfd])])
        #expect(both.status == 0 && both.stdout.contains("2 tensors"), "\(both.stderr)")
        // --tensor NAME and diff tell them apart.
        let shown = try Self.encodingMembers(try CLI.run(["show", "--db", db, "s", "--tensor", nfd, "--json"]).stdout)
        #expect(shown.map { Array($0.0.utf8) } == [Array(nfd.utf8)])
        #expect(try CLI.run(["run", "--db", db, "--session", "c", first]).status == 0)
        #expect(try CLI.run(["run", "--db", db, "--session", "d", second]).status == 0)
        // Sessions whose only tensors are the two spellings have no tensor in common (diff refuses that);
        // against the session holding both, only the other spelling is unmatched.
        let apart = try CLI.run(["diff", "--db", db, "c", "d", "--json"])
        #expect(apart.status == 2 && apart.stderr.contains("no tensor in common"), "\(apart.stderr)")
        let diff = try #require(try CLI.run(["diff", "--db", db, "s", "c", "--json"]).json as? [String: Any])
        #expect((diff["only_in_a"] as? [String])?.map { Array($0.utf8) } == [Array(nfd.utf8)])
        #expect((diff["only_in_b"] as? [String]) == [])
        // The TensorRT cache keeps both, and calib's importer reads both back.
        let cache = dir.path("s.cache")
        #expect(try CLI.run(["export", "--db", db, "s", "--format", "tensorrt", "-o", cache]).status == 0)
        let back = try CLI.run(["import", "--db", db, "--format", "tensorrt", cache, "--session", "back"])
        #expect(back.status == 0 && back.stdout.contains("imported 2 encodings"), "\(back.stderr)")
    }

    // MARK: - Finding 24: output polish

    @Test func averagingConstantPrintsAsTyped() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("ema.sqlite")
        #expect(
            try CLI.run(["run", "--db", db, "--session", "e", "--observer", "ema", "--averaging-constant", "0.01", Self.batches])
                .status == 0)
        // Before: ema(0.009999999776482582) and "averaging_constant": 0.009999999776482582.
        let table = try CLI.run(["sessions", "--db", db]).stdout
        #expect(table.contains("ema(0.01)") && !table.contains("0.00999"), "\(table)")
        for args in [["sessions", "--json"], ["show", "e", "--json"]] {
            let out = try CLI.run(args + ["--db", db]).stdout
            #expect(out.contains("\"averaging_constant\": 0.01,"), "\(args): \(out.prefix(600))")
        }
        // Computed encodings keep AIMET's spelling (the float32 value as a double).
        #expect(JSONValue.float(0.01).rendered() == "0.009999999776482582")
        #expect(JSONValue.shortFloat(0.01).rendered() == "0.01" && JSONValue.shortFloat(1).rendered() == "1.0")
    }

    @Test func runSummaryCountsAndUnits() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("summary.sqlite")
        let one = try Self.batch(dir, "one.safetensors", ["a"])
        // Before: "1 batches added, …; 1 tensors; 0.0 MB in 0.01 s (0 MB/s)".
        let r = try CLI.run(["run", "--db", db, "--session", "s", one])
        #expect(
            r.stdout.hasPrefix("session 's': 1 batch added, 0 skipped as duplicates, 1 in total; 1 tensor; 70 bytes in "),
            "\(r.stdout)")
        #expect(r.stdout.range(of: #"s \(\d+ (bytes|kB|MB)/s\)\n$"#, options: .regularExpression) != nil, "\(r.stdout)")
        let again = try CLI.run(["run", "--db", db, "--session", "s", one])
        #expect(
            again.stdout == "session 's': 0 batches added, 1 skipped as duplicates, 1 in total; 1 tensor\n", "\(again.stdout)")
        #expect(Describe.bytes(1_234) == "1.2 kB" && Describe.bytes(45_600_000) == "45.6 MB" && Describe.bytes(1) == "1 byte")
    }

    @Test func skippedDuplicatesAreSummarised() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("skips.sqlite")
        let data = dir.path("data")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        for i in 0..<8 {
            try TensorFiles.safetensors([("a", [2], [Float(i), Float(i + 1)])]).write(
                to: URL(fileURLWithPath: data + "/\(i).safetensors"))
        }
        #expect(try CLI.run(["run", "--db", db, "--session", "s", data]).status == 0)
        // Before: one line per skipped batch (thousands on a large re-run).
        let r = try CLI.run(["run", "--db", db, "--session", "s", data])
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 4, "\(r.stderr)")
        #expect(lines.prefix(3).allSatisfy { $0.hasPrefix("skipped ") && $0.contains("same content as batch #") })
        #expect(lines.last == "skipped 5 more batches whose content the session already holds (8 in all)")
        #expect(r.stdout.contains("0 batches added, 8 skipped as duplicates"))
    }

    @Test func progressLineHasTotalAndTimeLeft() {
        #expect(
            RunProgressText.line(done: 12, total: 60, source: "b.safetensors", bytes: 34_000_000, elapsed: 1)
                == "[12/60] b.safetensors  34 MB/s  0:04 left")
        #expect(RunProgressText.line(done: 3, total: nil, source: "stdin#2", bytes: 2_000, elapsed: 2) == "[3] stdin#2  1 kB/s")
        #expect(Describe.duration(3_725) == "1:02:05")
    }

    @Test func sessionsShowsTheSchemeTensorsHaveNow() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("scheme.sqlite")
        #expect(try CLI.run(["run", "--db", db, "--session", "s", Self.batches]).status == 0)
        #expect(try CLI.run(["run", "--db", db, "--session", "s", "--bitwidth", "4", Self.batches]).status == 0)
        // Before: "aimet 8-bit asym unsigned", the creating run's settings.
        let table = try CLI.run(["sessions", "--db", db]).stdout
        #expect(table.contains("aimet 4-bit asym unsigned") && !table.contains("8-bit"), "\(table)")
        let json = try #require(try CLI.run(["sessions", "--db", db, "--json"]).json as? [[String: Any]])
        #expect((json[0]["schemes"] as? [[String: Any]])?.map { $0["bitwidth"] as? Int } == [4])
        // Two schemes at once.
        let other = try Self.batch(dir, "w.safetensors", ["w"])
        #expect(try CLI.run(["run", "--db", db, "--session", "s", "--bitwidth", "16", other]).status == 0)
        #expect(try CLI.run(["sessions", "--db", db]).stdout.contains("aimet 4-bit asym unsigned +1 more"))
    }

    @Test func showSaysWhatItDoesNotKnow() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("show.sqlite")
        let nan = try Self.batch(dir, "nan.safetensors", ["ok", "nan"], values: [.nan, 1])
        try TensorFiles.safetensors([("ok", [2], [-1, 1]), ("nan", [2], [.nan, .infinity])]).write(to: URL(fileURLWithPath: nan))
        #expect(try CLI.run(["run", "--db", db, "--session", "s", nan]).status == 0)
        // Before: OBS MIN/MAX "inf"/"-inf" and a scale, offset and range derived from no range at all.
        let show = try CLI.run(["show", "--db", db, "s"]).stdout
        let row = try #require(show.split(separator: "\n").first { $0.hasPrefix("nan ") })
        let cells = row.split(separator: " ")
        #expect(!row.contains("inf"), "\(row)")
        #expect(Array(cells[5...6]) == ["-", "-"] && Array(cells[11...14]) == ["-", "-", "-", "-"], "\(row)")
        #expect(show.contains("nan: no finite value observed"), "\(show)")

        // An imported session's SHAPE: none (before: the channel count).
        let aimet = dir.path("x.encodings")
        #expect(
            try CLI.run([
                "run", "--db", db, "--session", "w", "--role", "param",
                try Self.batch(dir, "w.safetensors", ["w"], values: [1, -2, 3, 4]),
            ]).status == 0)
        #expect(try CLI.run(["export", "--db", db, "w", "--format", "aimet", "-o", aimet]).status == 0)
        #expect(try CLI.run(["import", "--db", db, "--format", "aimet", aimet, "--session", "imp"]).status == 0)
        let imported = try CLI.run(["show", "--db", db, "imp"]).stdout
        let wrow = try #require(imported.split(separator: "\n").first { $0.hasPrefix("w ") })
        #expect(wrow.split(separator: " ")[2] == "-" && wrow.split(separator: " ")[3] == "4@0", "\(imported)")
    }

    @Test func misspeltOptionIsReportedAsUnknown() throws {
        let dir = TemporaryDirectory()
        // Before: "Missing expected argument '--session <name>'" for a misspelt --session.
        let run = try CLI.run(["run", "--db", dir.path("x.sqlite"), "--sesion", "x", Self.batches])
        #expect(
            run.status == 64 && run.stderr.hasPrefix("Error: Unknown option '--sesion'. Did you mean '--session'?"),
            "\(run.stderr)")
        let imp = try CLI.run(["import", "--sesion", "x", "--format", "aimet", "f"])
        #expect(imp.status == 64 && imp.stderr.hasPrefix("Error: Unknown option '--sesion'"), "\(imp.stderr)")
        // Really missing, it is still a usage error naming it.
        let missing = try CLI.run(["run", "--db", dir.path("x.sqlite"), Self.batches])
        #expect(
            missing.status == 64
                && missing.stderr.hasPrefix("Error: Missing expected argument '--session <name>'\nUsage: calib run"),
            "\(missing.stderr)")
        let noFormat = try CLI.run(["import", "--session", "x", "f"])
        #expect(noFormat.status == 64 && noFormat.stderr.hasPrefix("Error: Missing expected argument '--format <format>'"))
        #expect(!FileManager.default.fileExists(atPath: dir.path("x.sqlite")))
    }

    /// A run whose session is removed while it writes stops at its next commit with a message, instead
    /// of a foreign-key error or a success report.
    @Test func runIntoARemovedSessionFailsClearly() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("removed.sqlite")
        let store = try CalibStore(path: db)
        let session = try store.createSession(name: "gone", observer: ObserverConfig(), scheme: QuantScheme())
        try store.removeSessions(["gone"])
        let commit = BatchCommit(
            batches: [
                BatchRecord(
                    seq: 0, source: "x", contentHash: String(repeating: "0", count: 32), tensors: 0, elements: 0, bytes: 0,
                    addedAt: "2026-01-01T00:00:00Z")
            ],
            tensors: [])
        #expect {
            try store.commit(commit, session: session, expectedBatches: 0)
        } throws: { "\($0)".contains("was removed (or replaced) by another process") }
    }
}

/// Finding 24: `calib sessions` shows the observers the session's tensors were observed with, not
/// only the creating run's.
@Suite struct SessionObserverColumnTests {
    @Test func laterRunsObserversAreListed() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("o.sqlite")
        let file = dir.path("0.safetensors")
        try TensorFiles.safetensors([("a", [4], [-1, 0.5, 2, 3]), ("b", [2, 2], [1, -2, 0.25, 4])])
            .write(to: URL(fileURLWithPath: file))
        #expect(try CLI.run(["run", "--db", db, "--session", "s", "--tensor", "a", file]).status == 0)
        // Another batch (a stored one is skipped whole, its unobserved tensors included).
        let second = dir.path("1.safetensors")
        try TensorFiles.safetensors([("a", [4], [-2, 0.5, 2, 3]), ("b", [2, 2], [1, -3, 0.25, 4])])
            .write(to: URL(fileURLWithPath: second))
        #expect(
            try CLI.run([
                "run", "--db", db, "--session", "s", "--tensor", "b", "--observer", "ema", "--per-channel-axis", "1", second,
            ])
            .status == 0)
        let json = try #require((try CLI.run(["sessions", "--db", db, "--json"]).json as? [[String: Any]])?.first)
        #expect(json["observer"] as? String == "minmax", "the creating run's, as stored")
        #expect((json["observers"] as? [String]).map(Set.init) == ["minmax", "ema(0.01) axis 1"], "\(json)")
        let table = try CLI.run(["sessions", "--db", db])
        #expect(table.stdout.contains("+1 more"), "\(table.stdout)")
    }
}

/// Issue 12, item 5: `calib show SESSION --channels TENSOR` ranks a per-channel tensor's channels by
/// their range against the median channel's, instead of a table as wide as the channel count.
@Suite struct ChannelOutlierTests {
    @Test func outlierChannelsAreRankedAgainstTheMedian() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("c.sqlite")
        let file = dir.path("0.safetensors")
        // [2, 5] on axis 1: channel magnitudes 1, 2, 1.5, 20 (the outlier), and channel 4 only NaN.
        let nan = Float.nan
        try TensorFiles.safetensors([("x", [2, 5], [1, -2, 0.5, 20, nan, -1, 1, 1.5, -3, nan]), ("t", [2], [1, 2])])
            .write(to: URL(fileURLWithPath: file))
        #expect(try CLI.run(["run", "--db", db, "--session", "s", "--per-channel-axis", "1", "--tensor", "x", file]).status == 0)
        #expect(try CLI.run(["run", "--db", db, "--session", "p", file]).status == 0)

        let r = try CLI.run(["show", "--db", db, "s", "--channels", "x", "--top", "2"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = r.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        let table = rows.drop { $0.first != "CHANNEL" }.dropFirst().prefix(2)
        #expect(table.map { $0.first.map(String.init) } == ["3", "1"], "\(r.stdout)")
        #expect(r.stdout.contains("channel 3, 11.4x the median"), "median |range| is 1.75: \(r.stdout)")
        #expect(r.stdout.contains("2 more channels") && r.stdout.contains("1 channel never observed finite: 4"), "\(r.stdout)")

        let json = try #require(try CLI.run(["show", "--db", db, "s", "--channels", "x", "--json"]).json as? [String: Any])
        let ranked = try #require(json["ranked"] as? [[String: Any]])
        #expect(ranked.map { $0["channel"] as? Int } == [3, 1, 2, 0])
        #expect(ranked.map { $0["magnitude"] as? Double } == [20, 2, 1.5, 1])
        #expect(json["median_magnitude"] as? Double == 1.75 && json["unobserved"] as? [Int] == [4])

        let perTensor = try CLI.run(["show", "--db", db, "p", "--channels", "t"])
        #expect(perTensor.status == 1 && perTensor.stderr.contains("observed per tensor"), "\(perTensor.stderr)")
        let missing = try CLI.run(["show", "--db", db, "s", "--channels", "nope"])
        #expect(missing.status == 1 && missing.stderr.contains("no tensor named 'nope'"), "\(missing.stderr)")
    }
}

/// Issue 12, item 5: on a terminal narrower than the table, `show` leaves out optional columns and
/// says so; piped, it prints every column.
@Suite struct TerminalWidthTests {
    @Test func showFitsANarrowTerminal() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("w.sqlite")
        let run = try CLI.run(["run", "--db", db, "--session", "s", "--per-channel-axis", "-1", CLITests.sample])
        #expect(run.status == 0, "\(run.stderr)")
        let piped = try CLI.run(["show", "--db", db, "s"])
        #expect(piped.stdout.contains("ROLE") && piped.stdout.contains("ENCODING"))
        // `script` gives calib a terminal of 120 columns.
        let command = "stty cols 120; NO_COLOR=1 '\(CLI.executable.path)' show --db '\(db)' s"
        let tty = try CLI.run(["-qec", command, "/dev/null"], executable: URL(fileURLWithPath: "/usr/bin/script"))
        #expect(tty.status == 0, "\(tty.stderr)")
        let lines = tty.stdout.replacingOccurrences(of: "\r", with: "").split(separator: "\n")
        let header = try #require(lines.first { $0.hasPrefix("TENSOR") })
        let titles = Set(
            header.split(separator: "  ", omittingEmptySubsequences: true).map { $0.trimmingCharacters(in: .whitespaces) })
        #expect(
            !titles.contains("ROLE") && !titles.contains("MIN") && titles.contains("SCALE") && titles.contains("OBS MAX"),
            "\(header)")
        #expect(tty.stdout.contains("left out to fit the terminal"), "\(tty.stdout)")
    }
}
