import CalibSupport

/// The histogram methods of onnxruntime 1.31.1's `HistogramCollector` (`CalibrationMethod.Entropy`,
/// `Percentile`, `Distribution`). The range computation lives in CalibDerivation; the method is
/// declared here because a histogram state stores the one its default encoding follows.
public enum OnnxRuntimeHistogramMethod: Sendable, Hashable {
    /// KL-divergence search over symmetric windows (`num_quantized_bins`, onnxruntime's default 128).
    case entropy(quantizedBins: Int)
    /// `CalibPercentile` P in [0, 100]; `symmetric` is CalibTensorRangeSymmetric, and must match the
    /// histogram kind: the `|x|` histogram when true, the signed one when false.
    case percentile(Double, symmetric: Bool)
    /// The whole grid, `(-T, T)`, unclamped (int8/uint8: onnxruntime uses avg/std only for float8).
    case distribution

    /// The collector this method reads: `|x|` for a symmetric percentile, the signed one otherwise.
    public var histogramKind: OnnxRuntimeHistogram.Kind {
        if case .percentile(_, true) = self { return .absolute }
        return .signed
    }

    /// onnxruntime's `num_bins` default for the method: 128 for entropy, 2048 otherwise.
    public var defaultBins: Int {
        if case .entropy = self { return 128 }
        return 2048
    }
}

/// How batches reach onnxruntime's collector: `all` is `quantize_static`'s default (one `collect`
/// of every batch concatenated), `perBatch` is `CalibStridedMinMax=1` (one `collect` per batch,
/// each merged into the histogram grown so far).
public enum OnnxRuntimeCollect: String, Sendable, Hashable, CaseIterable {
    case all
    case perBatch = "per-batch"
}

extension OnnxRuntimeHistogramMethod {
    /// The method as the CLI spells it (`--method`, `--quantized-bins`, `--percentile` as a decimal
    /// string that reads back as the same double, `--calib-symmetric`): what `calib derive`
    /// records with an encoding set.
    public var json: JSONValue {
        switch self {
        case .entropy(let q): .object([("method", .string("entropy")), ("quantized_bins", .int(q))])
        case .percentile(let p, let sym):
            .object([("method", .string("percentile")), ("percentile", .string("\(p)")), ("calib_symmetric", .bool(sym))])
        case .distribution: .object([("method", .string("distribution"))])
        }
    }

    /// Reads what `json` wrote; nil for anything else.
    public init?(json: JSONValue) {
        switch json.member("method")?.stringValue {
        case "entropy":
            guard let q = json.member("quantized_bins")?.intValue, q >= 1, q <= OnnxRuntimeHistogram.maxBins else {
                return nil
            }
            self = .entropy(quantizedBins: q)
        case "percentile":
            guard let text = json.member("percentile")?.stringValue, let p = Double(text), p >= 0 && p <= 100,
                let sym = json.member("calib_symmetric")?.boolValue
            else { return nil }
            self = .percentile(p, symmetric: sym)
        case "distribution": self = .distribution
        default: return nil
        }
    }

    /// The method and collect mode as the last part of an onnxruntime state: the collect (1 all,
    /// 2 per-batch), the method (1 entropy + u32 quantized bins, 2 percentile + f64 + symmetric
    /// byte, 3 distribution), little-endian.
    public func bytes(collect: OnnxRuntimeCollect) -> [UInt8] {
        var out: [UInt8] = [collect == .all ? 1 : 2]
        switch self {
        case .entropy(let q):
            out.append(1)
            withUnsafeBytes(of: UInt32(q).littleEndian) { out.append(contentsOf: $0) }
        case .percentile(let p, let sym):
            out.append(2)
            withUnsafeBytes(of: p.bitPattern.littleEndian) { out.append(contentsOf: $0) }
            out.append(sym ? 1 : 0)
        case .distribution:
            out.append(3)
        }
        return out
    }

    /// Reads what `bytes(collect:)` wrote.
    public static func read(
        _ bytes: some Collection<UInt8>
    ) throws(HistogramBytesError) -> (
        Self, OnnxRuntimeCollect
    ) {
        let b = Array(bytes)
        guard b.count >= 2, b[0] == 1 || b[0] == 2 else { throw HistogramBytesError("not an onnxruntime method") }
        let collect: OnnxRuntimeCollect = b[0] == 1 ? .all : .perBatch
        func word(_ at: Int, _ n: Int) -> UInt64 { b[at..<(at + n)].reversed().reduce(0) { $0 << 8 | UInt64($1) } }
        switch (b[1], b.count) {
        case (1, 6):
            let q = Int(word(2, 4))
            guard q >= 1 && q <= OnnxRuntimeHistogram.maxBins else {
                throw HistogramBytesError("\(q) quantized bins")
            }
            return (.entropy(quantizedBins: q), collect)
        case (2, 11):
            let p = Double(bitPattern: word(2, 8))
            guard p >= 0 && p <= 100, b[10] <= 1 else { throw HistogramBytesError("an onnxruntime percentile of \(p)") }
            return (.percentile(p, symmetric: b[10] == 1), collect)
        case (3, 2): return (.distribution, collect)
        default: throw HistogramBytesError("not an onnxruntime method (\(b.count) bytes)")
        }
    }
}

/// A histogram method given to `show`/`export`/`derive` (re-derivation) or `run` (the method a
/// histogram state's default encoding follows): AIMET's or onnxruntime's. torch's
/// HistogramObserver has one method (its L2 search) and takes none.
public enum HistogramMethod: Sendable, Hashable {
    case aimet(AimetHistogramMethod)
    case onnxruntime(OnnxRuntimeHistogramMethod)

    public var convention: Convention {
        switch self {
        case .aimet: .aimet
        case .onnxruntime: .onnxruntime
        }
    }

    public var json: JSONValue {
        switch self {
        case .aimet(let m): m.json
        case .onnxruntime(let m): m.json
        }
    }

    /// Reads `json` for a tensor under `convention`.
    public init?(json: JSONValue, convention: Convention) {
        switch convention {
        case .aimet:
            guard let m = AimetHistogramMethod(json: json) else { return nil }
            self = .aimet(m)
        case .onnxruntime:
            guard let m = OnnxRuntimeHistogramMethod(json: json) else { return nil }
            self = .onnxruntime(m)
        default: return nil
        }
    }

    public var aimet: AimetHistogramMethod? { if case .aimet(let m) = self { m } else { nil } }
    public var onnxruntime: OnnxRuntimeHistogramMethod? { if case .onnxruntime(let m) = self { m } else { nil } }
}

/// `--method` and its options as given, before they meet a tensor: `percentile` means AIMET's
/// percentile for a tensor holding AIMET histograms and onnxruntime's for one holding
/// onnxruntime's, so the request is resolved per tensor, against the tool of its histogram.
public struct MethodRequest: Sendable, Hashable {
    public enum Name: String, Sendable, Hashable, CaseIterable {
        case percentile, sqnr
        case tfEnhanced = "tf-enhanced"
        case entropy, distribution
        /// Per tensor, the method `calib methods` ranks first (`calib derive` only).
        case best
    }

    public var name: Name
    /// `--percentile`: required for AIMET's percentile (in [50, 100]); onnxruntime's default 99.999.
    public var percentile: Double?
    /// `--quantized-bins` for onnxruntime's entropy (default 128).
    public var quantizedBins: Int?
    /// `--calib-symmetric`/`--calib-asymmetric` for onnxruntime's percentile (CalibTensorRangeSymmetric,
    /// default true).
    public var calibSymmetric: Bool?

    public init(name: Name, percentile: Double? = nil, quantizedBins: Int? = nil, calibSymmetric: Bool? = nil) {
        self.name = name
        self.percentile = percentile
        self.quantizedBins = quantizedBins
        self.calibSymmetric = calibSymmetric
    }

    /// The method under `convention`'s tool, or why there is none.
    public func method(for convention: Convention) throws(SchemeError) -> HistogramMethod {
        if name == .best {
            throw SchemeError("--method best picks a method per tensor: it goes with `calib derive --label NAME` only")
        }
        switch convention {
        case .aimet:
            if quantizedBins != nil || calibSymmetric != nil {
                throw SchemeError(
                    "--quantized-bins and --calib-symmetric/--calib-asymmetric apply to onnxruntime's methods, not AIMET's")
            }
            switch name {
            case .percentile:
                guard let p = percentile else {
                    throw SchemeError("AIMET's --method percentile needs --percentile P (in [50, 100])")
                }
                guard p >= 50 && p <= 100 else { throw SchemeError("AIMET's --percentile must be in [50, 100], got \(p)") }
                return .aimet(.percentile(p))
            case .sqnr, .tfEnhanced:
                if percentile != nil { throw SchemeError("--percentile applies to --method percentile only") }
                return .aimet(name == .sqnr ? .sqnr : .tfEnhanced)
            case .entropy, .distribution, .best:
                throw SchemeError(
                    "--method \(name.rawValue) is onnxruntime's; AIMET's histograms give percentile, sqnr or tf-enhanced")
            }
        case .onnxruntime:
            if name != .percentile && (percentile != nil || calibSymmetric != nil) {
                throw SchemeError("--percentile and --calib-symmetric/--calib-asymmetric apply to --method percentile only")
            }
            if name != .entropy && quantizedBins != nil {
                throw SchemeError("--quantized-bins applies to --method entropy only")
            }
            switch name {
            case .entropy:
                let q = quantizedBins ?? 128
                guard q >= 1 && q <= OnnxRuntimeHistogram.maxBins else {
                    throw SchemeError("--quantized-bins must be in [1, \(OnnxRuntimeHistogram.maxBins)], got \(q)")
                }
                return .onnxruntime(.entropy(quantizedBins: q))
            case .percentile:
                let p = percentile ?? 99.999
                guard p >= 0 && p <= 100 else { throw SchemeError("onnxruntime's --percentile must be in [0, 100], got \(p)") }
                return .onnxruntime(.percentile(p, symmetric: calibSymmetric ?? true))
            case .distribution: return .onnxruntime(.distribution)
            case .sqnr, .tfEnhanced, .best:
                throw SchemeError(
                    "--method \(name.rawValue) is AIMET's; onnxruntime's histograms give entropy, percentile or distribution")
            }
        default:
            throw SchemeError(
                "--method chooses among the methods of AIMET's or onnxruntime's histograms (--observer histogram "
                    + "--convention aimet|onnxruntime); '\(convention.rawValue)' has none")
        }
    }
}

/// What one tensor of a `calib derive --method best` set was derived with: plain min/max, the
/// tool's only method (torch's L2 search, its default), or a method of its histogram's tool.
public enum TensorMethodChoice: Sendable, Hashable {
    case minmax
    case toolDefault
    case method(HistogramMethod)

    public var json: JSONValue {
        switch self {
        case .minmax: .object([("method", .string("minmax"))])
        case .toolDefault: .object([("method", .string("default"))])
        case .method(let m): .object([("convention", .string(m.convention.rawValue)), ("options", m.json)])
        }
    }

    public init?(json: JSONValue) {
        switch json.member("method")?.stringValue {
        case "minmax": self = .minmax
        case "default": self = .toolDefault
        default:
            guard let c = json.member("convention")?.stringValue.flatMap(Convention.init(rawValue:)),
                let options = json.member("options"), let m = HistogramMethod(json: options, convention: c)
            else { return nil }
            self = .method(m)
        }
    }
}

extension Convention {
    /// Whose histogram methods a canonical histogram encoded under this convention is read with:
    /// AIMET's for both AIMET conventions, the convention's own otherwise.
    public var methodTool: Convention { self == .aimetLegacy ? .aimet : self }
}
