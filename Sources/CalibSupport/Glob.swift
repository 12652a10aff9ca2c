#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Shell-style tensor-name patterns (`encoder.*.output`), as `fnmatch(3)` matches them.
public enum Glob {
    public static func matches(_ pattern: String, _ name: String) -> Bool {
        fnmatch(pattern, name, 0) == 0
    }

    /// True when `pattern` has no wildcard: it matches one name, itself.
    public static func isLiteral(_ pattern: String) -> Bool {
        !pattern.contains { "*?[\\".contains($0) }
    }

    /// True when `patterns` is empty (no filter) or any pattern matches.
    public static func matchesAny(_ patterns: [String], _ name: String) -> Bool {
        patterns.isEmpty || patterns.contains { matches($0, name) }
    }
}
