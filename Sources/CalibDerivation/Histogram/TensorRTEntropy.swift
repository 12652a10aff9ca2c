import CalibModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// TensorRT's entropy calibration as ModelOpt (`_compute_amax_entropy`) states it, from a 2048-bin
/// histogram of `|x|` (histogram-math.md, "TensorRT / ModelOpt entropy"): for every candidate bin
/// count `i` from 128 to 2048, the reference P is the first `i` bins with the tail folded into the
/// last, Q the same bins quantized to 128 levels (each level's sum spread evenly over its non-empty
/// bins) and expanded back; `amax` is the edge `i` of the last `i` with the least KL(P || Q).
///
/// No reference values exist here (TensorRT is not installable on this machine), so the tests check
/// it against a separate, literal transcription of the Python; float64 throughout, as numpy.
public enum TensorRTEntropy {
    public static let bins = 2048
    /// 8-bit signed: 128 levels on each side.
    public static let levels = 128

    /// The candidate bin count with the least divergence (the last on a tie) and the divergences of
    /// every candidate, `divergences[k]` for `i = levels + k`.
    public static func search(_ histogram: [Double], levels: Int = levels) -> (bins: Int, divergences: [Double]) {
        precondition(histogram.count >= levels, "fewer bins than levels")
        var h = histogram
        if h.count > 1 { h[0] = h[1] }  // ModelOpt: the first bin (mostly exact zeros) is not trusted
        let total = h.reduce(0, +)
        var suffix = [Double](repeating: 0, count: h.count + 1)
        for j in stride(from: h.count - 1, through: 0, by: -1) { suffix[j] = suffix[j + 1] + h[j] }
        var divergences: [Double] = []
        divergences.reserveCapacity(h.count - levels + 1)
        var levelSum = [Double](repeating: 0, count: levels)
        var levelNonEmpty = [Int](repeating: 0, count: levels)
        for i in levels...h.count {
            for k in 0..<levels {
                levelSum[k] = 0
                levelNonEmpty[k] = 0
            }
            // Bin j of the first i goes to level floor(j * levels / i) (np.digitize on linspace(0, i)).
            var qTotal = 0.0
            for j in 0..<i where h[j] != 0 {
                let k = j * levels / i
                levelSum[k] += h[j]
                levelNonEmpty[k] += 1
                qTotal += h[j]
            }
            var kl = 0.0
            for j in 0..<i {
                let p = j == i - 1 ? h[j] + suffix[i] : h[j]
                guard p > 0 else { continue }
                guard h[j] != 0 else {
                    kl = .infinity
                    break
                }
                let k = j * levels / i
                let q = levelSum[k] / Double(levelNonEmpty[k])
                let pk = p / total
                let qk = q / qTotal
                kl += pk * log(pk / qk)
            }
            divergences.append(kl)
        }
        var best = 0
        for k in divergences.indices where divergences[k] <= divergences[best] { best = k }
        return (levels + best, divergences)
    }

    /// `amax` from the histogram and its edges (`histogram.count + 1`): the edge of the chosen bin count.
    public static func amax(_ histogram: [Double], edges: [Float]) -> Float {
        edges[search(histogram).bins]
    }
}
