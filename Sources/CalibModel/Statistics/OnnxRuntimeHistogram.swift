import CalibSupport

/// onnxruntime 1.31.1 `HistogramCollector` state for one tensor (`quantization/calibrate.py`), kept
/// operation for operation: float32 edges, int64 counts, numpy's `histogram` bin-index correction and
/// the float64 `np.arange` edges, so that a method computed on it gives onnxruntime's range bit for bit
/// (see histogram-math.md, "ONNX Runtime histogram calibration").
///
/// onnxruntime's growth and merge rules are order-dependent and lossy, so this state is only ever fed
/// in batch order; it cannot be merged across shards. One `collect` is one call of onnxruntime's
/// `collect`: `quantize_static` makes one over all batches concatenated (`collect all`),
/// `CalibStridedMinMax=1` one per batch (`per-batch`).
public struct OnnxRuntimeHistogram: Sendable, Hashable {
    /// Which of onnxruntime's two collectors: `collect_value` or `collect_absolute_value`.
    public enum Kind: UInt8, Sendable, Hashable, CaseIterable {
        /// Signed values on a grid symmetric around 0 (entropy, distribution, percentile without
        /// CalibTensorRangeSymmetric).
        case signed = 1
        /// `|x|` from the first collect's smallest `|x|` upwards (percentile with
        /// CalibTensorRangeSymmetric, onnxruntime's default for percentile).
        case absolute = 2
    }

    /// More bins than this make `collect` throw: onnxruntime grows without a limit, a stored state
    /// must stay bounded (4 Mi bins is 48 MiB of counts and edges).
    public static let maxBins = 1 << 22

    public let kind: Kind
    /// `num_bins`: the bin count of the first collect.
    public let bins: Int
    /// Per-bin counts; empty before the first collect.
    public var counts: [Int64]
    /// `counts.count + 1` float32 edges; empty before the first collect.
    public var edges: [Float]
    /// The running minimum and maximum of the signed values, the clamps of entropy and percentile.
    public var min: Float
    public var max: Float
    /// The grid's half-width `T` of a signed histogram (edges run from `-T` to `T`); 0 for `absolute`.
    public var threshold: Float

    public init(kind: Kind, bins: Int) {
        precondition(bins >= 1 && bins <= Self.maxBins, "bins must be in 1...\(Self.maxBins)")
        self.kind = kind
        self.bins = bins
        counts = []
        edges = []
        min = .infinity
        max = -.infinity
        threshold = 0
    }

    /// Whether any collect has happened.
    public var hasData: Bool { !counts.isEmpty }

    /// Whether the next collect's extent must hold the smallest `|x|`: only the first collect of an
    /// `absolute` histogram starts its grid there.
    public var needsAbsoluteMinimum: Bool { kind == .absolute && !hasData }
}

/// Why a collect cannot go on where onnxruntime would (or would raise).
public enum HistogramError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The grid would exceed `OnnxRuntimeHistogram.maxBins`.
    case tooManyBins
    /// An `absolute` histogram whose first two edges coincide cannot grow (np.arange with step 0).
    case degenerateEdges
    /// Serialised bytes that are not a histogram state of this version.
    case corrupt(String)

    public var description: String {
        switch self {
        case .tooManyBins: "histogram would need more than \(OnnxRuntimeHistogram.maxBins) bins"
        case .degenerateEdges: "histogram edges have zero width and cannot grow"
        case .corrupt(let why): "corrupt histogram state: \(why)"
        }
    }
}
