import CalibStore
import Foundation

/// Test fixtures live in the source tree (Tests/CalibTests/Fixtures), found from this file's path,
/// so tests need neither Bundle.module nor ../shared.
public enum Fixtures {
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("CalibTests/Fixtures")

    public static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }
    public static func path(_ relative: String) -> String { url(relative).path }
}

/// A fresh temporary directory, removed when the value is deinitialised.
public final class TemporaryDirectory {
    public let url: URL
    public init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("calib-test-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    deinit { try? FileManager.default.removeItem(at: url) }
}

/// The two ways a store is opened, for store tests that run one body on both (as GRDB's own tests
/// do): an in-memory `DatabaseQueue`, and the WAL-mode file `DatabasePool` `calib` uses.
public enum StoreKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case memory, file

    public var description: String { rawValue }

    /// A new, empty store of this kind; file stores live in `directory`.
    public func make(in directory: TemporaryDirectory, name: String = "store") throws -> CalibStore {
        switch self {
        case .memory: try CalibStore()
        case .file: try CalibStore(path: directory.path(name + ".sqlite"))
        }
    }
}
