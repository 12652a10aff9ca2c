import Foundation

/// A minimal FlatBuffers builder: tables of offset fields, vectors of offsets and strings, which is all
/// the calibration tables need. It follows the reference Python builder (`flatbuffers.Builder`, the one
/// ONNX Runtime writes with) step for step — back-to-front, the same alignment padding, vtables shared
/// between equal tables — so equal inputs give the same bytes.
public struct FlatBufferBuilder {
    public init() {}

    /// The buffer from its end backwards: `reversed[k]` is the byte `k + 1` bytes before the end.
    private var reversed: [UInt8] = []
    private var minAlign = 1
    private var vtable: [Int] = []
    private var objectEnd = 0
    private var vtables: [[Int]: Int] = [:]
    private var vectorCount = 0

    /// An offset: the number of bytes from the end of the buffer to the start of an object.
    public typealias Offset = Int

    /// The current size of the buffer (Python's `Offset()`).
    public var offset: Offset { reversed.count }

    private mutating func pad(_ n: Int) {
        reversed.append(contentsOf: repeatElement(0, count: n))
    }

    /// Aligns so that after `additional` more bytes the buffer is aligned to `size`.
    private mutating func prep(_ size: Int, _ additional: Int) {
        if size > minAlign { minAlign = size }
        pad((~(offset + additional) &+ 1) & (size - 1))
    }

    private mutating func place<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { reversed.append(contentsOf: $0.reversed()) }
    }

    private mutating func prepend<T: FixedWidthInteger>(_ value: T) {
        prep(MemoryLayout<T>.size, 0)
        place(value)
    }

    /// Prepends an offset to `target`, relative to where it is written.
    public mutating func prependOffset(_ target: Offset) {
        prep(4, 0)
        place(UInt32(truncatingIfNeeded: offset - target + 4))
    }

    /// A string: its length, its UTF-8 bytes and a terminating zero.
    public mutating func createString(_ s: String) -> Offset {
        let bytes = Array(s.utf8)
        prep(4, bytes.count + 1)
        place(UInt8(0))
        reversed.append(contentsOf: bytes.reversed())
        place(UInt32(truncatingIfNeeded: bytes.count))
        return offset
    }

    /// Starts a vector of `count` offsets; prepend them last first, then call `endVector`.
    public mutating func startOffsetVector(count: Int) {
        vectorCount = count
        prep(4, 4 * count)
        prep(4, 4 * count)
    }

    public mutating func endVector() -> Offset {
        place(UInt32(truncatingIfNeeded: vectorCount))
        return offset
    }

    public mutating func startTable(fieldCount: Int) {
        vtable = [Int](repeating: 0, count: fieldCount)
        objectEnd = offset
    }

    /// Adds an offset field (skipped when `target` is 0, the default, as generated code does).
    public mutating func addOffsetField(_ index: Int, _ target: Offset) {
        guard target != 0 else { return }
        prependOffset(target)
        vtable[index] = offset
    }

    /// Ends the table: writes its vtable, or points it at an equal vtable written before.
    public mutating func endTable() -> Offset {
        prep(4, 0)
        place(Int32(0))  // the vtable offset, patched below
        let objectOffset = offset
        var key: [Int] = []
        var trim = true
        for elem in vtable.reversed() {
            if elem == 0 {
                if trim { continue }
                key.append(0)
            } else {
                key.append(objectOffset - elem)
                trim = false
            }
        }
        let objectSize = objectOffset - objectEnd
        key.append(objectSize)
        let soffset: Int
        if let existing = vtables[key] {
            soffset = existing - objectOffset
        } else {
            var trailing = 0
            trim = true
            for elem in vtable.reversed() {
                var off = 0
                if elem == 0 {
                    if trim {
                        trailing += 1
                        continue
                    }
                } else {
                    off = objectOffset - elem
                    trim = false
                }
                prepend(UInt16(truncatingIfNeeded: off))
            }
            prepend(UInt16(truncatingIfNeeded: objectSize))
            prepend(UInt16(truncatingIfNeeded: (vtable.count - trailing + 2) * 2))
            soffset = offset - objectOffset
            vtables[key] = offset
        }
        withUnsafeBytes(of: Int32(truncatingIfNeeded: soffset).littleEndian) { raw in
            for (k, b) in raw.enumerated() { reversed[objectOffset - 1 - k] = b }
        }
        vtable = []
        return objectOffset
    }

    /// Finishes the buffer with `root` as its root table and returns it.
    public mutating func finish(root: Offset) -> Data {
        prep(minAlign, 4)
        prependOffset(root)
        return Data(reversed.reversed())
    }
}

/// Bounds-checked reading of a FlatBuffers buffer: every offset is checked before it is followed, so
/// garbage input throws instead of trapping.
public struct FlatBufferReader {
    public let bytes: [UInt8]
    public let format: String

    public init(_ data: Data, format: String) {
        bytes = [UInt8](data)
        self.format = format
    }

    private func fail(_ message: String) -> FormatError { FormatError(format: format, message) }

    private func read<T: FixedWidthInteger>(_: T.Type, at position: Int, _ what: String) throws -> T {
        let size = MemoryLayout<T>.size
        guard position >= 0, position <= bytes.count - size else {
            throw fail("\(what) at byte \(position) is outside the \(bytes.count)-byte buffer")
        }
        var v: T = 0
        for k in 0..<size { v |= T(truncatingIfNeeded: bytes[position + k]) << (8 * k) }
        return v
    }

    /// The position of the root table.
    public func rootTable() throws -> Int {
        guard bytes.count >= 8 else { throw fail("\(bytes.count) bytes is too short for a FlatBuffers table") }
        return try target(ofOffsetAt: 0, "root table offset")
    }

    /// The position an unsigned offset stored at `position` points to.
    public func target(ofOffsetAt position: Int, _ what: String) throws -> Int {
        let t = position + Int(try read(UInt32.self, at: position, what))
        guard t < bytes.count else { throw fail("\(what) at byte \(position) points past the end of the buffer") }
        return t
    }

    /// The position of field `index` of the table at `table`, nil when the field is absent.
    public func field(_ index: Int, ofTable table: Int, _ what: String) throws -> Int? {
        let vtable = table - Int(try read(Int32.self, at: table, "vtable offset of \(what)"))
        let vtableSize = Int(try read(UInt16.self, at: vtable, "vtable of \(what)"))
        guard vtableSize >= 4, vtableSize % 2 == 0 else {
            throw fail("vtable of \(what) at byte \(vtable) has size \(vtableSize)")
        }
        let objectSize = Int(try read(UInt16.self, at: vtable + 2, "vtable of \(what)"))
        let entry = 4 + 2 * index
        guard entry < vtableSize else { return nil }
        let fieldOffset = Int(try read(UInt16.self, at: vtable + entry, "vtable of \(what)"))
        guard fieldOffset != 0 else { return nil }
        guard fieldOffset + 4 <= objectSize else {
            throw fail("field \(index) of \(what) at byte \(table) lies outside its \(objectSize)-byte table")
        }
        return table + fieldOffset
    }

    /// The element positions of the vector of offsets at `vector`.
    public func offsetVector(at vector: Int, _ what: String) throws -> [Int] {
        let count = Int(try read(UInt32.self, at: vector, "length of \(what)"))
        guard count <= (bytes.count - vector - 4) / 4 else {
            throw fail("\(what) at byte \(vector) claims \(count) elements, more than the buffer holds")
        }
        return (0..<count).map { vector + 4 + 4 * $0 }
    }

    /// The string at `position` (its length, then its UTF-8 bytes).
    public func string(at position: Int, _ what: String) throws -> String {
        let length = Int(try read(UInt32.self, at: position, "length of \(what)"))
        guard length <= bytes.count - position - 4 else {
            throw fail("\(what) at byte \(position) claims \(length) bytes, more than the buffer holds")
        }
        let start = position + 4
        guard let s = String(validatingUTF8Bytes: Array(bytes[start..<(start + length)])) else {
            throw fail("\(what) at byte \(position) is not valid UTF-8")
        }
        return s
    }
}
