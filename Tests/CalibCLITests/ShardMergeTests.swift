import CalibTestSupport
import Foundation
import Testing

@testable import CalibKit
@testable import CalibStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Issue 12: `calib run --shard I/N` splits one command line's batches across workers, and
/// `calib merge` reduces the workers' databases to one session equal to a single run.
@Suite(.serialized) struct ShardMergeTests {
    static func contentHashes(_ db: String, session: String = "s") throws -> [String] {
        let store = try CalibStore(path: db, readOnly: true)
        let id = try store.requireSession(session).id
        return try store.batches(session: id).map(\.contentHash)
    }

    static func run(_ db: String, _ extra: [String], _ inputs: [String]) throws -> CLI.Result {
        try CLI.run(["run", "--db", db, "--session", "s", "--per-channel-axis", "1"] + extra + inputs)
    }

    @Test func threeShardsTogetherHoldExactlyTheBatchesOfOneRun() throws {
        let dir = TemporaryDirectory()
        let batches = try ReliabilityTests.makeBatches(in: dir, count: 10, tensors: 2)
        let single = dir.path("single.sqlite")
        let r = try Self.run(single, [], [batches])
        #expect(r.status == 0, "\(r.stderr)")
        let all = try Self.contentHashes(single)
        #expect(all.count == 10)

        var union: [String] = []
        var perShard: [Int] = []
        for i in 0..<3 {
            let db = dir.path("shard-\(i).sqlite")
            let r = try Self.run(db, ["--shard", "\(i)/3"], [batches])
            #expect(r.status == 0, "\(r.stderr)")
            let hashes = try Self.contentHashes(db)
            perShard.append(hashes.count)
            union += hashes
            // Every 3rd batch in name order, from i.
            let sources = try CalibStore(path: db, readOnly: true).batches(session: 1).map {
                URL(fileURLWithPath: $0.source).lastPathComponent
            }
            #expect(sources == stride(from: i, to: 10, by: 3).map { String(format: "%03d.safetensors", $0) })
        }
        #expect(perShard == [4, 3, 3])
        #expect(union.count == Set(union).count, "no batch is in two shards")
        #expect(Set(union) == Set(all))
    }

    /// Files given in another order split the same way: the shard is taken in name order. Before,
    /// it followed the argument order, so two workers given the files in different orders
    /// observed overlapping shards and missed batches.
    @Test func shardsFollowNameOrderNotArgumentOrder() throws {
        let dir = TemporaryDirectory()
        let batches = try ReliabilityTests.makeBatches(in: dir, count: 4, tensors: 1)
        let files = (0..<4).map { batches + String(format: "/%03d.safetensors", $0) }
        let shuffled = [files[1], files[0], files[3], files[2]]
        for (i, inputs) in [(0, shuffled), (1, [batches]), (0, [batches]), (1, shuffled)] {
            let db = dir.path("shard-\(i)-\(inputs.count).sqlite")
            let r = try Self.run(db, ["--shard", "\(i)/2"], inputs)
            #expect(r.status == 0, "\(r.stderr)")
            let sources = try CalibStore(path: db, readOnly: true).batches(session: 1).map {
                URL(fileURLWithPath: $0.source).lastPathComponent
            }
            #expect(sources == [i, i + 2].map { String(format: "%03d.safetensors", $0) }, "shard \(i) of \(inputs)")
        }
    }

    /// A run refused for its inputs leaves no database file behind (it created an empty one).
    @Test func refusedInputsCreateNoDatabase() throws {
        let dir = TemporaryDirectory()
        let batches = try ReliabilityTests.makeBatches(in: dir, count: 2, tensors: 1)
        for (extra, inputs) in [(["--shard", "4/5"], [batches]), ([], [dir.path("missing")])] {
            let db = dir.path("never.sqlite")
            let r = try Self.run(db, extra, inputs)
            #expect(r.status != 0)
            #expect(!FileManager.default.fileExists(atPath: db), "\(extra) \(inputs): \(r.stderr)")
        }
    }

    @Test func badShardSpecsAndStandardInputAreRefused() throws {
        let dir = TemporaryDirectory()
        let batches = try ReliabilityTests.makeBatches(in: dir, count: 2, tensors: 1)
        let db = dir.path("bad.sqlite")
        for (spec, message) in [
            ("3/3", "the shard index must be from 0 to 2"), ("-1/3", "the shard index must be from 0 to 2"),
            ("0/0", "the shard count must be at least 1"), ("1", "expected I/N"), ("a/b", "expected I/N"),
            ("1/2/3", "expected I/N"),
        ] {
            let r = try Self.run(db, ["--shard=\(spec)"], [batches])
            #expect(r.status != 0, "--shard \(spec)")
            #expect(r.stderr.contains(message), "--shard \(spec): \(r.stderr)")
        }
        let empty = try Self.run(db, ["--shard", "2/3"], [batches])
        #expect(empty.status != 0)
        #expect(
            empty.stderr.contains("--shard 2/3 selects no batch: the inputs expand to 2 batches, fewer than the 3 shards"),
            "\(empty.stderr)")
        let r = try CLI.run(["run", "--db", db, "--session", "s", "--shard", "0/2", "-"], stdin: Data())
        #expect(r.status != 0)
        #expect(r.stderr.contains("standard input cannot be split into shards"), "\(r.stderr)")
        let stored = FileManager.default.fileExists(atPath: db) ? try CalibStore(path: db, readOnly: true).sessions() : []
        #expect(stored.isEmpty, "a refused run stores nothing")
    }

    // MARK: merge

    static func export(_ db: String, _ session: String = "s") throws -> String {
        let r = try CLI.run(["export", "--db", db, session, "--format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout
    }

    static func merge(_ out: String, _ inputs: [String], session: String = "s") throws -> CLI.Result {
        try CLI.run(["merge", "--db", out, "--session", session] + inputs)
    }

    /// Batches with NaN-free, varied values, a reference run over all of them and 3 shard databases.
    static func shards(
        _ dir: TemporaryDirectory, count: Int = 9, extra: [String] = []
    ) throws -> (single: String, shards: [String], batches: String) {
        let batches = try ReliabilityTests.makeBatches(in: dir, count: count, tensors: 3)
        let single = dir.path("single.sqlite")
        let r = try run(single, extra, [batches])
        #expect(r.status == 0, "\(r.stderr)")
        var shards: [String] = []
        for i in 0..<3 {
            let db = dir.path("shard-\(i).sqlite")
            let r = try run(db, extra + ["--shard", "\(i)/3"], [batches])
            #expect(r.status == 0, "\(r.stderr)")
            shards.append(db)
        }
        return (single, shards, batches)
    }

    @Test func shardsMergedInAnyOrderEqualOneRun() throws {
        let dir = TemporaryDirectory()
        let (single, shards, _) = try Self.shards(dir)
        let expected = try Self.export(single)
        #expect(expected.contains("layer2.out"))
        for (n, order) in [[0, 1, 2], [2, 0, 1], [1, 2, 0]].enumerated() {
            let out = dir.path("merged-\(n).sqlite")
            let r = try Self.merge(out, order.map { shards[$0] })
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("9 batches merged, 0 already held, 9 in total; 3 tensors"), "\(r.stdout)")
            #expect(try Self.export(out) == expected, "order \(order)")
            let diff = try CLI.run(["diff", "--json", single + ":s", out + ":s"])
            #expect(diff.status == 0, "\(diff.stdout)\(diff.stderr)")
            let summary = (diff.json as? [String: Any])?["summary"] as? [String: Any]
            #expect(summary?["compared"] as? Int == 3, "\(diff.stdout)")
            #expect(summary?["changed"] as? Int == 0, "\(diff.stdout)")
            let check = try CLI.run(["check", "--db", out])
            #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
            // Statistics counts, per tensor, equal one run's.
            let a = try CalibStore(path: single, readOnly: true), b = try CalibStore(path: out, readOnly: true)
            let ra = try a.reports(session: try a.requireSession("s")), rb = try b.reports(session: try b.requireSession("s"))
            #expect(ra.map(\.tensor.name) == rb.map(\.tensor.name))
            #expect(ra.map(\.stats) == rb.map(\.stats))
            #expect(rb.first?.stats?.batches == 9)
            #expect(rb.first?.stats?.elements == 9 * 64 * 256)
            // Each batch keeps the shard it came from.
            let session = try b.requireSession("s")
            let origins = try b.batchOrigins(session: session.id)
            #expect(origins.count == 9)
            #expect(origins.prefix(3).allSatisfy { $0 == shards[order[0]] + ":s" }, "\(origins)")
            #expect(Set(try b.batches(session: session.id).map(\.contentHash)) == Set(try Self.contentHashes(single)))
        }
    }

    @Test func batchesTwoShardsBothHoldAreCountedOnce() throws {
        let dir = TemporaryDirectory()
        let (single, shards, batches) = try Self.shards(dir)
        // A fourth shard overlapping shards 0 and 1: every 2nd batch from 0.
        let overlap = dir.path("overlap.sqlite")
        let r = try Self.run(overlap, ["--shard", "0/2"], [batches])
        #expect(r.status == 0, "\(r.stderr)")
        let out = dir.path("merged.sqlite")
        let m = try Self.merge(out, [overlap] + shards)
        #expect(m.status == 0, "\(m.stderr)")
        // 5 from the overlap shard, then only what it did not hold: 9 distinct in all.
        #expect(m.stdout.contains("9 batches merged, 5 already held, 9 in total"), "\(m.stdout)")
        #expect(try Self.export(out) == (try Self.export(single)))
        let b = try CalibStore(path: out, readOnly: true)
        let stats = try b.reports(session: try b.requireSession("s")).map(\.stats)
        #expect(stats.allSatisfy { $0?.batches == 9 && $0?.elements == 9 * 64 * 256 })
    }

    @Test func repeatedMergeEqualsOneMerge() throws {
        let dir = TemporaryDirectory()
        let (single, shards, _) = try Self.shards(dir)
        let out = dir.path("merged.sqlite")
        #expect(try Self.merge(out, [shards[0], shards[1]]).status == 0)
        // Resumed with the full list, then repeated: only what the session lacks is added.
        let again = try Self.merge(out, shards)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("3 batches merged, 6 already held, 9 in total"), "\(again.stdout)")
        let once = try Self.export(out)
        let third = try Self.merge(out, shards)
        #expect(third.stdout.contains("0 batches merged, 9 already held, 9 in total"), "\(third.stdout)")
        #expect(try Self.export(out) == once)
        #expect(once == (try Self.export(single)))
    }

    @Test func shardsObservedDifferentlyAreRefusedNamingTheTensor() throws {
        let dir = TemporaryDirectory()
        let (_, shards, batches) = try Self.shards(dir)
        let perTensor = dir.path("per-tensor.sqlite")
        // Same session settings, but a config rule gives one tensor another bitwidth.
        let config = dir.path("config.json")
        try #"{"tensors": {"layer1.out": {"bitwidth": 4}}}"#.write(toFile: config, atomically: true, encoding: .utf8)
        let r = try Self.run(perTensor, ["--shard", "1/3", "--config", config], [batches])
        #expect(r.status == 0, "\(r.stderr)")
        let out = dir.path("merged.sqlite")
        let m = try Self.merge(out, [shards[0], perTensor])
        #expect(m.status != 0)
        #expect(m.stderr.contains(perTensor), "\(m.stderr)")
        #expect(m.stderr.contains("tensor 'layer1.out': observed with bitwidth 4 (stored: 8)"), "\(m.stderr)")
        // Nothing was written.
        let stored = FileManager.default.fileExists(atPath: out) ? try CalibStore(path: out, readOnly: true).sessions() : []
        #expect(stored.isEmpty, "a refused merge writes nothing")

        // A shard run with another flag: its session's settings differ.
        let fourBit = dir.path("four-bit.sqlite")
        #expect(try Self.run(fourBit, ["--shard", "2/3", "--bitwidth", "4"], [batches]).status == 0)
        let flags = try Self.merge(out, [shards[0], shards[1], fourBit])
        #expect(flags.status != 0)
        #expect(
            flags.stderr.contains(
                "\(fourBit): session 's' was run with bitwidth 4 (stored: 8); shards must be run with the same command line"),
            "\(flags.stderr)")
        let afterFlags = FileManager.default.fileExists(atPath: out) ? try CalibStore(path: out, readOnly: true).sessions() : []
        #expect(afterFlags.isEmpty, "a refused merge writes nothing")

        // A database of two sessions needs PATH:SESSION.
        #expect(try CLI.run(["run", "--db", fourBit, "--session", "other", "--per-channel-axis", "1", batches]).status == 0)
        let ambiguous = try Self.merge(out, [fourBit])
        #expect(ambiguous.status != 0)
        #expect(
            ambiguous.stderr.contains("holds 2 sessions ('s', 'other'); name one as \(fourBit):SESSION"), "\(ambiguous.stderr)")
        let named = try Self.merge(out, [fourBit + ":other"])
        #expect(named.status == 0, "\(named.stderr)")
        #expect(named.stdout.contains("9 batches merged, 0 already held, 9 in total"), "\(named.stdout)")
    }

    @Test func emaSessionsAreRefusedSayingWhy() throws {
        let dir = TemporaryDirectory()
        let batches = try ReliabilityTests.makeBatches(in: dir, count: 2, tensors: 1)
        let ema = dir.path("ema.sqlite")
        #expect(try Self.run(ema, ["--observer", "ema"], [batches]).status == 0)
        let out = dir.path("merged.sqlite")
        let m = try Self.merge(out, [ema + ":s"])
        #expect(m.status != 0)
        #expect(m.stderr.contains("observes with ema"), "\(m.stderr)")
        #expect(m.stderr.contains("depends on the order"), "\(m.stderr)")
        #expect(m.stderr.contains("--observer minmax"), "\(m.stderr)")
        let stored = FileManager.default.fileExists(atPath: out) ? try CalibStore(path: out, readOnly: true).sessions() : []
        #expect(stored.isEmpty)
        let missing = try Self.merge(out, [dir.path("nope.sqlite")])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("nope.sqlite: no such database"), "\(missing.stderr)")
    }

    /// A histogram session's range columns read `minmax`, so the refusal has to look at the state:
    /// before it, a one-shard merge copied the histograms and two shards failed with "observer minmax".
    @Test(arguments: ["aimet", "pytorch", "onnxruntime"]) func referenceHistogramSessionsAreRefusedSayingWhy(
        convention: String
    ) throws {
        let dir = TemporaryDirectory()
        let batches = try ReliabilityTests.makeBatches(in: dir, count: 2, tensors: 1)
        let hist = dir.path("hist.sqlite")
        let r = try CLI.run([
            "run", "--db", hist, "--session", "s", "--observer", "histogram", "--convention", convention, batches,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let out = dir.path("merged.sqlite")
        let m = try Self.merge(out, [hist + ":s"])
        #expect(m.status != 0)
        #expect(m.stderr.contains("holds \(convention) histograms"), "\(m.stderr)")
        #expect(m.stderr.contains("re-binned in the order batches arrive"), "\(m.stderr)")
        #expect(m.stderr.contains("--observer minmax"), "\(m.stderr)")
        let stored = FileManager.default.fileExists(atPath: out) ? try CalibStore(path: out, readOnly: true).sessions() : []
        #expect(stored.isEmpty)
    }

    @Test func duplicatesWhoseCountsCannotBeSplitAreRefused() throws {
        let dir = TemporaryDirectory()
        // One tensor whose shape changes from batch to batch (the channel axis 1 keeps its size).
        func write(_ name: String, rows: Int, seed: Float) throws -> String {
            let path = dir.path(name)
            let values = (0..<rows * 4).map { Float($0) * seed - 3 }
            try TensorFiles.safetensors([("x", [rows, 4], values)]).write(to: URL(fileURLWithPath: path))
            return path
        }
        let b0 = try write("b0.safetensors", rows: 2, seed: 0.5)
        let b1 = try write("b1.safetensors", rows: 3, seed: 0.25)
        let b2 = try write("b2.safetensors", rows: 5, seed: 0.125)
        let a = dir.path("a.sqlite"), b = dir.path("b.sqlite"), out = dir.path("merged.sqlite")
        #expect(try Self.run(a, [], [b0, b1]).status == 0)
        #expect(try Self.run(b, [], [b1, b2]).status == 0)
        #expect(try Self.merge(out, [a]).status == 0)
        let before = try Self.export(out)
        let m = try Self.merge(out, [b])
        #expect(m.status != 0)
        #expect(m.stderr.contains("\(b), tensor 'x': 1 of the shard's batches are already merged"), "\(m.stderr)")
        #expect(m.stderr.contains("cannot be counted once"), "\(m.stderr)")
        // The refused merge left the session as it was.
        #expect(try Self.export(out) == before)
        let store = try CalibStore(path: out, readOnly: true)
        #expect(try store.batches(session: try store.requireSession("s").id).count == 2)
    }

    /// Kill -9 at points spread over a merge into an existing session: OUT holds either the session
    /// as it was or the whole merge, never part of one (one transaction), `check` accepts it, and the
    /// same merge run again completes to the result of one uninterrupted merge.
    @Test func killedMergesLeaveTheSessionWholeAndResume() throws {
        let dir = TemporaryDirectory()
        let (single, shards, _) = try Self.shards(dir, count: 12)
        let expected = try Self.export(single)
        let base = dir.path("base.sqlite")
        #expect(try Self.merge(base, [shards[0]]).status == 0)
        let before = try Self.export(base)
        let reference = dir.path("reference.sqlite")
        try FileManager.default.copyItem(atPath: base, toPath: reference)
        let start = Date()
        #expect(try Self.merge(reference, shards).status == 0)
        let duration = Date().timeIntervalSince(start)
        #expect(try Self.export(reference) == expected)

        var outcomes: [String: Int] = [:]
        for i in 0..<12 {
            let db = dir.path("killed-\(i).sqlite")
            try FileManager.default.copyItem(atPath: base, toPath: db)
            let process = Process()
            process.executableURL = CLI.executable
            process.arguments = ["merge", "--db", db, "--session", "s"] + shards
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            Thread.sleep(forTimeInterval: duration * Double(i) / 12)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let check = try CLI.run(["check", "--db", db])
            #expect(check.status == 0, "after kill \(i): \(check.stdout)\(check.stderr)")
            let now = try Self.export(db)
            #expect(now == before || now == expected, "kill \(i) left part of a merge")
            outcomes[now == before ? "unchanged" : "complete", default: 0] += 1
            #expect(try Self.merge(db, shards).status == 0)
            #expect(try Self.export(db) == expected, "kill \(i), merged again")
        }
        #expect(outcomes.values.reduce(0, +) == 12)
        print("killed merges: \(outcomes)")
    }
}
