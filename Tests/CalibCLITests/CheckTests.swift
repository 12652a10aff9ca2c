import CalibTestSupport
import Foundation
import Testing

@testable import CalibStore

/// Issue 13, finding 6, through the CLI: values a damaged or hand-edited database holds. `check`
/// lists each with its session and tensor and exits 1; every reader refuses it with an error that
/// names them, never a crash and never an export with other numbers.
@Suite struct CheckTests {
    /// A per-tensor session `pt` (tensors `a`, `b`) and a per-channel session `pc` (a rank-3 `w`,
    /// axis 1), with a derived label on `pt`.
    static func database(_ dir: TemporaryDirectory) throws -> String {
        let db = dir.path("c.sqlite")
        try TensorFiles.safetensors([("a", [4], [-1, 0.5, 2, 3]), ("b", [2, 2], [1, -2, 0.25, 4])]).write(
            to: URL(fileURLWithPath: dir.path("0.safetensors")))
        try TensorFiles.safetensors([("w", [2, 3, 2], (0..<12).map { Float($0) - 5.5 })]).write(
            to: URL(fileURLWithPath: dir.path("w.safetensors")))
        #expect(try CLI.run(["run", "--db", db, "--session", "pt", dir.path("0.safetensors")]).status == 0)
        #expect(
            try CLI.run(["run", "--db", db, "--session", "pc", "--per-channel-axis", "1", dir.path("w.safetensors")]).status
                == 0)
        #expect(try CLI.run(["derive", "--db", db, "pt", "--label", "w4", "--bitwidth", "4"]).status == 0)
        #expect(try CLI.run(["check", "--db", db]).status == 0)
        return db
    }

    static func edit(_ db: String, _ sql: String) throws {
        try CalibStore(path: db).writer.write { try $0.execute(sql: sql) }
    }

    static let tensorA = "(SELECT id FROM tensors WHERE name = 'a')"
    static let tensorW = "(SELECT id FROM tensors WHERE name = 'w')"

    /// `check` lists the value (session, tensor, what is wrong, what to do) and exits 1; show,
    /// export, derive, diff and a resumed run refuse the session naming the same tensor.
    static func expectRefused(
        _ db: String, session: String, tensor: String?, _ words: [String], readers: Bool = true,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let check = try CLI.run(["check", "--db", db])
        let place = "session '\(session)'" + (tensor.map { ", tensor '\($0)'" } ?? "")
        #expect(check.status == 1, "\(check.stdout)", sourceLocation: sourceLocation)
        #expect(
            check.stdout.contains(place) && words.allSatisfy(check.stdout.contains)
                && check.stdout.contains("restore it from a backup"), "\(check.stdout)\(check.stderr)",
            sourceLocation: sourceLocation)
        guard readers else { return }
        let dir = URL(fileURLWithPath: db).deletingLastPathComponent().path
        let input = session == "pc" ? dir + "/w.safetensors" : dir + "/0.safetensors"
        for args in [
            ["show", session], ["export", session], ["export", session, "--format", "csv"], ["derive", session, "--label", "x"],
            ["diff", session, session], ["run", "--session", session, input],
        ] {
            let r = try CLI.run([args[0], "--db", db] + args.dropFirst())
            // diff exits 1 for differences, 2 for errors.
            #expect(r.status == (args[0] == "diff" ? 2 : 1), "\(args): \(r.stdout)", sourceLocation: sourceLocation)
            #expect(
                r.stderr.contains(place) && r.stderr.contains("calib check") && !r.stdout.contains("observed_min"),
                "\(args): \(r.stderr)", sourceLocation: sourceLocation)
        }
    }

    /// The samples: out-of-domain bitwidths and offsets, a channel axis beyond the rank,
    /// text where a number belongs.
    @Test(arguments: [
        ("UPDATE encodings SET bitwidth = 0 WHERE tensor_id = \(tensorA) AND label = 'default'", "pt", "a", "bitwidth 0"),
        ("UPDATE encodings SET bitwidth = 99 WHERE tensor_id = \(tensorA) AND label = 'default'", "pt", "a", "bitwidth 99"),
        ("UPDATE encodings SET offset = 100000 WHERE tensor_id = \(tensorA) AND label = 'default'", "pt", "a", "offset 100000"),
        ("UPDATE tensors SET channel_axis = 7 WHERE id = \(tensorW)", "pc", "w", "channel_axis 7"),
        ("UPDATE statistics SET min = 'abc' WHERE tensor_id = \(tensorA)", "pt", "a", "'abc'"),
        ("UPDATE statistics SET nonfinite = -1 WHERE tensor_id = \(tensorA)", "pt", "a", "a count"),
        ("UPDATE statistics SET min = 5 WHERE tensor_id = \(tensorA)", "pt", "a", "not a range"),
    ])
    func outOfDomainValues(_ sql: String, _ session: String, _ tensor: String, _ words: String) throws {
        let dir = TemporaryDirectory()
        let db = try Self.database(dir)
        try Self.edit(db, sql)
        try Self.expectRefused(db, session: session, tensor: tensor, [words])
    }

    /// A 1-byte `min_array`: `check` names it, export refuses instead of writing `"observed_min": []`,
    /// show refuses instead of crashing.
    @Test func shortArrayIsRefused() throws {
        let dir = TemporaryDirectory()
        let db = try Self.database(dir)
        try Self.edit(db, "UPDATE statistics SET min_array = X'00' WHERE tensor_id = \(Self.tensorW)")
        try Self.expectRefused(db, session: "pc", tensor: "w", ["min_array", "1-byte BLOB"])
    }

    /// A non-JSON `stats_config` is a finding naming the session (it aborted `check` with a
    /// DecodingError), and `sessions` refuses it by name.
    @Test func unreadableSessionConfigIsAFinding() throws {
        let dir = TemporaryDirectory()
        let db = try Self.database(dir)
        try Self.edit(db, "UPDATE sessions SET stats_config = 'not json' WHERE name = 'pt'")
        try Self.expectRefused(db, session: "pt", tensor: nil, ["stats_config"], readers: false)
        let check = try CLI.run(["check", "--db", db])
        #expect(!check.stderr.contains("DecodingError") && !check.stdout.contains("session 'pc'"), "\(check.stdout)")
        let sessions = try CLI.run(["sessions", "--db", db])
        #expect(sessions.status == 1 && sessions.stderr.contains("session 'pt'"), "\(sessions.stderr)")
        let export = try CLI.run(["export", "--db", db, "pt"])
        #expect(export.status == 1 && export.stderr.contains("session 'pt'"), "\(export.stderr)")
        #expect(try CLI.run(["export", "--db", db, "pc"]).status == 0)
    }

    /// A value edited to another valid value (no domain check can see it) is found by the row's
    /// digest: 16 NaN/Inf that were never observed would be exported.
    @Test func validButChangedValueIsFoundByTheDigest() throws {
        let dir = TemporaryDirectory()
        let db = try Self.database(dir)
        try Self.edit(db, "UPDATE statistics SET nonfinite = 1 WHERE tensor_id = \(Self.tensorA)")
        try Self.expectRefused(db, session: "pt", tensor: "a", ["statistics row does not match its digest"])
    }

    /// A row without a digest (written before schema 5) is still checked: an encoding that is not
    /// what its statistics give is a finding that names both values; the readers accept the row.
    @Test func rowsWithoutADigestAreReDerived() throws {
        let dir = TemporaryDirectory()
        let db = try Self.database(dir)
        let before = try CLI.run(["export", "--db", db, "pt"]).stdout
        try Self.edit(db, "UPDATE statistics SET digest = NULL")
        try Self.edit(db, "UPDATE encodings SET digest = NULL")
        #expect(try CLI.run(["check", "--db", db]).status == 0)
        #expect(try CLI.run(["export", "--db", db, "pt"]).stdout == before)
        try Self.edit(db, "UPDATE encodings SET offset = offset + 1 WHERE tensor_id = \(Self.tensorA) AND label = 'default'")
        try Self.expectRefused(
            db, session: "pt", tensor: "a", ["encoding 'default' is not what its statistics give", "stored", "derived"],
            readers: false)
        // A later batch re-derives and rewrites the row (with a digest): the session is whole again.
        try TensorFiles.safetensors([("a", [2], [-4, 1])]).write(to: URL(fileURLWithPath: dir.path("1.safetensors")))
        #expect(try CLI.run(["run", "--db", db, "--session", "pt", dir.path("1.safetensors")]).status == 0)
        let again = try CLI.run(["check", "--db", db])
        #expect(again.status == 0, "\(again.stdout)")
    }

    /// Batch rows and encoding sets are read without trapping: text where a count belongs is a
    /// finding and a refusal, not a crash.
    @Test func badBatchAndLabelRowsAreRefused() throws {
        let dir = TemporaryDirectory()
        let db = try Self.database(dir)
        try Self.edit(db, "UPDATE encoding_sets SET options = 'not json'")
        try Self.expectRefused(db, session: "pt", tensor: nil, ["encoding set", "options"], readers: false)
        try Self.edit(db, "UPDATE encoding_sets SET options = '{}', batches = 'x'")
        let derive = try CLI.run(["export", "--db", db, "pt", "--label", "w4"])
        #expect(derive.status == 1 && derive.stderr.contains("session 'pt'"), "\(derive.stderr)")
        try Self.edit(db, "UPDATE encoding_sets SET batches = 1; UPDATE batches SET elements = 'many'")
        let check = try CLI.run(["check", "--db", db])
        #expect(check.status == 1 && check.stdout.contains("'many'"), "\(check.stdout)\(check.stderr)")
        let run = try CLI.run(["run", "--db", db, "--session", "pt", dir.path("0.safetensors")])
        #expect(run.status == 1 && run.stderr.contains("session 'pt'"), "\(run.stderr)")
    }
}
