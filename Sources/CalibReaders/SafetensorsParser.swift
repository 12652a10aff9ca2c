import CalibModel
import CalibSupport
import Foundation

/// Reads the safetensors layout: an 8-byte little-endian header length N, N bytes of JSON header,
/// then the raw little-endian C-order data, with each tensor's `data_offsets` relative to the end
/// of the header.
///
/// Validation is strict because a wrong offset or shape would silently feed garbage into the
/// statistics: every failure is an `InputError` naming the file and, when there is one, the tensor.
enum SafetensorsParser {
    /// Same bound as the reference implementation: a bigger header means a corrupt or foreign file.
    static let maximumHeaderLength = 100_000_000
    static let prefixLength = 8

    /// One validated header entry; offsets are relative to the start of the data area.
    struct Entry {
        let name: String
        let dtype: DType
        let shape: [Int]
        let begin: Int
        let end: Int
    }

    /// The tensors of a whole safetensors file (or stdin frame) held in `bytes`, pointing into it.
    static func tensors(in bytes: UnsafeRawBufferPointer, storage: AnyObject, file: String) throws -> [TensorData] {
        guard bytes.count >= prefixLength else {
            throw InputError(
                file: file,
                "file is \(bytes.count) bytes, shorter than the 8-byte header length: truncated or not safetensors")
        }
        let headerLength = try self.headerLength(prefix: bytes, file: file)
        let available = bytes.count - prefixLength
        guard headerLength <= available else {
            throw InputError(
                file: file,
                "header length \(headerLength) runs past the end of the file (\(available) bytes follow the length): truncated")
        }
        let dataStart = prefixLength + headerLength
        let entries = try self.entries(header: UnsafeRawBufferPointer(rebasing: bytes[prefixLength..<dataStart]), file: file)
        let data = UnsafeRawBufferPointer(rebasing: bytes[dataStart...])
        return try tensors(entries: entries, data: data, storage: storage, file: file)
    }

    /// The header length N from the first 8 bytes of `prefix`, rejected when absurd.
    static func headerLength(prefix: UnsafeRawBufferPointer, file: String) throws -> Int {
        let raw = UInt64(littleEndian: prefix.loadUnaligned(as: UInt64.self))
        guard raw <= UInt64(maximumHeaderLength) else {
            throw InputError(file: file, "header length \(raw) is absurd (over 100 MB): corrupt or not safetensors")
        }
        return Int(raw)
    }

    /// The size of the data area the entries need: the largest end offset.
    static func dataSize(of entries: [Entry]) -> Int { entries.map(\.end).max() ?? 0 }

    /// Parses and validates the JSON header on its own: everything but the data area's extent.
    static func entries(header: UnsafeRawBufferPointer, file: String) throws -> [Entry] {
        guard String(validating: header, as: UTF8.self) != nil else {
            throw InputError(file: file, "header is not valid UTF-8")
        }
        // One JSON parser for every file calib reads: keys stay in file order with duplicates kept (a
        // duplicated tensor name is an error, not a dropped tensor), and an integer is `.int` only
        // when its literal fits in 64 bits exactly (an offset of 2^70 is refused, not rounded).
        let root: JSONValue
        do {
            root = try JSONValue.parse(Data(header))
        } catch let error as FormatError {
            throw InputError(file: file, "header is not valid JSON: \(error.message)")
        }
        guard case .object(let members) = root else {
            throw InputError(file: file, "header is not a JSON object")
        }

        var entries: [Entry] = []
        var seen = Set<ExactName>()
        for (name, value) in members where name != "__metadata__" {
            guard seen.insert(ExactName(name)).inserted else {
                throw InputError(file: file, tensor: name, "duplicate tensor name in the header")
            }
            entries.append(try entry(name: name, value: value, file: file))
        }
        guard !entries.isEmpty else { throw InputError(file: file, "the file contains no tensors") }

        let byOffset = entries.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
        for (previous, next) in zip(byOffset, byOffset.dropFirst()) where next.begin < previous.end {
            throw InputError(
                file: file, tensor: next.name,
                "data_offsets [\(next.begin), \(next.end)] overlap tensor '\(previous.name)' [\(previous.begin), \(previous.end)]"
            )
        }
        return entries
    }

    /// Binds validated entries to the data area that follows the header.
    static func tensors(
        entries: [Entry], data: UnsafeRawBufferPointer, storage: AnyObject, file: String
    ) throws -> [TensorData] {
        for entry in entries where entry.end > data.count {
            throw InputError(
                file: file, tensor: entry.name,
                "data_offsets [\(entry.begin), \(entry.end)] lie outside the data area (\(data.count) bytes after the header): truncated or corrupt"
            )
        }
        let used = dataSize(of: entries)
        guard used == data.count else {
            throw InputError(file: file, "\(data.count - used) trailing bytes after the last tensor's data")
        }
        return entries.map { entry in
            TensorData(
                name: entry.name, dtype: entry.dtype, shape: entry.shape, byteOrder: .little,
                bytes: UnsafeRawBufferPointer(rebasing: data[entry.begin..<entry.end]), storage: storage)
        }
    }

    private static func entry(name: String, value: JSONValue, file: String) throws -> Entry {
        func fail(_ reason: String) -> InputError { InputError(file: file, tensor: name, reason) }

        guard case .object(let fields) = value else { throw fail("entry is not a JSON object") }
        func field(_ key: String) throws -> JSONValue {
            let values = fields.filter { $0.0 == key }
            guard values.count <= 1 else { throw fail("'\(key)' appears \(values.count) times in the entry") }
            guard let value = values.first?.1 else { throw fail("missing '\(key)'") }
            return value
        }

        let dtypeValue = try field("dtype")
        guard case .string(let dtypeName) = dtypeValue else {
            throw fail("'dtype' must be a string, got \(dtypeValue.literal)")
        }
        guard let dtype = DType(rawValue: dtypeName) else {
            let supported = DType.allCases.map(\.rawValue).joined(separator: ", ")
            throw fail("unknown dtype '\(dtypeName)' (supported: \(supported))")
        }

        let shapeValue = try field("shape")
        guard case .array(let dims) = shapeValue else {
            throw fail("'shape' must be an array of integers, got \(shapeValue.literal)")
        }
        let shape64 = dims.compactMap(\.int64)
        guard shape64.count == dims.count else {
            throw fail("'shape' must be an array of integers, got \(shapeValue.literal)")
        }
        if let negative = shape64.first(where: { $0 < 0 }) {
            throw fail("negative dimension \(negative) in shape \(shapeValue.literal)")
        }
        let shape = shape64.map { Int($0) }

        let offsetsValue = try field("data_offsets")
        guard case .array(let offsets) = offsetsValue, offsets.count == 2,
            let begin = offsets[0].int64, let end = offsets[1].int64, begin >= 0, end >= 0
        else {
            throw fail("'data_offsets' must be [begin, end], two non-negative 64-bit integers, got \(offsetsValue.literal)")
        }
        guard begin <= end else { throw fail("data_offsets [\(begin), \(end)]: begin is after end") }

        guard let elements = TensorLayout.elementCount(shape) else {
            throw fail("shape \(shapeValue.literal) is too large: its element count overflows")
        }
        guard elements > 0 else { throw fail("empty tensor: shape \(shapeValue.literal) has no elements") }
        guard let byteCount = TensorLayout.byteCount(elements: elements, dtype: dtype) else {
            throw fail("shape \(shapeValue.literal) is too large: its byte size overflows")
        }
        guard end - begin == Int64(byteCount) else {
            throw fail(
                "data_offsets [\(begin), \(end)] hold \(end - begin) bytes but shape \(shapeValue.literal) of \(dtype.rawValue) needs \(byteCount)"
            )
        }
        return Entry(name: name, dtype: dtype, shape: shape, begin: Int(begin), end: Int(end))
    }
}

extension JSONValue {
    /// The value as an integer, if it is an integer literal that fits in 64 bits.
    fileprivate var int64: Int64? {
        guard case .int(let i) = self else { return nil }
        return Int64(i)
    }

    /// The value as written (as Python's json prints it), for error messages.
    fileprivate var literal: String { pythonJSON(indent: nil) }
}
