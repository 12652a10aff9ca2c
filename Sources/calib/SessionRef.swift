import CalibKit
import Foundation

/// A session named on the command line: `NAME` in the `--db` database, or `PATH.sqlite:NAME` in another.
struct SessionRef {
    let dbPath: String
    let name: String

    init(_ text: String, defaultDB: String) {
        if let colon = text.lastIndex(of: ":") {
            let path = String(text[..<colon])
            if FileManager.default.fileExists(atPath: path) {
                dbPath = path
                name = String(text[text.index(after: colon)...])
                return
            }
        }
        dbPath = defaultDB
        name = text
    }

    func open() throws -> (CalibStore, Session) {
        let store = try DatabaseOptions.openForReading(dbPath)
        return (store, try store.requireSession(name))
    }
}
