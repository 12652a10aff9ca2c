/// torch's CPU `sum` of one contiguous float32 row (`cascade_sum`, `vectorized_inner_sum`), in
/// its order: float32 lanes of `laneCount` values, four interleaved rows of lanes summed in a
/// four-level cascade, then the lanes in order. Float sums depend on order, and an analyzer that
/// picks the smallest sum can pick another candidate when two are within an ulp.
enum TorchSum {
    /// AVX2's 8 float lanes (torch's default CPU capability on x86-64 without AVX-512).
    static let laneCount = 8

    static func row(_ x: [Float]) -> Float {
        let lanes = laneCount
        let vectors = x.count / lanes
        guard vectors > 0 else { return x.reduce(0, +) }
        // row_sum: the vectors as a (-1, 4) array, each column summed by multi_row_sum.
        let ilp = 4
        let rows = vectors / ilp
        var partial = multiRowSum(x, rows: rows, lanes: lanes, ilp: ilp)
        for v in rows * ilp..<vectors {
            for l in 0..<lanes { partial[0][l] += x[v * lanes + l] }
        }
        for k in 1..<ilp {
            for l in 0..<lanes { partial[0][l] += partial[k][l] }
        }
        var total: Float = 0
        for i in vectors * lanes..<x.count { total += x[i] }
        for l in 0..<lanes { total += partial[0][l] }
        return total
    }

    /// multi_row_sum: `ilp` columns of vectors, each accumulated through four levels that flush
    /// upward every `2^levelPower` rows.
    private static func multiRowSum(_ x: [Float], rows: Int, lanes: Int, ilp: Int) -> [[Float]] {
        let levels = 4
        let levelPower = Swift.max(4, ceilLog2(rows) / levels)
        let levelStep = 1 << levelPower
        let levelMask = levelStep - 1
        var acc = [[[Float]]](
            repeating: [[Float]](repeating: [Float](repeating: 0, count: lanes), count: ilp), count: levels)
        func add(row i: Int) {
            for k in 0..<ilp {
                let base = (i * ilp + k) * lanes
                for l in 0..<lanes { acc[0][k][l] += x[base + l] }
            }
        }
        var i = 0
        while i + levelStep <= rows {
            for _ in 0..<levelStep {
                add(row: i)
                i += 1
            }
            for j in 1..<levels {
                for k in 0..<ilp {
                    for l in 0..<lanes {
                        acc[j][k][l] += acc[j - 1][k][l]
                        acc[j - 1][k][l] = 0
                    }
                }
                if i & (levelMask << (j * levelPower)) != 0 { break }
            }
        }
        while i < rows {
            add(row: i)
            i += 1
        }
        for j in 1..<levels {
            for k in 0..<ilp {
                for l in 0..<lanes { acc[0][k][l] += acc[j][k][l] }
            }
        }
        return acc[0]
    }

    /// c10::utils::CeilLog2 (0 for 0 and 1).
    private static func ceilLog2(_ v: Int) -> Int {
        v <= 1 ? 0 : Int.bitWidth - (v - 1).leadingZeroBitCount
    }
}
