import CalibTestSupport
import Foundation
import Testing

@testable import CalibKit
@testable import CalibModel
@testable import CalibStore
@testable import CalibSupport

/// The executable as users run it: output shapes, stdin, relocation, exit codes.
@Suite struct CLITests {
    static let sample = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("samples/minilm").path

    @Test func sampleCalibrationShowsEveryTensor() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("s.sqlite")
        let run = try CLI.run(["run", "--db", db, "--session", "minilm", "--model", "all-MiniLM-L6-v2", Self.sample])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("session 'minilm': 4 batches added, 0 skipped as duplicates, 4 in total; 15 tensors"))
        #expect(run.stderr.isEmpty, "no progress output when stderr is not a terminal")
        let show = try CLI.run(["show", "--db", db, "minilm"])
        #expect(show.status == 0)
        #expect(!show.stdout.contains("\u{1B}["), "no colour codes when stdout is not a terminal")
        let lines = show.stdout.split(separator: "\n")
        #expect(lines[0] == "session minilm  ready, 4 batches")
        #expect(
            lines.contains {
                $0.hasPrefix("embeddings.output ") && $0.contains("4x16x384") && $0.contains("aimet 8-bit asym unsigned")
            })
        #expect(lines.filter { $0.hasPrefix("encoder.layer.") }.count == 14)
        let json = try CLI.run(["show", "--db", db, "minilm", "--tensor", "encoder.layer.0.*", "--json"])
        let doc = try #require(json.json as? [String: Any])
        let encodings = try #require(doc["encodings"] as? [String: [String: Any]])
        #expect(
            encodings.keys.sorted() == [
                "encoder.layer.0.attention.output", "encoder.layer.0.intermediate.gelu", "encoder.layer.0.output",
            ])
        #expect(encodings["encoder.layer.0.output"]?["batches"] as? Int == 4)
        #expect(encodings["encoder.layer.0.output"]?["elements"] as? Int == 4 * 4 * 16 * 384)
        #expect((doc["details"] as? [String: Any])?["model"] as? String == "all-MiniLM-L6-v2")
        let sessions = try CLI.run(["sessions", "--db", db, "--json"])
        let list = try #require(sessions.json as? [[String: Any]])
        #expect(list.count == 1)
        #expect(list[0]["name"] as? String == "minilm" && list[0]["batches"] as? Int == 4 && list[0]["tensors"] as? Int == 15)
        #expect(list[0]["status"] as? String == "ready")
    }

    /// Per-channel on the last axis of [B, T, D]: channel 99 carries the BERT outlier.
    @Test func perChannelLastAxis() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("pc.sqlite")
        let run = try CLI.run([
            "run", "--db", db, "--session", "pc", "--per-channel-axis", "-1", "--tensor", "encoder.layer.2.output", Self.sample,
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let doc = try #require(try CLI.run(["export", "--db", db, "pc", "--format", "json"]).json as? [String: Any])
        let e = try #require((doc["encodings"] as? [String: [String: Any]])?["encoder.layer.2.output"])
        #expect(e["per_channel_axis"] as? Int == 2)
        let maxes = GoldenCase.floats(e["observed_max"]!)
        let mins = GoldenCase.floats(e["observed_min"]!)
        #expect(maxes.count == 384)
        // The per-channel ranges together give the per-tensor range.
        let perTensor = try #require(
            try CLI.run(["run", "--db", db, "--session", "pt", "--tensor", "encoder.layer.2.output", Self.sample]).status == 0)
        _ = perTensor
        let pt = try #require(
            (try CLI.run(["export", "--db", db, "pt"]).json as? [String: Any])?["encodings"] as? [String: [String: Any]])
        #expect(GoldenCase.floats(pt["encoder.layer.2.output"]!["observed_max"]!) == [maxes.max()!])
        #expect(GoldenCase.floats(pt["encoder.layer.2.output"]!["observed_min"]!) == [mins.min()!])
    }

    @Test func newerSchemaIsRefusedWithAMessage() throws {
        let dir = TemporaryDirectory()
        let path = dir.path("future.sqlite")
        do {
            let store = try CalibStore(path: path)
            try store.writer.write { db in
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('0099_from_the_future')")
            }
        }
        let cli = try CLI.run(["sessions", "--db", path])
        #expect(cli.status != 0)
        #expect(cli.stderr.contains("written by a newer calib"), "\(cli.stderr)")
    }

    @Test func stdinFramesEqualTheFiles() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("stdin.sqlite")
        let batches = Fixtures.path("golden/cases/aimet_multibatch_sym_signed_8/batches")
        let files = try FileManager.default.contentsOfDirectory(atPath: batches).sorted()
        var stream = Data()
        for f in files { stream.append(try Data(contentsOf: URL(fileURLWithPath: batches + "/" + f))) }
        let piped = try CLI.run(["run", "--db", db, "--session", "piped", "--symmetric", "-"], stdin: stream)
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(try CLI.run(["run", "--db", db, "--session", "files", "--symmetric", batches]).status == 0)
        let a = try #require(
            (try CLI.run(["export", "--db", db, "piped"]).json as? [String: Any])?["encodings"] as? NSDictionary)
        let b = try #require(
            (try CLI.run(["export", "--db", db, "files"]).json as? [String: Any])?["encodings"] as? NSDictionary)
        #expect(a == b && a.count == 2)
        // A stream cut mid-frame is an error naming the frame; the frames before it stay committed.
        let cut = try CLI.run(["run", "--db", db, "--session", "cut", "-"], stdin: stream.prefix(stream.count - 7))
        #expect(cut.status != 0)
        #expect(cut.stderr.contains("stdin#2"), "\(cut.stderr)")
        let store = try CalibStore(path: db, readOnly: true)
        #expect(try store.batches(session: store.requireSession("cut").id).map(\.source) == ["stdin#0", "stdin#1"])
        #expect(try store.requireSession("cut").status == .interrupted)
    }

    @Test func nonFiniteValuesAreCountedAndLeftOutOfRanges() throws {
        let dir = TemporaryDirectory()
        let file = dir.path("nf.safetensors")
        try TensorFiles.safetensors([("act", [6], [1, .nan, -2, .infinity, -.infinity, 0.5])]).write(
            to: URL(fileURLWithPath: file))
        let db = dir.path("nf.sqlite")
        #expect(try CLI.run(["run", "--db", db, "--session", "nf", file]).status == 0)
        let e = try #require(
            ((try CLI.run(["export", "--db", db, "nf"]).json as? [String: Any])?["encodings"] as? [String: [String: Any]])?["act"]
        )
        #expect(e["observed_min"] as? Double == -2)
        #expect(e["observed_max"] as? Double == 1)
        #expect(e["nonfinite"] as? Int == 3)
        #expect(e["elements"] as? Int == 6)
    }

    /// The binary carries its migrations: a copy in another folder creates and reads databases.
    @Test func relocatedBinaryWorks() throws {
        let dir = TemporaryDirectory()
        let copy = dir.url.appendingPathComponent("bin/calib")
        try FileManager.default.createDirectory(at: copy.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: CLI.executable, to: copy)
        let db = dir.path("moved.sqlite")
        let batch = Fixtures.path("golden/cases/aimet_seed4x4_sym_signed_8/batches")
        let run = try CLI.run(["run", "--session", "m", "--symmetric", batch], environment: ["CALIB_DB": db], executable: copy)
        #expect(run.status == 0, "\(run.stderr)")
        let doc = try #require(
            try CLI.run(["export", "m"], environment: ["CALIB_DB": db], executable: copy).json as? [String: Any])
        let e = try #require((doc["encodings"] as? [String: [String: Any]])?["act"])
        #expect(e["offset"] as? Int == 0)
        #expect(abs((e["scale"] as! Double) - 0.0165) < 1e-4)
    }

    @Test func helpAndVersion() throws {
        let help = try CLI.run(["run", "--help"])
        #expect(help.status == 0)
        for flag in [
            "--session", "--observer", "--averaging-constant", "--per-channel-axis", "--bitwidth", "--symmetric", "--asymmetric",
            "--signed", "--unsigned", "--convention", "--reduce-range", "--tensor", "--model", "--dataset", "--note", "--db",
        ] {
            #expect(help.stdout.contains(flag), "run --help mentions \(flag)")
        }
        let version = try CLI.run(["--version"])
        #expect(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == CalibVersion.current)
    }
}
