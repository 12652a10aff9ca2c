import CalibSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One tensor of one batch, as it lies in the file: no element has been copied or converted.
///
/// `bytes` points into memory owned by `storage` (usually a read-only file mapping); keep the
/// `TensorData` alive while reading them.
public struct TensorData: @unchecked Sendable {
    public let name: String
    public let dtype: DType
    /// The logical shape, outermost axis first, as the producer (numpy, torch) reports it.
    public let shape: [Int]
    public let byteOrder: ByteOrder
    /// Column-major element order (numpy `fortran_order`). Such data has the memory layout of a
    /// C-order tensor with the shape reversed.
    public let fortranOrder: Bool
    public let bytes: UnsafeRawBufferPointer
    public let storage: AnyObject?

    public init(
        name: String, dtype: DType, shape: [Int], byteOrder: ByteOrder = .little,
        fortranOrder: Bool = false, bytes: UnsafeRawBufferPointer, storage: AnyObject?
    ) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.byteOrder = byteOrder
        self.fortranOrder = fortranOrder
        self.bytes = bytes
        self.storage = storage
    }

    /// Number of elements (1 for a 0-d tensor).
    public var elementCount: Int { shape.reduce(1, *) }

    /// The shape in memory order: C order as is, Fortran order reversed.
    public var memoryShape: [Int] { fortranOrder ? shape.reversed() : shape }

    /// The memory-order axis of logical axis `axis` (already non-negative).
    public func memoryAxis(_ axis: Int) -> Int { fortranOrder ? shape.count - 1 - axis : axis }
}

/// Heap storage that owns copied or decompressed bytes (stdin frames, deflated npz members).
public final class OwnedBytes: @unchecked Sendable {
    public private(set) var pointer: UnsafeMutableRawBufferPointer

    public init(count: Int) {
        pointer = UnsafeMutableRawBufferPointer(start: Self.reallocate(nil, max(count, 1)), count: max(count, 1))
    }

    /// nil when the allocation fails, for callers that can refuse their input instead of trapping.
    public init?(allocating count: Int) {
        guard let p = realloc(nil, max(count, 1)) else { return nil }
        pointer = UnsafeMutableRawBufferPointer(start: p, count: max(count, 1))
    }

    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(pointer)[0..<pointer.count])
    }

    /// Grows or shrinks the buffer, keeping its first bytes (realloc: large blocks move without a
    /// copy). Only while no tensor points into it: the address may change.
    public func resize(to count: Int) {
        pointer = UnsafeMutableRawBufferPointer(start: Self.reallocate(pointer.baseAddress, max(count, 1)), count: max(count, 1))
    }

    /// As `resize(to:)`, but false (the buffer unchanged) when the memory cannot be had.
    public func tryResize(to count: Int) -> Bool {
        guard let p = realloc(pointer.baseAddress, max(count, 1)) else { return false }
        pointer = UnsafeMutableRawBufferPointer(start: p, count: max(count, 1))
        return true
    }

    private static func reallocate(_ old: UnsafeMutableRawPointer?, _ count: Int) -> UnsafeMutableRawPointer {
        guard let p = realloc(old, count) else { fatalError("out of memory allocating \(count) bytes") }
        return p
    }

    deinit { free(pointer.baseAddress) }
}
