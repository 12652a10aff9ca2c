import CalibModel

/// Encodings derived again from stored statistics under other settings, without re-reading data.
public enum Derivation {
    /// Ranges to encodings under `scheme`: what importers of range-only files are given.
    public static func encoder(_ scheme: QuantScheme) -> RangeEncoder {
        { Encoding(observedMin: $0, observedMax: $1, scheme: scheme, channelAxis: $2) }
    }

    /// A tensor's rows for the store: its default encoding derived from its statistics under `scheme`.
    public static func rows(for record: TensorRecord, stats: TensorStats, scheme: QuantScheme, isNew: Bool) -> TensorRows {
        TensorRows(record: record, stats: stats, encoding: stats.encoding(scheme, channelAxis: record.channelAxis), isNew: isNew)
    }

    /// `reports` with each encoding re-derived: the tensor's stored scheme, then the `config` rules
    /// (encoding settings only), then `override`. Statistics settings in either are refused, since
    /// the statistics already exist. `method` derives every tensor with that histogram method instead
    /// of the one stored with its histogram (each tensor must hold a histogram of the method's tool,
    /// with enough bins for it). `methodTool` resolves `method` for canonical histograms against that
    /// tool rather than the tensor's convention (a range format's tool: `export --format tensorrt`).
    public static func rederive(
        _ reports: [TensorReport], override: SettingsOverride, config: CalibrationConfig = CalibrationConfig(),
        method request: MethodRequest? = nil, methodTool: Convention? = nil
    ) throws -> [TensorReport] {
        if override.touchesStatistics || config.rules.contains(where: \.settings.touchesStatistics) {
            throw SchemeError(
                "observer and per-channel settings are fixed when statistics are collected; only encoding settings "
                    + "(convention, bitwidth, symmetric, signed, reduce_range) can be re-derived")
        }
        return try reports.map { r in
            var settings = config.applied(to: r.settings, name: r.tensor.name)
            settings = override.applied(to: settings)
            guard settings.scheme != r.encoding.scheme || settings.role != r.tensor.role || request != nil else {
                return r
            }
            guard let stats = r.stats else {
                throw SchemeError(
                    "tensor '\(r.tensor.name)' has no statistics (imported from a file without ranges); "
                        + "only its stored encoding can be exported")
            }
            try settings.scheme.validate()
            if let tool = stats.histogram?.convention, tool != settings.scheme.convention {
                throw SchemeError(
                    "tensor '\(r.tensor.name)' holds a \(tool.rawValue) histogram; its encodings follow "
                        + "\(tool.rawValue)'s rules, so --convention \(settings.scheme.convention.rawValue) cannot be derived from it"
                )
            }
            let method = try request.map {
                try Self.method($0, for: stats, convention: methodTool ?? settings.scheme.convention, tensor: r.tensor.name)
            }
            var out = r
            out.tensor.role = settings.role
            out.encoding = stats.encoding(settings.scheme, channelAxis: r.tensor.channelAxis, method: method)
            // The report's histogram state follows the method too, so what reads it after (the
            // calibrated range that range formats write) agrees with the encoding.
            if let method { out.stats = stats.following(method) }
            if let problem = overflow(out.encoding, stats: stats) { throw SchemeError("tensor '\(r.tensor.name)': \(problem)") }
            return out
        }
    }
}

extension Derivation {
    /// `request` resolved against the tool of the tensor's stored histogram (for the canonical
    /// histogram, against the tool of `convention`, the one it is encoded under), or why it cannot
    /// be: no histogram, or (onnxruntime) a method its `num_bins` does not allow.
    public static func method(
        _ request: MethodRequest, for stats: TensorStats, convention: Convention, tensor: String
    ) throws -> HistogramMethod {
        guard let h = stats.histogram, h.convention != .pytorch else {
            let observed = stats.histogram.map { "histogram --convention \($0.rulesName)" } ?? stats.observer.kind.rawValue
            throw SchemeError(
                "tensor '\(tensor)' holds no AIMET, onnxruntime or calib histogram (observed with --observer \(observed)); "
                    + "--method derives from one")
        }
        let tool = h.convention ?? convention.methodTool
        let method: HistogramMethod
        do {
            method = try request.method(for: tool)
        } catch {
            throw SchemeError("tensor '\(tensor)': \(error)")
        }
        let bins: Int?
        switch h {
        case .onnxruntime(let hs, _, _): bins = hs.first?.bins
        case .canonical(_, _, let b): bins = b ?? method.onnxruntime?.defaultBins
        default: bins = nil
        }
        if case .onnxruntime(let m) = method, let bins {
            do {
                try m.validate(bins: bins)
            } catch {
                throw SchemeError("tensor '\(tensor)': \(error) (its histograms were collected with --bins \(bins))")
            }
        }
        return method
    }
}

/// Why a tensor's encoding must not be written to a deployment file.
public struct CoverageProblem: Sendable, Equatable, CustomStringConvertible {
    public var tensor: String
    public var reason: String
    public var description: String { "\(tensor): \(reason)" }

    public init(tensor: String, reason: String) {
        self.tensor = tensor
        self.reason = reason
    }

    /// Tensors whose encodings would be silently wrong: never observed (no finite value), or a
    /// non-finite or zero scale or range.
    public static func find(in reports: [TensorReport]) -> [CoverageProblem] {
        reports.compactMap { r in
            let e = r.encoding
            if let s = r.stats, zip(s.min, s.max).contains(where: { !($0.0 <= $0.1) }) {
                return CoverageProblem(
                    tensor: r.tensor.name,
                    reason: s.batches == 0 ? "no observations" : "no finite value observed (\(s.nonfinite) NaN/Inf)")
            }
            if e.scale.contains(where: { !$0.isFinite }) {
                return CoverageProblem(tensor: r.tensor.name, reason: "non-finite scale")
            }
            if e.scale.contains(where: { $0 <= 0 }) {
                return CoverageProblem(tensor: r.tensor.name, reason: "zero scale (zero range)")
            }
            if zip(e.min, e.max).contains(where: { !($0.0.isFinite && $0.1.isFinite) }) {
                return CoverageProblem(tensor: r.tensor.name, reason: "non-finite range")
            }
            return nil
        }
    }
}

extension Derivation {
    /// Below this magnitude no convention's scale or range can overflow float32 (spans stay under
    /// 2^121), so the hot path skips the derivation.
    static let overflowFloor: Float = 0x1p120

    /// Why `stats` cannot be encoded under `scheme`, or nil: a finite range so wide that the scale
    /// or the encoding's range overflows float32 (`[-3e38, 3e38]` spans 6e38). AIMET and PyTorch
    /// compute in float32 and get an infinite scale too, so there is nothing to clamp to that they
    /// would agree with: such a range is refused rather than stored as a scale that no reader,
    /// exporter or deployment tool can use.
    public static func overflow(_ stats: TensorStats, scheme: QuantScheme, channelAxis: Int?) -> String? {
        let wide = zip(stats.min, stats.max).contains { lo, hi in
            (lo.isFinite && abs(lo) >= overflowFloor) || (hi.isFinite && abs(hi) >= overflowFloor)
        }
        guard wide else { return nil }
        return overflow(stats.encoding(scheme, channelAxis: channelAxis), stats: stats)
    }

    /// As `overflow(_:scheme:channelAxis:)`, for an encoding already derived from `stats`.
    public static func overflow(_ e: Encoding, stats: TensorStats) -> String? {
        guard
            let c = e.scale.indices.first(where: { i in
                stats.min[i].isFinite && !(e.scale[i].isFinite && e.min[i].isFinite && e.max[i].isFinite)
            })
        else { return nil }
        let s = e.scheme
        let channel = e.scale.count > 1 ? " of channel \(c)" : ""
        return "the range [\(stats.min[c]), \(stats.max[c])]\(channel) overflows float32 in its \(s.convention.rawValue) "
            + "\(s.bitwidth)-bit encoding (scale \(e.scale[c]), range [\(e.min[c]), \(e.max[c])]); a range this wide "
            + "cannot be quantized, so it is refused: check the data"
    }
}
