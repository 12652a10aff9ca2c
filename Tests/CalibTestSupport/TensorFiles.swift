import Foundation

/// Builds small tensor files byte by byte, including deliberately broken ones.
public enum TensorFiles {
    /// A safetensors file from a raw JSON header and data section.
    public static func safetensors(header: String, data: Data, declaredHeaderLength: UInt64? = nil) -> Data {
        var out = Data()
        let h = Data(header.utf8)
        withUnsafeBytes(of: (declaredHeaderLength ?? UInt64(h.count)).littleEndian) { out.append(contentsOf: $0) }
        out.append(h)
        out.append(data)
        return out
    }

    /// A valid float32 safetensors file holding `tensors` (name, shape, values) in order.
    public static func safetensors(_ tensors: [(String, [Int], [Float])]) -> Data {
        var entries: [String] = []
        var data = Data()
        for (name, shape, values) in tensors {
            let begin = data.count
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
            entries.append("\"\(name)\":{\"dtype\":\"F32\",\"shape\":\(shape),\"data_offsets\":[\(begin),\(data.count)]}")
        }
        return safetensors(header: "{" + entries.joined(separator: ",") + "}", data: data)
    }

    /// A version 1.0 .npy file with the given descr and raw data.
    public static func npy(descr: String, shape: [Int], data: Data, fortran: Bool = false) -> Data {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shapeText), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var out = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        withUnsafeBytes(of: UInt16(header.utf8.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(Data(header.utf8))
        out.append(data)
        return out
    }

    public static func floats(_ values: [Float]) -> Data {
        var data = Data()
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        return data
    }
}
