import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// File errors in plain words. Foundation reports a failed write as `NSCocoaErrorDomain Code=512
/// "(null)"` and hides the system's reason in `NSUnderlyingError`; a user needs the reason, the
/// file, and what to do (issue 13, finding 20).
public enum FileErrors {
    /// The POSIX error behind `error` (itself, or Foundation's underlying error), if any.
    public static func posixCode(_ error: any Error) -> Int32? {
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return Int32(ns.code) }
        // On Linux the underlying error casts to `any Error`, not to NSError.
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? any Error {
            let u = underlying as NSError
            if u.domain == NSPOSIXErrorDomain { return Int32(u.code) }
        }
        if let posix = error as? POSIXError { return posix.code.rawValue }
        return nil
    }

    /// Why `error` happened, as the system says it ("No such file or directory"), without
    /// Foundation's domain and code.
    public static func reason(_ error: any Error) -> String {
        if let code = posixCode(error) { return String(cString: strerror(code)) }
        if let cocoa = error as? CocoaError {
            switch cocoa.code {
            case .fileNoSuchFile, .fileReadNoSuchFile: return "No such file or directory"
            case .fileReadNoPermission, .fileWriteNoPermission: return "Permission denied"
            case .fileWriteOutOfSpace: return "No space left on device"
            case .fileWriteVolumeReadOnly: return "Read-only file system"
            case .fileWriteFileExists: return "File exists"
            default: break
            }
        }
        return (error as NSError).localizedDescription
    }

    /// What to do when writing `path` failed with `code`; empty when there is nothing specific to say.
    public static func writeAdvice(_ code: Int32, path: String) -> String {
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        switch code {
        case ENOENT: return "; the directory \(dir) does not exist: create it or choose another output path"
        case ENOTDIR: return "; a part of the path is a file, not a directory: choose another output path"
        case EACCES, EPERM: return "; no permission to write there: choose a directory you may write"
        case EROFS: return "; the file system is read-only: write elsewhere"
        case ENOSPC, EDQUOT: return "; the disk is full: free space and export again (nothing was replaced)"
        case EISDIR: return "; it is a directory: name a file (or pass the directory to a format that writes one)"
        case EEXIST: return "; a file of that name is in the way: remove it or choose another path"
        default: return ""
        }
    }

    /// What to do when reading `path` failed with `code`.
    public static func readAdvice(_ code: Int32, path: String) -> String {
        switch code {
        case ENOENT: return "; check the path"
        case EACCES, EPERM: return "; give calib read permission or copy the file somewhere readable"
        case EISDIR: return "; name a file"
        default: return ""
        }
    }

    /// "cannot read the config file: No such file or directory; check the path".
    public static func readFailure(_ what: String, path: String, _ error: any Error) -> String {
        var text = "cannot read \(what): \(reason(error))"
        if let code = posixCode(error) { text += readAdvice(code, path: path) }
        return text
    }
}
