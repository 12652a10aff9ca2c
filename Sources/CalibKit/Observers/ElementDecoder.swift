/// Converts runs of stored elements (any dtype, either byte order) to float32, a block at a time,
/// so no tensor is ever converted or copied whole.
struct ElementDecoder {
    let base: UnsafeRawPointer
    let dtype: DType
    let swap: Bool

    init(_ tensor: TensorData) {
        base = tensor.bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!
        dtype = tensor.dtype
        swap = tensor.byteOrder != .native && tensor.dtype.size > 1
    }

    /// True when elements can be read in place as float32.
    var isNativeFloat32: Bool { dtype == .float32 && !swap }

    /// Writes elements `[start, start + count)` as float32 into `out`.
    func decode(start: Int, count: Int, into out: UnsafeMutablePointer<Float>) {
        let p = base + start * dtype.size
        @inline(__always) func load<T: FixedWidthInteger>(_: T.Type, _ i: Int) -> T {
            let v = p.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)
            return swap ? v.byteSwapped : v
        }
        switch dtype {
        case .float32:
            for i in 0..<count { out[i] = Float(bitPattern: load(UInt32.self, i)) }
        case .float16:
            for i in 0..<count { out[i] = Float(Float16(bitPattern: load(UInt16.self, i))) }
        case .bfloat16:
            for i in 0..<count { out[i] = Float(bitPattern: UInt32(load(UInt16.self, i)) << 16) }
        case .float64:
            for i in 0..<count { out[i] = Float(Double(bitPattern: load(UInt64.self, i))) }
        case .int8:
            for i in 0..<count { out[i] = Float(load(Int8.self, i)) }
        case .uint8:
            for i in 0..<count { out[i] = Float(load(UInt8.self, i)) }
        case .bool:
            for i in 0..<count { out[i] = load(UInt8.self, i) == 0 ? 0 : 1 }
        case .int16:
            for i in 0..<count { out[i] = Float(load(Int16.self, i)) }
        case .uint16:
            for i in 0..<count { out[i] = Float(load(UInt16.self, i)) }
        case .int32:
            for i in 0..<count { out[i] = Float(load(Int32.self, i)) }
        case .uint32:
            for i in 0..<count { out[i] = Float(load(UInt32.self, i)) }
        case .int64:
            for i in 0..<count { out[i] = Float(load(Int64.self, i)) }
        case .uint64:
            for i in 0..<count { out[i] = Float(load(UInt64.self, i)) }
        }
    }
}
