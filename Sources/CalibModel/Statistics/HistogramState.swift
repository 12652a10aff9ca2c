import CalibSupport

/// A histogram observer's state for one tensor, under the rules of the tool it reproduces. Each
/// tool grows and merges its histograms in its own order-dependent way, so the state is kept whole,
/// exactly as that tool would hold it after the same batches (see histogram-math.md).
public enum HistogramState: Sendable, Equatable {
    /// aimet-torch 2.42: per channel (one when per-tensor) the 2048-bin histogram Percentile and
    /// SQNR share, and the 512-bin TF-enhanced one (growth limited to 3 times the first range).
    /// Both are kept so that every AIMET method can be derived from one calibration.
    ///
    /// `method` is the method the tensor's default encoding is derived with (`calib run --method`).
    /// It is kept here, with the histograms it reads, rather than in the session's or the tensor's
    /// scheme: it is meaningful only beside an AIMET histogram, it then travels with every read of
    /// the statistics (`show`, `export`, `derive`, `check` re-derive the same default without being
    /// told), and it needs no new column or migration (the BLOB's header already says how many
    /// parts it holds). `show`/`export`/`derive --method` derive another method without changing it.
    case aimet(main: [AimetHistogram], tfEnhanced: [AimetHistogram], method: AimetHistogramMethod)
    /// torch 2.15 `HistogramObserver` (per tensor).
    case pytorch(TorchHistogram)
    /// onnxruntime 1.31.1 `HistogramCollector`s (per tensor): the signed and the `|x|` histogram at
    /// one `num_bins`, both fed every batch, so that every onnxruntime method (entropy and
    /// distribution read the signed one, a symmetric percentile the `|x|` one) can be derived from
    /// one calibration. `method` is the one the default encoding follows, `collect` how later runs
    /// feed them (kept with the histograms for the same reasons as AIMET's method).
    case onnxruntime(histograms: [OnnxRuntimeHistogram], method: OnnxRuntimeHistogramMethod, collect: OnnxRuntimeCollect)
    /// calib's canonical histogram (`--histogram calib`): exactly mergeable, and read by the methods
    /// of whichever convention the tensor is encoded with, by projection onto that tool's grid.
    /// `method` is the one the default encoding follows when it belongs to the convention's tool
    /// (nil: that tool's default), `onnxruntimeBins` the `num_bins` of onnxruntime's methods (nil:
    /// the method's default).
    case canonical(CanonicalHistogram, method: HistogramMethod?, onnxruntimeBins: Int?)

    /// Which tool's rules the state follows; nil for the canonical histogram, which follows none
    /// and serves every convention.
    public var convention: Convention? {
        switch self {
        case .aimet: .aimet
        case .pytorch: .pytorch
        case .onnxruntime: .onnxruntime
        case .canonical: nil
        }
    }

    /// The convention, or "calib" for the canonical histogram: how messages name the state.
    public var rulesName: String { convention?.rawValue ?? "calib" }
}

extension HistogramState {
    /// Format tag and version of `serialized()`: "CHST" and 1.
    static let magic: [UInt8] = [0x43, 0x48, 0x53, 0x54, 0x01]

    /// An AIMET method as the last part of an AIMET state: 1 percentile, 2 SQNR, 3 TF-enhanced, then
    /// for the percentile its value as a float64 bit pattern (little-endian).
    static func bytes(_ method: AimetHistogramMethod) -> [UInt8] {
        switch method {
        case .percentile(let p): [1] + withUnsafeBytes(of: p.bitPattern.littleEndian) { Array($0) }
        case .sqnr: [2]
        case .tfEnhanced: [3]
        }
    }

    static func method(_ b: ArraySlice<UInt8>) throws(HistogramBytesError) -> AimetHistogramMethod {
        let b = Array(b)
        switch (b.first, b.count) {
        case (1, 9):
            let bits = b[1...].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let p = Double(bitPattern: bits)
            guard p >= 50 && p <= 100 else { throw HistogramBytesError("an AIMET percentile of \(p), not in [50, 100]") }
            return .percentile(p)
        case (2, 1): return .sqnr
        case (3, 1): return .tfEnhanced
        default: throw HistogramBytesError("not an AIMET histogram method (\(b.count) bytes)")
        }
    }

    /// A canonical state's method part: `num_bins` for onnxruntime's methods (u32, 0 for the
    /// default), then 0 (the convention's default method), 1 and an AIMET method, or 2 and an
    /// onnxruntime method (its collect byte unused).
    static func bytes(canonical method: HistogramMethod?, bins: Int?) -> [UInt8] {
        var out = withUnsafeBytes(of: UInt32(bins ?? 0).littleEndian) { Array($0) }
        switch method {
        case nil: out.append(0)
        case .aimet(let m)?: out += [1] + bytes(m)
        case .onnxruntime(let m)?: out += [2] + m.bytes(collect: .all)
        }
        return out
    }

    static func canonicalMethod(_ bytes: ArraySlice<UInt8>) throws(HistogramBytesError) -> (HistogramMethod?, Int?) {
        let b = Array(bytes)
        guard b.count >= 5 else { throw HistogramBytesError("truncated calib histogram method") }
        let bins = Int(UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24)
        guard bins <= OnnxRuntimeHistogram.maxBins else { throw HistogramBytesError("\(bins) onnxruntime bins") }
        let rest = b[5...]
        let method: HistogramMethod?
        switch b[4] {
        case 0 where rest.isEmpty: method = nil
        case 1: method = .aimet(try Self.method(rest))
        case 2: method = .onnxruntime(try OnnxRuntimeHistogramMethod.read(rest).0)
        default: throw HistogramBytesError("not a calib histogram method")
        }
        return (method, bins == 0 ? nil : bins)
    }

    /// The state as one BLOB: the tag, the tool (1 aimet, 2 pytorch, 3 onnxruntime, 4 calib), the number of
    /// parts and, for aimet, how many are main histograms (u32 each), then each part as a u32 length
    /// and its own serialised bytes, all little-endian (for aimet the main histograms, the
    /// TF-enhanced ones and the method). Its size depends on the bins and channels,
    /// never on the number of batches.
    public func serialized() -> [UInt8] {
        let tool: UInt8
        var parts: [[UInt8]]
        var mainCount = 0
        switch self {
        case .aimet(let main, let tf, let method):
            tool = 1
            parts = main.map { $0.serialized() } + tf.map { $0.serialized() } + [Self.bytes(method)]
            mainCount = main.count
        case .pytorch(let h):
            tool = 2
            parts = [h.serialized()]
        case .onnxruntime(let hs, let method, let collect):
            tool = 3
            parts = hs.map(\.serialized) + [method.bytes(collect: collect)]
            mainCount = hs.count
        case .canonical(let h, let method, let bins):
            tool = 4
            parts = [h.serialized(), Self.bytes(canonical: method, bins: bins)]
            mainCount = 1
        }
        var out = Self.magic + [tool]
        func put(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        put(UInt32(parts.count))
        put(UInt32(mainCount))
        for p in parts {
            put(UInt32(p.count))
            out += p
        }
        return out
    }

    /// Reads what `serialized()` wrote; throws on any other bytes, never traps.
    public init(serialized bytes: some Collection<UInt8>) throws(HistogramBytesError) {
        let b = Array(bytes)
        guard b.count >= 14, Array(b[0..<5]) == Self.magic else { throw HistogramBytesError("not a calib histogram state") }
        func word(_ o: Int) -> UInt32 {
            UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
        }
        let tool = b[5]
        let count = Int(word(6))
        let mainCount = Int(word(10))
        var parts: [ArraySlice<UInt8>] = []
        var at = 14
        for _ in 0..<count {
            guard at + 4 <= b.count else { throw HistogramBytesError("truncated histogram state") }
            let n = Int(word(at))
            at += 4
            guard n <= b.count - at else { throw HistogramBytesError("truncated histogram state") }
            parts.append(b[at..<(at + n)])
            at += n
        }
        guard at == b.count else { throw HistogramBytesError("\(b.count - at) bytes after the histogram state") }
        switch tool {
        case 1:
            guard mainCount >= 1, count == 2 * mainCount + 1 else {
                throw HistogramBytesError(
                    "an AIMET state needs as many TF-enhanced histograms as main ones, and its method")
            }
            let hs = try parts.dropLast().map { (p) throws(HistogramBytesError) in try AimetHistogram(serialized: p) }
            self = .aimet(
                main: Array(hs[..<mainCount]), tfEnhanced: Array(hs[mainCount...]), method: try Self.method(parts.last!))
        case 2:
            guard count == 1 else { throw HistogramBytesError("a torch state holds one histogram, not \(count)") }
            self = .pytorch(try TorchHistogram(serialized: parts[0]))
        case 3:
            guard mainCount >= 1, count == mainCount + 1 else {
                throw HistogramBytesError("an onnxruntime state needs its histograms and its method")
            }
            let (method, collect) = try OnnxRuntimeHistogramMethod.read(parts.last!)
            let hs: [OnnxRuntimeHistogram]
            do {
                hs = try parts.dropLast().map { try OnnxRuntimeHistogram(serialized: Array($0)) }
            } catch let error as HistogramError {
                throw HistogramBytesError(error.description)
            } catch {
                throw HistogramBytesError("\(error)")
            }
            guard Set(hs.map(\.kind)).count == hs.count, Set(hs.map(\.bins)).count == 1 else {
                throw HistogramBytesError("an onnxruntime state holds one histogram of each kind, at one bin count")
            }
            self = .onnxruntime(histograms: hs, method: method, collect: collect)
        case 4:
            guard count == 2, mainCount == 1 else {
                throw HistogramBytesError("a calib state holds its histogram and its method")
            }
            let (method, bins) = try Self.canonicalMethod(parts[1])
            self = .canonical(try CanonicalHistogram(serialized: parts[0]), method: method, onnxruntimeBins: bins)
        default:
            throw HistogramBytesError("unknown histogram tool \(tool)")
        }
    }
}
