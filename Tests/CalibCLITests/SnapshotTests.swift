import CalibTestSupport
import Foundation
import Testing

@testable import CalibKit

/// The CLI's human output, compared whole with the snapshots in `Snapshots/`: tables, help and
/// error text. A change in any of them is a change users see; re-record on purpose.
@Suite(.serialized) struct SnapshotTests {
    static let sample = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("samples/minilm").path
    /// Help text is wrapped to the terminal's width; this fixes it.
    static let environment = ["COLUMNS": "100"]

    /// Both streams, as a terminal shows them, and the exit status.
    static func transcript(_ arguments: [String], db: String? = nil) throws -> String {
        let r = try CLI.run(arguments + (db.map { ["--db", $0] } ?? []), environment: environment)
        var out = "$ calib \(arguments.joined(separator: " "))\n" + r.stdout
        if !r.stderr.isEmpty { out += "[stderr]\n" + r.stderr }
        // Where the clone is does not matter.
        return (out + "[exit \(r.status)]\n").replacingOccurrences(of: sample, with: "samples/minilm")
    }

    /// Timestamps vary from run to run; their width does not.
    static func masked(_ text: String) -> String {
        text.replacing(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/, with: "YYYY-MM-DD hh:mm:ss")
            .replacing(/\d+\.\d+ MB in \d+\.\d+ s \(\d+ MB\/s\)/, with: "N MB in N s (N MB/s)")
    }

    @Test func showDiffAndSessionsTables() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("snap.sqlite")
        let half = [Self.sample + "/batch_000.safetensors", Self.sample + "/batch_001.safetensors"]
        var text = try Self.transcript(["run", "--session", "half"] + half, db: db)
        text += try Self.transcript(["run", "--session", "full", "--model", "all-MiniLM-L6-v2", Self.sample], db: db)
        Snapshot.check(Self.masked(text), named: "run")
        Snapshot.check(try Self.transcript(["show", "full"], db: db), named: "show")
        Snapshot.check(
            try Self.transcript(["show", "full", "--tensor", "encoder.layer.0.*", "--bitwidth", "4"], db: db),
            named: "show-rederived")
        Snapshot.check(try Self.transcript(["show", "full", "--tensor", "nothing.*"], db: db), named: "show-no-match")
        Snapshot.check(try Self.transcript(["diff", "half", "full", "--limit", "3"], db: db), named: "diff")
        Snapshot.check(Self.masked(try Self.transcript(["sessions"], db: db)), named: "sessions")
    }

    @Test func errorText() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("errors.sqlite")
        var text = try Self.transcript(["show", "nosuch"], db: db)
        _ = try CLI.run(["run", "--db", db, "--session", "s", Self.sample])
        text += try Self.transcript(["show", "nosuch"], db: db)
        text += try Self.transcript(["export", "s", "--format", "nope"], db: db)
        text += try Self.transcript(
            ["run", "--session", "s", "--bitwidth", "3", "--convention", "onnxruntime", Self.sample], db: db)
        text += try Self.transcript(["run", "--session", "s", dir.path("missing.safetensors")], db: db)
        text += try Self.transcript(["derive", "s", "--label", "default"], db: db)
        text += try Self.transcript(["export", "s", "--label", "none"], db: db)
        Snapshot.check(text.replacingOccurrences(of: dir.url.path, with: "TMP"), named: "errors")
    }

    @Test(arguments: ["", "run", "sessions", "show", "export", "derive", "import", "diff", "check", "merge", "methods"])
    func help(_ command: String) throws {
        let r = try CLI.run((command.isEmpty ? [] : [command]) + ["--help"], environment: Self.environment)
        #expect(r.status == 0)
        Snapshot.check(r.stdout, named: "help" + (command.isEmpty ? "" : "-" + command))
    }
}
