import Foundation

public enum Timestamp {
    /// ISO-8601 UTC with milliseconds: sorts as text, readable in the sqlite3 shell.
    public static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }
}
