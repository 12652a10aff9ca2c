import CXXHash
import Foundation
import GRDB

/// XXH3-64 of a row's values as SQLite gives them back, each tagged by its type: what
/// `statistics.digest` and `encodings.digest` hold. Written with every row and recomputed by every
/// reader, so a value changed after calib wrote it is found even when it is still a valid value.
struct RowDigest {
    private var bytes: [UInt8] = []
    private var blobs: [(at: Int, data: Data)] = []

    /// A value as SQLite will read it back: NaN is stored as NULL, and -0.0 in a REAL column reads
    /// back as 0.0.
    mutating func add(_ value: DatabaseValue) {
        switch value.storage {
        case .null: bytes.append(0)
        case .int64(let n): append(1, UInt64(bitPattern: n))
        case .double(let d):
            if d.isNaN { bytes.append(0) } else { append(2, (d == 0 ? 0 : d).bitPattern) }
        case .string(let s):
            let utf8 = Array(s.utf8)
            append(3, UInt64(utf8.count))
            bytes += utf8
        case .blob(let data):
            append(4, UInt64(data.count))
            blobs.append((bytes.count, data))
        }
    }

    mutating func add(_ values: [(any DatabaseValueConvertible)?]) {
        for v in values { add(v?.databaseValue ?? .null) }
    }

    private mutating func append(_ tag: UInt8, _ n: UInt64) {
        bytes.append(tag)
        withUnsafeBytes(of: n.littleEndian) { bytes += $0 }
    }

    /// The digest, as the signed integer SQLite stores.
    var value: Int64 {
        guard let state = XXH3_createState() else { return 0 }
        defer { XXH3_freeState(state) }
        XXH3_64bits_reset(state)
        var start = 0
        bytes.withUnsafeBytes { raw in
            for (at, data) in blobs {
                XXH3_64bits_update(state, raw.baseAddress! + start, at - start)
                data.withUnsafeBytes { _ = XXH3_64bits_update(state, $0.baseAddress, $0.count) }
                start = at
            }
            XXH3_64bits_update(state, raw.baseAddress! + start, raw.count - start)
        }
        return Int64(bitPattern: XXH3_64bits_digest(state))
    }
}
