import CalibModel
import Foundation
import GRDB

/// A stored value that calib cannot read: the column, what it holds and what it should hold.
struct BadValue: Error, CustomStringConvertible {
    var session: String? = nil
    var tensor: String? = nil
    var message: String
    var description: String { message }
}

/// Typed reads of one row's columns that throw instead of trapping: GRDB's `row[i] as Double`
/// stops the process on a NULL or a TEXT, and a damaged database must give an error naming the
/// session and tensor, never a crash or a silently substituted default.
struct RowValues {
    let row: Row

    func column(_ i: Int) -> String { Array(row.columnNames)[i] }

    func bad(_ i: Int, _ expected: String) -> BadValue {
        let v = row[i] as DatabaseValue
        let shown: String
        switch v.storage {
        case .null: shown = "NULL"
        case .blob(let d): shown = "a \(d.count)-byte BLOB"
        case .string(let s): shown = "'\(s.prefix(40))'"
        case .int64(let n): shown = "\(n)"
        case .double(let d): shown = "\(d)"
        }
        return BadValue(message: "column \(column(i)) holds \(shown), not \(expected)")
    }

    func int(_ i: Int) throws -> Int {
        guard case .int64(let n) = (row[i] as DatabaseValue).storage else { throw bad(i, "an integer") }
        return Int(n)
    }

    func optionalInt(_ i: Int) throws -> Int? {
        (row[i] as DatabaseValue).isNull ? nil : try int(i)
    }

    func bool(_ i: Int) throws -> Bool {
        guard case .int64(let n) = (row[i] as DatabaseValue).storage, n == 0 || n == 1 else { throw bad(i, "0 or 1") }
        return n == 1
    }

    func text(_ i: Int) throws -> String {
        guard case .string(let s) = (row[i] as DatabaseValue).storage else { throw bad(i, "text") }
        return s
    }

    /// A REAL column that holds a float32 value; NULL gives nil (calib writes NaN, which SQLite
    /// cannot hold, as NULL). A double that is no float32 was not written by calib.
    func float(_ i: Int) throws -> Float? {
        switch (row[i] as DatabaseValue).storage {
        case .null: return nil
        case .double(let d):
            guard d.isNaN || Double(Float(d)) == d else { throw bad(i, "a float32 value") }
            return Float(d)
        case .int64(let n):
            guard Double(Float(n)) == Double(n) else { throw bad(i, "a float32 value") }
            return Float(n)
        default: throw bad(i, "a REAL")
        }
    }

    /// A value of one of `T`'s names.
    func name<T: RawRepresentable<String> & CaseIterable>(_ i: Int, _: T.Type) throws -> T {
        guard let v = T(rawValue: try text(i)) else {
            throw bad(i, "one of \(T.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", "))")
        }
        return v
    }

    /// A float32 BLOB of `count` values, decoded where SQLite holds it; nil when NULL.
    func floats(_ i: Int, count: Int) throws -> [Float]? {
        try blob(i, width: 4, count: count, ArrayCoding.floats)
    }

    /// An int64 BLOB of `count` values; nil when NULL.
    func ints(_ i: Int, count: Int) throws -> [Int]? {
        try blob(i, width: 8, count: count, ArrayCoding.ints)
    }

    private func blob<T>(_ i: Int, width: Int, count: Int, _ decode: (Data) -> [T]) throws -> [T]? {
        let values: [T]?? = try row.withUnsafeData(atIndex: i) { data in
            guard let data else { return .some(nil) }
            guard data.count == width * count else { return nil }
            return .some(decode(data))
        }
        guard let values else {
            if case .blob = (row[i] as DatabaseValue).storage {
                throw bad(i, "\(count) value\(count == 1 ? "" : "s") of \(width) bytes (\(width * count) bytes, one per channel)")
            }
            throw bad(i, "a BLOB")
        }
        return values
    }
}
