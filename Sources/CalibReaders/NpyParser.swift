import CalibModel
import CalibSupport

/// Reads one .npy array: magic `\x93NUMPY`, a version, a little-endian header length (2 bytes for
/// 1.0, 4 bytes for 2.0 and 3.0), the header dict, then the raw data.
///
/// The returned tensor points into `bytes` (no copy). The whole buffer must be exactly the array:
/// a short file is truncated and extra bytes after the data mean the file is not what it claims.
///
/// Errors in the preamble (magic, version, header length) are about the file; once it is an npy
/// file, errors in its header and data are about the tensor, and name it.
enum NpyParser {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY

    /// - Parameters:
    ///   - name: the tensor name (the file stem, or the npz member without `.npy`).
    ///   - file: what every error names.
    ///   - tensor: what preamble errors name besides the file (the npz member; nil for a file of its own).
    static func tensor(
        in bytes: UnsafeRawBufferPointer, name: String, storage: AnyObject, file: String, tensor: String?
    ) throws -> TensorData {
        func preambleFail(_ reason: String) -> InputError { InputError(file: file, tensor: tensor, reason) }
        func fail(_ reason: String) -> InputError { InputError(file: file, tensor: name, reason) }

        guard bytes.count >= magic.count, bytes.prefix(magic.count).elementsEqual(magic) else {
            throw preambleFail("not an npy file (it does not start with the magic \\x93NUMPY)")
        }
        guard bytes.count >= 10 else { throw preambleFail("truncated: the file ends inside the npy preamble") }
        let (major, minor) = (bytes[6], bytes[7])
        let headerStart: Int
        let headerLength: Int
        switch (major, minor) {
        case (1, 0):
            headerStart = 10
            headerLength = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt16.self)))
        case (2, 0), (3, 0):
            guard bytes.count >= 12 else { throw preambleFail("truncated: the file ends inside the npy preamble") }
            headerStart = 12
            headerLength = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        default:
            throw preambleFail("unsupported npy version \(major).\(minor) (supported: 1.0, 2.0, 3.0)")
        }
        let available = bytes.count - headerStart
        guard headerLength <= available else {
            throw preambleFail(
                "header length \(headerLength) runs past the end of the file (\(available) bytes follow): truncated")
        }
        let dataStart = headerStart + headerLength
        let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[headerStart..<dataStart])

        // 1.0 and 2.0 headers are latin-1; 3.0 exists to allow utf-8.
        let text: String
        if major == 3 {
            guard let utf8 = String(validating: headerBytes, as: UTF8.self) else {
                throw fail("npy 3.0 header is not valid UTF-8")
            }
            text = utf8
        } else {
            text = String(String.UnicodeScalarView(headerBytes.map { Unicode.Scalar($0) }))
        }
        let header = try NpyHeader(text: text, fail: fail)
        let (dtype, byteOrder) = try element(descr: header.descr, fail: fail)

        let shapeText = "(" + header.shape.map(String.init).joined(separator: ", ") + (header.shape.count == 1 ? ",)" : ")")
        guard let elements = TensorLayout.elementCount(header.shape),
            let byteCount = TensorLayout.byteCount(elements: elements, dtype: dtype)
        else {
            throw fail("shape \(shapeText) is too large: its byte size overflows")
        }
        guard elements > 0 else { throw fail("empty tensor: shape \(shapeText) has no elements") }
        let dataAvailable = bytes.count - dataStart
        guard dataAvailable >= byteCount else {
            throw fail(
                "truncated: shape \(shapeText) of '\(header.descr)' needs \(byteCount) data bytes but only \(dataAvailable) follow the header"
            )
        }
        guard dataAvailable == byteCount else {
            throw fail("\(dataAvailable - byteCount) trailing bytes after the data of shape \(shapeText) of '\(header.descr)'")
        }
        return TensorData(
            name: name, dtype: dtype, shape: header.shape, byteOrder: byteOrder, fortranOrder: header.fortranOrder,
            bytes: UnsafeRawBufferPointer(rebasing: bytes[dataStart...]), storage: storage)
    }

    /// Maps a numpy type string (`<f4`, `>i8`, `|b1`, ...) to an element type and byte order.
    static func element(descr: String, fail: (String) -> InputError) throws -> (DType, ByteOrder) {
        var code = Substring(descr)
        var order = ByteOrder.native
        switch code.first {
        case "<":
            order = .little
            code = code.dropFirst()
        case ">":
            order = .big
            code = code.dropFirst()
        case "|", "=":
            order = .native
            code = code.dropFirst()
        default: break
        }
        let dtype: DType
        switch code {
        case "f2": dtype = .float16
        case "f4": dtype = .float32
        case "f8": dtype = .float64
        case "i1": dtype = .int8
        case "i2": dtype = .int16
        case "i4": dtype = .int32
        case "i8": dtype = .int64
        case "u1": dtype = .uint8
        case "u2": dtype = .uint16
        case "u4": dtype = .uint32
        case "u8": dtype = .uint64
        case "b1": dtype = .bool
        default:
            switch code.first {
            case "c":
                throw fail("complex dtype '\(descr)' is not supported: save the real and imaginary parts as separate arrays")
            case "O":
                throw fail("object dtype '\(descr)' is not supported: save a numeric array (allow_pickle data cannot be read)")
            case "U", "S", "a":
                throw fail("string dtype '\(descr)' is not supported: only numeric arrays can be calibrated")
            case "V":
                throw fail(
                    "raw/structured dtype '\(descr)' is not supported (bfloat16 has no npy type: use safetensors for BF16)")
            default:
                throw fail("unsupported dtype '\(descr)' (supported: f2, f4, f8, i1, i2, i4, i8, u1, u2, u4, u8, b1)")
            }
        }
        // Single-byte elements have no byte order; keep them little so consumers need no special case.
        return (dtype, dtype.size == 1 ? .little : order)
    }
}
