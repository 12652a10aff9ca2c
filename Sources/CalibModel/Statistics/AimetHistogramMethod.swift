import CalibSupport

/// The histogram calibration methods of aimet-torch 2.42 (`PercentileEncodingAnalyzer`,
/// `SqnrEncodingAnalyzer`, `TfEnhancedEncodingAnalyzer`). Each one fixes how its histogram grows
/// batch by batch, so the method is chosen before the first batch is observed; only the
/// percentile can change afterwards (Percentile and SQNR share the same histogram).
public enum AimetHistogramMethod: Sendable, Hashable {
    /// Clips `100 - p` percent of the values off each end; `p` in [50, 100].
    case percentile(Double)
    /// The (delta, offset) with the lowest estimated quantization plus weighted clipping noise.
    case sqnr
    /// SQNR on AIMET 1.x's histogram: 512 bins, growth limited to 3 times the first batch's range.
    case tfEnhanced

    /// Bins per histogram: 2048, except TF-enhanced's 512.
    public var binCount: Int {
        switch self {
        case .percentile, .sqnr: 2048
        case .tfEnhanced: 512
        }
    }

    /// How far the histogram may grow beyond the first batch's range, in multiples of that range
    /// (half on each side); later values beyond the limit land in the end bins.
    public var growthLimit: Float {
        switch self {
        case .percentile, .sqnr: .infinity
        case .tfEnhanced: 3
        }
    }
}

extension AimetHistogramMethod {
    /// The method as `--method` (and `--percentile`, as a decimal string, so that it reads back as
    /// the same double) spell it: what `calib derive` records with an encoding set, and what
    /// `calib check` reads back to re-derive the set.
    public var json: JSONValue {
        switch self {
        case .percentile(let p): .object([("method", .string("percentile")), ("percentile", .string("\(p)"))])
        case .sqnr: .object([("method", .string("sqnr"))])
        case .tfEnhanced: .object([("method", .string("tf-enhanced"))])
        }
    }

    /// Reads what `json` wrote; nil for anything else.
    public init?(json: JSONValue) {
        switch json.member("method")?.stringValue {
        case "percentile":
            guard let text = json.member("percentile")?.stringValue, let p = Double(text), p >= 50 && p <= 100 else {
                return nil
            }
            self = .percentile(p)
        case "sqnr": self = .sqnr
        case "tf-enhanced": self = .tfEnhanced
        default: return nil
        }
    }
}
