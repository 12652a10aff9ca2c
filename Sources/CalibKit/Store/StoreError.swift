/// Why the store refused an operation. Messages say what to do next.
public enum StoreError: Error, CustomStringConvertible, Sendable {
    case noDatabase(path: String)
    case newerSchema(path: String, unknown: [String])
    case migrationChanged(name: String)
    case noSuchSession(String)
    case sessionExists(String)
    case incompatible(session: String, tensor: String?, String)

    public var description: String {
        switch self {
        case .noDatabase(let path):
            "no calibration database at \(path) (run `calib run` first, or pass --db / set CALIB_DB)"
        case .newerSchema(let path, let unknown):
            "\(path) was written by a newer calib (unknown migrations: \(unknown.joined(separator: ", "))); upgrade calib to read it"
        case .migrationChanged(let name):
            "migration \(name) differs from the one applied to this database; migrations are append-only"
        case .noSuchSession(let name):
            "no session named '\(name)' (see `calib sessions`)"
        case .sessionExists(let name):
            "a session named '\(name)' already exists"
        case .incompatible(let session, let tensor, let message):
            "session '\(session)'\(tensor.map { ", tensor '\($0)'" } ?? ""): \(message)"
        }
    }
}
