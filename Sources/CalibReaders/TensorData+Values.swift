import CalibModel
import CalibSupport

extension TensorData {
    /// Every element converted to Float, in logical C order (Fortran-order data is transposed
    /// back), whatever the dtype and byte order.
    ///
    /// An allocating path (float32 in native order is one copy, other types element by element) for
    /// tests, small tools and the tool histograms, which fold decoded float32; the range kernel and
    /// calib's histogram read `bytes` directly.
    public func floatValues() -> [Float] {
        let count = elementCount
        var memoryOrder: [Float]
        if dtype == .float32 && byteOrder == .native && bytes.count >= count * 4 {
            // The common case, copied whole (the bytes may be unaligned, so not bound in place).
            memoryOrder = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                if count > 0 {
                    UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: bytes.baseAddress!, byteCount: count * 4)
                }
                initialized = count
            }
        } else {
            memoryOrder = [Float](repeating: 0, count: count)
            for i in 0..<count { memoryOrder[i] = element(at: i) }
        }
        guard fortranOrder, shape.count > 1 else { return memoryOrder }

        // Column-major strides: the first logical axis varies fastest in memory.
        var strides = [Int](repeating: 1, count: shape.count)
        for axis in 1..<shape.count { strides[axis] = strides[axis - 1] * shape[axis - 1] }
        var values = [Float]()
        values.reserveCapacity(count)
        var index = [Int](repeating: 0, count: shape.count)
        for _ in 0..<count {
            values.append(memoryOrder[zip(index, strides).reduce(0) { $0 + $1.0 * $1.1 }])
            // Advance the logical index in C order: last axis fastest.
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return values
    }

    /// Element `i` in memory order, as Float.
    private func element(at i: Int) -> Float {
        switch dtype {
        case .float32: Float(bitPattern: load(UInt32.self, i))
        case .float64: Float(Double(bitPattern: load(UInt64.self, i)))
        case .float16: Float(Float16(bitPattern: load(UInt16.self, i)))
        // bfloat16 is the high half of a float32.
        case .bfloat16: Float(bitPattern: UInt32(load(UInt16.self, i)) << 16)
        case .int8: Float(Int8(bitPattern: load(UInt8.self, i)))
        case .uint8: Float(load(UInt8.self, i))
        case .int16: Float(Int16(bitPattern: load(UInt16.self, i)))
        case .uint16: Float(load(UInt16.self, i))
        case .int32: Float(Int32(bitPattern: load(UInt32.self, i)))
        case .uint32: Float(load(UInt32.self, i))
        case .int64: Float(Int64(bitPattern: load(UInt64.self, i)))
        case .uint64: Float(load(UInt64.self, i))
        case .bool: load(UInt8.self, i) != 0 ? 1 : 0
        }
    }

    /// The i-th stored integer of width `T`, unaligned and converted from the stored byte order.
    private func load<T: FixedWidthInteger>(_: T.Type, _ i: Int) -> T {
        let raw = bytes.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)
        return byteOrder == .big ? T(bigEndian: raw) : T(littleEndian: raw)
    }
}
