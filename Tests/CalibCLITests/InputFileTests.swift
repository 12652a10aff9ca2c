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

/// Issue 13's findings about input files: entries of batch directories that cannot be read, files
/// that change or shrink while a run reads them, and inputs that would need more memory than there is.
@Suite struct InputFileTests {
    static func batch(_ value: Float) -> Data { TensorFiles.safetensors([("layer1.out", [2], [value, value + 1])]) }

    static func sessions(_ db: String) throws -> [String] {
        guard FileManager.default.fileExists(atPath: db) else { return [] }
        return try CalibStore(path: db, readOnly: true).sessions().map(\.session.name)
    }

    /// Finding 17: an entry named like a batch file that cannot be read (a dangling symlink, a
    /// symlink loop, a FIFO) used to be skipped silently inside a directory; it is now an error
    /// naming the entry, before anything is stored, as it is when given directly.
    @Test(arguments: ["dangling", "loop", "fifo", "dangling-dir"])
    func unreadableDirectoryEntryIsAnError(kind: String) throws {
        let dir = TemporaryDirectory()
        let data = dir.path("data")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try Self.batch(1).write(to: URL(fileURLWithPath: data + "/a.safetensors"))
        let entry: String
        let expected: String
        switch kind {
        case "dangling":
            entry = data + "/b.safetensors"
            try FileManager.default.createSymbolicLink(atPath: entry, withDestinationPath: dir.path("gone.safetensors"))
            expected = "is a dangling symbolic link to '\(dir.path("gone.safetensors"))'"
        case "loop":
            entry = data + "/b.npy"
            try FileManager.default.createSymbolicLink(atPath: entry, withDestinationPath: entry)
            expected = "is a symbolic link loop"
        case "fifo":
            entry = data + "/b.npz"
            #expect(mkfifo(entry, 0o600) == 0)
            expected = "is named like a batch file but is a FIFO, not a regular file"
        default:
            // A link without a batch extension may have been a batch directory.
            entry = data + "/batch-7"
            try FileManager.default.createSymbolicLink(atPath: entry, withDestinationPath: dir.path("gone"))
            expected = "is a dangling symbolic link"
        }
        let db = dir.path("cal.sqlite")
        let r = try CLI.run(["run", "--db", db, "--session", "s", data])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("calib: error: \(entry): \(expected)"), "\(r.stderr)")
        #expect(try Self.sessions(db).isEmpty)

        // Given directly, the same entry is refused with the same words.
        let direct = try CLI.run(["run", "--db", db, "--session", "s", entry])
        #expect(
            direct.status == 1 && direct.stderr.contains(entry)
                && direct.stderr.contains(kind == "fifo" ? "not a regular file" : expected), "\(direct.stderr)")

        // Hidden entries and files with other names are still skipped: the directory alone works.
        try FileManager.default.removeItem(atPath: entry)
        try Data("notes".utf8).write(to: URL(fileURLWithPath: data + "/README"))
        #expect(symlink(dir.path("gone"), data + "/.hidden-link") == 0)
        let ok = try CLI.run(["run", "--db", db, "--session", "s", data])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(try Self.sessions(db) == ["s"])
    }
}
