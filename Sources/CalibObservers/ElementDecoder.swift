import CKernels
import CalibModel

/// Converts runs of stored elements (any dtype, either byte order) to float32, a block at a time,
/// so no tensor is ever converted or copied whole. The conversion itself is `ck_decode` (C, the same
/// code the observer kernels use on their generic path).
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
        guard count > 0 else { return }
        ck_decode(Int32(CK_ISA_BEST), dtype.kernelCode, swap ? 1 : 0, base + start * dtype.size, count, out)
    }
}

extension DType {
    /// The element-type code of the C kernels (`CK_F32`, …).
    var kernelCode: Int32 {
        switch self {
        case .float32: Int32(CK_F32)
        case .float16: Int32(CK_F16)
        case .bfloat16: Int32(CK_BF16)
        case .float64: Int32(CK_F64)
        case .int8: Int32(CK_I8)
        case .uint8: Int32(CK_U8)
        case .int16: Int32(CK_I16)
        case .uint16: Int32(CK_U16)
        case .int32: Int32(CK_I32)
        case .uint32: Int32(CK_U32)
        case .int64: Int32(CK_I64)
        case .uint64: Int32(CK_U64)
        case .bool: Int32(CK_BOOL)
        }
    }
}
