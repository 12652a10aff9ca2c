import CalibTestSupport
import Foundation
import Testing

@testable import CalibModel
@testable import CalibObservers
@testable import CalibReaders
@testable import CalibSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Issue 13's findings about input files changing under a run (4, 5) and about memory (7), in-process.
@Suite struct InputMemoryTests {
    /// A float32 safetensors file of `count` values `value, value+1, …` (mod 1000) for one tensor `x`.
    static func write(_ path: String, count: Int, value: Float) throws {
        var values = [Float](repeating: 0, count: count)
        for i in 0..<count { values[i] = value + Float(i % 1000) }
        try TensorFiles.safetensors([("x", [count], values)]).write(to: URL(fileURLWithPath: path))
    }

    static func reader(_ path: String) throws -> Batch {
        let reader = try BatchReader(inputs: [path])
        return try #require(try reader.next())
    }

    /// Finding 4: a file truncated after it was mapped used to kill the process with SIGBUS on the
    /// next read. Observing it now completes, flags the tensor unreadable, and the batch's check
    /// names the file and how it changed.
    @Test(arguments: [(1, nil), (2, nil), (2, 0)] as [(Int, Int?)])
    func truncatedWhileObservedIsReportedNotFatal(threads: Int, axis: Int?) throws {
        let dir = TemporaryDirectory()
        let path = dir.path("big.safetensors")
        try Self.write(path, count: 2 << 20, value: 1)  // 8 MiB: several pieces, pages beyond the cut
        let batch = try Self.reader(path)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(truncate(path, 4096) == 0)
        // One thread and several, per-tensor and per-channel: every path reads through the guard.
        let ranges = RangeKernel.observe(batch.tensors, channelAxes: [axis], threads: threads, pieceBytes: 1 << 20)
        let unreadable = ranges[0].unreadable
        #expect(unreadable)
        do {
            try batch.checkUnchanged()
            Issue.record("a truncated file passed the check")
        } catch let error as InputError {
            #expect(error.file == path)
            #expect(error.reason.hasPrefix("changed while it was read (it shrank from \(size) to 4096 bytes)"), "\(error)")
        }
    }

    /// Finding 4, while hashing: the reader's guard turns the fault into an error naming the file.
    @Test func truncatedWhileHashedIsAnError() throws {
        let dir = TemporaryDirectory()
        let path = dir.path("big.safetensors")
        try Self.write(path, count: 1 << 20, value: 1)
        let file = try MappedFile(path: path)
        #expect(truncate(path, 100) == 0)
        let hasher = ContentHasher(.xxh3_128)
        #expect(throws: InputError.self) { try file.guarded { file.feed(hasher) } }
        do {
            try file.guarded { file.feed(hasher) }
        } catch let error as InputError {
            #expect(error.file == path && error.reason.contains("shrank from"), "\(error)")
        }
        // Unguarded reads of an intact mapping are unaffected, and an intact file passes the check.
        let intact = dir.path("intact.safetensors")
        try Self.write(intact, count: 1000, value: 1)
        let batch = try Self.reader(intact)
        let unreadable = RangeKernel.observe(batch.tensors, channelAxes: [nil], threads: 1)[0].unreadable
        #expect(!unreadable)
        try batch.checkUnchanged()
    }

    /// Finding 5: a file overwritten in place (same size) after it was hashed is caught by the
    /// batch's check, as are a replacement by another file and a removal.
    @Test func overwrittenInPlaceIsCaught() throws {
        let dir = TemporaryDirectory()
        let path = dir.path("b.safetensors")
        try Self.write(path, count: 1000, value: 1)
        let batch = try Self.reader(path)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seek(toOffset: 200)
        try handle.write(contentsOf: Data(repeating: 0x41, count: 8))
        try handle.close()
        do {
            try batch.checkUnchanged()
            Issue.record("an overwritten file passed the check")
        } catch let error as InputError {
            #expect(error.file == path)
            #expect(error.description.contains("changed while it was read (it was written to); nothing from it was stored"))
        }

        let replaced = try Self.reader(path)
        try Self.write(path + ".new", count: 1000, value: 1)
        #expect(rename(path + ".new", path) == 0)
        #expect(throws: InputError.self) { try replaced.checkUnchanged() }

        let removed = try Self.reader(path)
        #expect(unlink(path) == 0)
        #expect(throws: InputError.self) { try removed.checkUnchanged() }
    }

    /// Finding 7a: a 16 MB npz whose member declares 16 GiB used to be inflated (15.9 GB of memory)
    /// before failing. Deflated members are now checked against the memory left, all of a batch
    /// together, before anything is allocated, and the error names the file and the member.
    @Test func npzMembersAreBoundedByAvailableMemory() throws {
        let junk = [UInt8](repeating: 0x5A, count: 16_000_000)  // 1:1074, below the ratio refused as a bomb
        let zip = Zip.build([("first.npy", junk), ("big.npy", junk)], zip64: true, method: 8, declaredSize: 16 << 30)
        let members = try zip.withUnsafeBytes { try NpzArchive.centralDirectory(of: $0, file: "bomb.npz") }
        let limit = MemoryLimit(bytes: 48 << 30, source: "the memory available on this machine")
        do {
            try NpzArchive.checkMemory(members, file: "bomb.npz", available: limit)
            Issue.record("32 GiB of deflated members passed half of a 48 GiB limit")
        } catch let error as InputError {
            #expect(error.file == "bomb.npz")
            // The first member alone fits; the second one crosses half of what is left.
            #expect(error.tensor == "big")
            #expect(
                error.reason
                    == "the archive's deflated members inflate to 34359738368 bytes in memory (this one to 17179869184), "
                    + "more than half of the memory available on this machine (51539607552 bytes); store the arrays "
                    + "uncompressed (np.savez, not np.savez_compressed): calib maps those instead of reading them into memory")
        }
        // Within half of what is left, and stored members (mapped, not inflated), pass.
        try NpzArchive.checkMemory(members, file: "bomb.npz", available: MemoryLimit(bytes: 64 << 30 + 2, source: "x"))
        let stored = Zip.build([("big.npy", junk)], zip64: true, method: 0)
        let storedMembers = try stored.withUnsafeBytes { try NpzArchive.centralDirectory(of: $0, file: "s.npz") }
        try NpzArchive.checkMemory(storedMembers, file: "s.npz", available: MemoryLimit(bytes: 1000, source: "x"))
    }

    /// The limits calib reads are real numbers here: physical memory, and what is available below it.
    @Test func memoryLimitsAreRead() {
        let ceiling = MemoryLimit.ceiling(), available = MemoryLimit.available()
        #expect(ceiling.bytes > 1 << 26 && ceiling.bytes <= MemoryLimit.physical)
        #expect(available.bytes > 0 && available.bytes <= ceiling.bytes)
    }
}
