import CalibTestSupport
import Foundation
import Testing

@testable import CalibKit
@testable import CalibStore

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
        let r = try CLI.run(["run", "--db", db, "--session", "s", "--shard", "0/2", "-"], stdin: Data())
        #expect(r.status != 0)
        #expect(r.stderr.contains("standard input cannot be split into shards"), "\(r.stderr)")
        let stored = FileManager.default.fileExists(atPath: db) ? try CalibStore(path: db, readOnly: true).sessions() : []
        #expect(stored.isEmpty, "a refused run stores nothing")
    }
}
