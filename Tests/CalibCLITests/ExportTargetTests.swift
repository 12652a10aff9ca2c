import CalibTestSupport
import Foundation
import Testing

/// Issue 13, findings 9, 10 and 12: where exports go, what range-based formats can hold, and
/// selections that match nothing, through the CLI.
@Suite struct ExportTargetTests {
    static let batches = Fixtures.path("golden/cases/aimet_multibatch_asym_unsigned_8/batches")

    static func calibrated(_ dir: TemporaryDirectory, session: String = "s") throws -> String {
        let db = dir.path("cal.sqlite")
        let r = try CLI.run(["run", "--db", db, "--session", session, batches])
        #expect(r.status == 0, "\(r.stderr)")
        return db
    }

    static func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    // MARK: - Finding 12: empty results are errors

    /// `--tensor` that matches nothing: an error naming the glob, and no file; a glob that matches
    /// nothing beside others that match: a note.
    @Test func tensorSelectionsThatMatchNothingAreErrors() throws {
        let dir = TemporaryDirectory()
        let db = try Self.calibrated(dir)
        let out = dir.path("out.json")
        for format in ["json", "aimet", "csv", "tensorrt"] {
            let r = try CLI.run(["export", "--db", db, "s", "--format", format, "--tensor", "nope", "-o", out])
            #expect(r.status == 1, "\(format): \(r.stderr)")
            #expect(r.stderr.contains("no tensor of session 's' matches --tensor 'nope' (it has 2 tensors"), "\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out))
        }
        let stdout = try CLI.run(["export", "--db", db, "s", "--tensor", "nope*", "--tensor", "x?"])
        #expect(stdout.status == 1 && stdout.stdout.isEmpty, "\(stdout.stdout)")
        #expect(stdout.stderr.contains("matches --tensor 'nope*', 'x?'"), "\(stdout.stderr)")
        let ort = try CLI.run(["export", "--db", db, "s", "--format", "onnxruntime", "--tensor", "nope", "-o", dir.path("ort")])
        #expect(ort.status == 1 && !FileManager.default.fileExists(atPath: dir.path("ort")), "\(ort.stderr)")
        for extra in [[], ["--json"]] {
            let show = try CLI.run(["show", "--db", db, "s", "--tensor", "nope"] + extra)
            #expect(show.status == 1 && show.stdout.isEmpty, "\(show.stdout)")
            #expect(show.stderr.contains("no tensor of session 's' matches --tensor 'nope'"), "\(show.stderr)")
        }
        // One glob of several matching nothing: the rest is shown, and the empty glob named.
        let partial = try CLI.run(["show", "--db", db, "s", "--tensor", "layer1.*", "--tensor", "layr2.relu"])
        #expect(partial.status == 0 && partial.stdout.contains("layer1.out") && !partial.stdout.contains("layer2.relu"))
        #expect(partial.stderr.contains("calib: note: --tensor 'layr2.relu' matches no tensor"), "\(partial.stderr)")
        let export = try CLI.run(["export", "--db", db, "s", "--tensor", "layer2.relu", "--tensor", "typo"])
        #expect(export.status == 0 && export.stderr.contains("--tensor 'typo' matches no tensor"), "\(export.stderr)")
        // A run whose --tensor globs partly match.
        let run = try CLI.run(["run", "--db", db, "--session", "r", "--tensor", "layer1.out", "--tensor", "typo", Self.batches])
        #expect(run.status == 0 && run.stderr.contains("--tensor 'typo' matches no tensor"), "\(run.stderr)")
    }

    /// Siblings: an export left with no tensor (every one left out by --allow-incomplete), and a diff
    /// of sessions with no tensor in common (a drift gate over nothing), are errors too.
    @Test func exportsAndDiffsOfNothingAreErrors() throws {
        let dir = TemporaryDirectory()
        let db = try Self.calibrated(dir)
        let nan = dir.path("nan.safetensors")
        try TensorFiles.safetensors([("dead", [2], [.nan, .nan])]).write(to: URL(fileURLWithPath: nan))
        #expect(try CLI.run(["run", "--db", db, "--session", "n", nan]).status == 0)
        let out = dir.path("n.encodings")
        let r = try CLI.run(["export", "--db", db, "n", "--format", "aimet", "-o", out, "--allow-incomplete"])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(
            r.stderr.contains(
                "every tensor of session 'n' cannot be encoded, so nothing is left to export:\n  dead: no finite value observed"),
            "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
        for extra in [[], ["--json"], ["--fail-above", "1"]] {
            let diff = try CLI.run(["diff", "--db", db, "s", "n"] + extra)
            #expect(diff.status == 2 && diff.stdout.isEmpty, "\(diff.stdout)")
            #expect(
                diff.stderr.contains("sessions 's' (2 tensors) and 'n' (1 tensor) have no tensor in common"), "\(diff.stderr)")
        }
        #expect(try CLI.run(["diff", "--db", db, "s", "s", "--fail-above", "1"]).status == 0)
    }

    /// `--config` files that would change nothing are refused, and rules that match no tensor are named.
    @Test func configsThatChangeNothingAreRefusedOrNamed() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("cfg.sqlite")
        let config = dir.path("c.json")
        for (n, (text, expected)) in [
            ("{}", "the config holds no rule"), (#"{"tensors": {}}"#, "the config holds no rule"),
            (#"{"layer2.relu": {}}"#, "'layer2.relu' sets nothing"),
            (#"{"tensors": {"*": {"bitwidth": 4}}, "version": 1}"#, "unknown top-level key 'version' beside \"tensors\""),
            (#"{"bitwidth": 4}"#, "settings for 'bitwidth' must be an object (expected {\"tensors\""),
        ].enumerated() {
            try Self.write(text, to: config)
            let r = try CLI.run(["run", "--db", db, "--session", "c\(n)", "--config", config, Self.batches])
            #expect(r.status == 1, "\(text): \(r.stdout)")
            #expect(r.stderr.contains(config) && r.stderr.contains(expected), "\(text): \(r.stderr)")
        }
        try Self.write(#"{"tensors": {"layer1.*": {"bitwidth": 4}, "layr2.*": {"bitwidth": 4}}}"#, to: config)
        let r = try CLI.run(["run", "--db", db, "--session", "ok", "--config", config, Self.batches])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(
            r.stderr.contains("calib: note: \(config): rule 'layr2.*' matches no tensor of session 'ok', so it changed nothing"),
            "\(r.stderr)")
        let show = try CLI.run(["show", "--db", db, "ok", "--json"])
        let encodings = (show.json as? [String: Any])?["encodings"] as? [String: [String: Any]]
        #expect(encodings?["layer1.out"]?["bitwidth"] as? Int == 4 && encodings?["layer2.relu"]?["bitwidth"] as? Int == 8)
        // derive names them too.
        let derive = try CLI.run(["derive", "--db", db, "ok", "--label", "l", "--config", config])
        #expect(derive.status == 0 && derive.stderr.contains("rule 'layr2.*' matches no tensor"), "\(derive.stderr)")
        // A rule that matches says nothing.
        try Self.write(#"{"layer1.*": {"bitwidth": 4}}"#, to: config)
        let quiet = try CLI.run(["run", "--db", db, "--session", "q", "--config", config, Self.batches])
        #expect(quiet.status == 0 && quiet.stderr.isEmpty, "\(quiet.stderr)")
    }
}
