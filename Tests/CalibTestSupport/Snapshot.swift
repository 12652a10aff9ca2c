import Foundation
import Testing

/// Whole-output snapshots of the CLI, in the spirit of swift-argument-parser's `assertSnapshot`:
/// the expected text lives in `Tests/CalibCLITests/Snapshots/NAME.txt`; a difference fails the test
/// with a line diff (`-` expected, `+` actual). `CALIB_RECORD_SNAPSHOTS=1 swift test` writes the
/// current output as the new snapshots (review them with `git diff`).
public enum Snapshot {
    public static let directory = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("CalibCLITests/Snapshots")

    static var recording: Bool { ProcessInfo.processInfo.environment["CALIB_RECORD_SNAPSHOTS"] == "1" }

    public static func check(_ actual: String, named name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let url = directory.appendingPathComponent(name + ".txt")
        let expected = try? String(contentsOf: url, encoding: .utf8)
        if recording || expected == nil {
            try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try? actual.write(to: url, atomically: true, encoding: .utf8)
            if !recording {
                Issue.record(
                    Comment(rawValue: "no snapshot \(name).txt yet: recorded it; check it in"), sourceLocation: sourceLocation)
            }
            return
        }
        guard let expected, expected != actual else { return }
        let diff = lineDiff(expected, actual)
        let message =
            "output differs from snapshot \(name).txt (- snapshot, + now; CALIB_RECORD_SNAPSHOTS=1 re-records):\n\(diff)"
        Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
    }

    /// A unified-style diff of two texts by lines (longest common subsequence), with two lines of
    /// context around each change.
    public static func lineDiff(_ a: String, _ b: String) -> String {
        let x = a.components(separatedBy: "\n"), y = b.components(separatedBy: "\n")
        var lcs = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
        for i in stride(from: x.count - 1, through: 0, by: -1) {
            for j in stride(from: y.count - 1, through: 0, by: -1) {
                lcs[i][j] = x[i] == y[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
            }
        }
        var lines: [(Character, String)] = []
        var i = 0, j = 0
        while i < x.count || j < y.count {
            if i < x.count, j < y.count, x[i] == y[j] {
                lines.append((" ", x[i]))
                i += 1
                j += 1
            } else if j < y.count, i == x.count || lcs[i][j + 1] > lcs[i + 1][j] {
                lines.append(("+", y[j]))
                j += 1
            } else {
                lines.append(("-", x[i]))
                i += 1
            }
        }
        let changed = Set(lines.indices.filter { lines[$0].0 != " " })
        return lines.indices.filter { k in (k - 2...k + 2).contains { changed.contains($0) } }
            .map { "\(lines[$0].0) \(lines[$0].1)" }.joined(separator: "\n")
    }
}
