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

    /// Which tool's rules.
    public var convention: Convention {
        switch self {
        case .aimet: .aimet
        case .pytorch: .pytorch
        case .onnxruntime: .onnxruntime
        }
    }
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

    /// The state as one BLOB: the tag, the tool (1 aimet, 2 pytorch, 3 onnxruntime), the number of
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
        default:
            throw HistogramBytesError("unknown histogram tool \(tool)")
        }
    }
}
