import CalibTestSupport
import Foundation
import Testing

@testable import CalibStore

/// Values at the edge of float32 and values a damaged database holds, met through the CLI: every
/// one gives a result the readers can use or an error that names where it is, never a crash.
@Suite struct ValueDomainTests {
    static func write(_ data: Data, _ path: String) throws { try data.write(to: URL(fileURLWithPath: path)) }

    static let good = TensorFiles.safetensors([("a", [4], [-1, 0.5, 2, 3]), ("b", [2, 2], [1, -2, 0.25, 4])])

    /// Finding 24: a tensor (or a channel) never observed finite has no encoding; `show --json` prints
    /// null for its scale, offset and range instead of the placeholder the derivation keeps, while
    /// observed channels keep their numbers.
    @Test func neverObservedValuesShowNullEncodings() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("n.sqlite")
        let nan = Float.nan
        try Self.write(
            TensorFiles.safetensors([("x", [2], [nan, .infinity]), ("c", [2, 2], [1, nan, 3, .infinity])]),
            dir.path("0.safetensors"))
        #expect(try CLI.run(["run", "--db", db, "--session", "s", dir.path("0.safetensors")]).status == 0)
        #expect(
            try CLI.run([
                "run", "--db", db, "--session", "p", "--tensor", "c", "--per-channel-axis", "1", dir.path("0.safetensors"),
            ]).status == 0)
        let x = try #require(
            (try CLI.run(["show", "--db", db, "s", "--json"]).json as? [String: Any]).flatMap {
                ($0["encodings"] as? [String: [String: Any]])?["x"]
            })
        for key in ["scale", "offset", "zero_point", "min", "max", "observed_min", "observed_max"] {
            #expect(x[key] is NSNull, "\(key): \(x[key] ?? "absent")")
        }
        #expect(x["nonfinite"] as? Int == 2)
        let c = try #require(
            (try CLI.run(["show", "--db", db, "p", "--json"]).json as? [String: Any]).flatMap {
                ($0["encodings"] as? [String: [String: Any]])?["c"]
            })
        let scale = try #require(c["scale"] as? [Any]), offset = try #require(c["offset"] as? [Any])
        #expect(scale.count == 2 && scale[1] is NSNull && offset[1] is NSNull, "channel 1 saw only NaN/Inf: \(c)")
        #expect((scale[0] as? Double).map { $0 > 0 } == true && offset[0] is Int, "channel 0 saw 1 and 3: \(c)")
    }

    /// Finding 13 sibling: a name a line-based format cannot hold, stored by an older calib (which
    /// did not refuse it at run time), is refused by the TensorRT and CSV exports, naming the tensor,
    /// instead of splitting a line; JSON, which can escape it, still exports it.
    @Test func namesOlderCalibStoredAreRefusedByLineBasedExports() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("names.sqlite")
        try Self.write(Self.good, dir.path("0.safetensors"))
        #expect(try CLI.run(["run", "--db", db, "--session", "s", dir.path("0.safetensors")]).status == 0)
        let store = try CalibStore(path: db)
        try store.writer.write { db in
            try db.execute(sql: "UPDATE tensors SET name = 'line' || char(10) || 'break' WHERE name = 'a'")
        }
        _ = store
        for format in ["tensorrt", "csv"] {
            let r = try CLI.run(["export", "--db", db, "s", "--format", format])
            #expect(r.status == 1 && r.stdout.isEmpty, "\(format): \(r.stdout)")
            #expect(
                r.stderr.contains("control character U+000A") && r.stderr.contains("--format \(format) cannot write it"),
                "\(r.stderr)")
        }
        let json = try CLI.run(["export", "--db", db, "s", "--format", "json"])
        #expect(json.status == 0 && json.stdout.contains("line\\nbreak"), "\(json.stderr)")
    }

    /// A finite float32 range whose span overflows float32 is refused with the file and tensor
    /// named, nothing is stored for it, and the session stays readable by every command.
    @Test func rangeThatOverflowsTheScaleIsRefused() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("c.sqlite")
        try Self.write(Self.good, dir.path("0.safetensors"))
        try Self.write(TensorFiles.safetensors([("a", [2], [-3e38, 3e38])]), dir.path("1.safetensors"))
        #expect(try CLI.run(["run", "--db", db, "--session", "s", dir.path("0.safetensors")]).status == 0)
        let r = try CLI.run(["run", "--db", db, "--session", "s", dir.path("1.safetensors")])
        #expect(r.status == 1)
        #expect(
            r.stderr.contains("1.safetensors") && r.stderr.contains("'a'") && r.stderr.contains("overflows float32"),
            "\(r.stderr)")
        for args in [["show", "s"], ["export", "s"], ["check"], ["derive", "s", "--label", "x"], ["diff", "s", "s"]] {
            let out = try CLI.run([args[0], "--db", db] + args.dropFirst())
            #expect(out.status == 0, "\(args): \(out.stderr)")
        }
        #expect(try CLI.run(["run", "--db", db, "--session", "s", dir.path("0.safetensors")]).status == 0)
        // Per-channel and symmetric: the channel is named.
        let pc = try CLI.run([
            "run", "--db", db, "--session", "p", "--per-channel-axis", "0", "--symmetric", dir.path("1.safetensors"),
        ])
        #expect(pc.status == 1 && pc.stderr.contains("of channel"), "\(pc.stderr)")
        // Re-deriving stored statistics into an overflow is refused too (show/export/derive).
        try Self.write(TensorFiles.safetensors([("a", [2], [-1.7e38, 1.7e38])]), dir.path("2.safetensors"))
        #expect(try CLI.run(["run", "--db", db, "--session", "w", dir.path("2.safetensors")]).status == 0)
        #expect(try CLI.run(["show", "--db", db, "w"]).status == 0)
        for args in [["show", "w"], ["export", "w"], ["derive", "w", "--label", "x"]] {
            let out = try CLI.run([args[0], "--db", db] + args.dropFirst() + ["--symmetric"])
            #expect(
                out.status == 1 && out.stderr.contains("tensor 'a'") && out.stderr.contains("overflows"), "\(args): \(out.stderr)"
            )
        }
        let rerun = try CLI.run(["run", "--db", db, "--session", "w", "--symmetric", dir.path("2.safetensors")])
        #expect(rerun.status == 1 && rerun.stderr.contains("tensor 'a'") && rerun.stderr.contains("overflows"), "\(rerun.stderr)")
        #expect(try CLI.run(["check", "--db", db]).status == 0)
    }

    /// Non-finite encoding values that an older calib wrote as NULL (without a row digest, which
    /// schema 5 added) read back (as NaN): `show`
    /// works, `export` refuses them through its coverage check, and a later run re-derives them.
    @Test func nullEncodingValuesReadBack() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("c.sqlite")
        try Self.write(Self.good, dir.path("0.safetensors"))
        #expect(try CLI.run(["run", "--db", db, "--session", "s", dir.path("0.safetensors")]).status == 0)
        let store = try CalibStore(path: db)
        try store.writer.write { db in
            try db.execute(
                sql: """
                    UPDATE encodings SET scale = 1e999, enc_min = NULL, digest = NULL
                    WHERE tensor_id = (SELECT min(id) FROM tensors)
                    """)
        }
        #expect(try CLI.run(["show", "--db", db, "s"]).status == 0)
        let export = try CLI.run(["export", "--db", db, "s", "-o", dir.path("out.json")])
        #expect(export.status == 1 && export.stderr.contains("non-finite scale"), "\(export.stderr)")
        #expect(try CLI.run(["run", "--db", db, "--session", "s", "--bitwidth", "4", dir.path("0.safetensors")]).status == 0)
        #expect(try CLI.run(["export", "--db", db, "s"]).status == 0)
    }

    static func doubles(_ values: [Double], bigEndian: Bool = false) -> Data {
        var data = Data()
        for v in values {
            withUnsafeBytes(of: bigEndian ? v.bitPattern.bigEndian : v.bitPattern.littleEndian) { data.append(contentsOf: $0) }
        }
        return data
    }

    /// Finite float64 values beyond float32 (`1e39`) are named as such, not as NaN/Inf, and refused
    /// under either --nonfinite policy; real NaN/Inf in float64 keep their policy and count.
    @Test func float64BeyondFloat32IsNamedAndRefused() throws {
        let dir = TemporaryDirectory()
        let db = dir.path("c.sqlite")
        let big = dir.path("big.npy"), nan = dir.path("nan.npy"), swapped = dir.path("swapped.npy")
        try Self.write(TensorFiles.npy(descr: "<f8", shape: [4], data: Self.doubles([1, 1e39, -2, 3])), big)
        try Self.write(TensorFiles.npy(descr: "<f8", shape: [3], data: Self.doubles([1, .nan, -.infinity])), nan)
        try Self.write(
            TensorFiles.npy(descr: ">f8", shape: [3], data: Self.doubles([-1e300, .nan, 2], bigEndian: true)), swapped)
        for policy in ["ignore", "error"] {
            let r = try CLI.run(["run", "--db", db, "--session", "s", "--nonfinite", policy, big])
            #expect(r.status == 1, "\(policy)")
            #expect(
                r.stderr.contains("big.npy") && r.stderr.contains("'big'")
                    && r.stderr.contains("1 finite float64 value is beyond float32's range") && !r.stderr.contains("NaN"),
                "\(policy): \(r.stderr)")
        }
        let s = try CLI.run(["run", "--db", db, "--session", "s", swapped])
        #expect(s.status == 1 && s.stderr.contains("also holds 1 NaN/Inf"), "\(s.stderr)")
        let ok = try CLI.run(["run", "--db", db, "--session", "n", nan])
        #expect(ok.status == 0, "\(ok.stderr)")
        let json = try CLI.run(["export", "--db", db, "n"])
        #expect(json.stdout.contains("\"nonfinite\": 2"), "\(json.stdout)")
        let strict = try CLI.run(["run", "--db", db, "--session", "e", "--nonfinite", "error", nan])
        #expect(strict.status == 1 && strict.stderr.contains("2 NaN/Inf values"), "\(strict.stderr)")
    }
}
