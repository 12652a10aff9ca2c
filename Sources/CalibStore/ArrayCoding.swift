import CalibModel
import CalibSupport
import Foundation

/// Per-channel arrays are stored as little-endian BLOBs: 4 bytes a channel for float32, 8 for
/// offsets. Compact, exact, and readable with `sqlite3` through hex() if need be.
enum ArrayCoding {
    static func encode(_ values: [Float]) -> Data {
        var data = Data(count: values.count * 4)
        data.withUnsafeMutableBytes { raw in
            for (i, v) in values.enumerated() {
                raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self)
            }
        }
        return data
    }

    static func encode(_ values: [Int]) -> Data {
        var data = Data(count: values.count * 8)
        data.withUnsafeMutableBytes { raw in
            for (i, v) in values.enumerated() { raw.storeBytes(of: Int64(v).littleEndian, toByteOffset: i * 8, as: Int64.self) }
        }
        return data
    }

    static func floats(_ data: Data) -> [Float] {
        decode(data, as: UInt32.self) { Float(bitPattern: UInt32(littleEndian: $0)) }
    }

    static func ints(_ data: Data) -> [Int] {
        decode(data, as: Int64.self) { Int(Int64(littleEndian: $0)) }
    }

    /// Element by element into an uninitialised array: a large session holds tens of millions of
    /// values, and this is about 1 ns an element faster than a `map` over indices.
    @inline(__always)
    private static func decode<Stored: FixedWidthInteger, Value>(
        _ data: Data, as: Stored.Type, _ convert: (Stored) -> Value
    ) -> [Value] {
        data.withUnsafeBytes { raw in
            let n = raw.count / MemoryLayout<Stored>.size
            return [Value](unsafeUninitializedCapacity: n) { out, count in
                for i in 0..<n {
                    out[i] = convert(raw.loadUnaligned(fromByteOffset: i &* MemoryLayout<Stored>.size, as: Stored.self))
                }
                count = n
            }
        }
    }
}
