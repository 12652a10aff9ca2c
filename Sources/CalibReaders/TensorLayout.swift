import CalibModel
import CalibSupport

/// Overflow-safe sizes of a shape, so a hostile header ("shape": [2^40, 2^40]) is an error
/// instead of a trap or a wrapped-around small size.
enum TensorLayout {
    /// The product of the dimensions (1 for a 0-d shape), or nil when it overflows `Int`.
    static func elementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for dim in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            if overflow { return nil }
            count = product
        }
        return count
    }

    /// The bytes `elements` values of `dtype` take, or nil when that overflows `Int`.
    static func byteCount(elements: Int, dtype: DType) -> Int? {
        let (bytes, overflow) = elements.multipliedReportingOverflow(by: dtype.size)
        return overflow ? nil : bytes
    }
}
