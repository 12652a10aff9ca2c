import CalibSupport

/// How one tensor is observed and encoded. Every tensor of a session has its own, so weights and
/// activations (or a sensitive layer) can differ.
public struct TensorSettings: Sendable, Hashable {
    public var role: TensorRole
    public var observer: ObserverConfig
    public var scheme: QuantScheme

    public init(role: TensorRole, observer: ObserverConfig, scheme: QuantScheme) {
        self.role = role
        self.observer = observer
        self.scheme = scheme
    }

    /// Checks the observer settings and the scheme before anything is observed.
    public func validate() throws(SchemeError) {
        try scheme.validate()
        try observer.validate()
        if observer.kind == .histogram && observer.channelAxis != nil && scheme.convention != .aimet {
            throw SchemeError(
                "per-channel histograms are AIMET's (--convention aimet); torch's, onnxruntime's and calib's are per "
                    + "tensor: use --per-tensor with --observer histogram")
        }
    }

    /// The empty histogram state a new tensor starts with under these settings, nil for the
    /// min/max observers. An AIMET state's default encoding follows `options.method`, TF-enhanced
    /// (AIMET's default quant scheme) when none is given; an onnxruntime state's follows it too,
    /// entropy when none is given, with the method's `num_bins` unless `options.bins` says.
    /// Whether a new tensor under these settings keeps calib's canonical histogram: a histogram
    /// observer whose `--histogram` (`rules`, nil by convention) is calib.
    public func keepsCanonicalHistogram(_ rules: HistogramRules?) -> Bool {
        observer.kind == .histogram && (rules ?? HistogramRules.default(for: scheme.convention)) == .calib
    }

    /// AIMET's per-channel state holds one pair of histograms per channel (`channels`); the others
    /// are per tensor.
    public func initialHistogram(_ options: HistogramOptions = HistogramOptions(), channels: Int = 1) -> HistogramState? {
        guard observer.kind == .histogram else { return nil }
        if keepsCanonicalHistogram(options.rules) {
            return .canonical(CanonicalHistogram(), method: options.method, onnxruntimeBins: options.bins)
        }
        switch scheme.convention {
        case .pytorch: return .pytorch(TorchHistogram())
        case .aimet:
            return .aimet(
                main: Array(repeating: AimetHistogram(method: .sqnr), count: channels),
                tfEnhanced: Array(repeating: AimetHistogram(method: .tfEnhanced), count: channels),
                method: options.method?.aimet ?? .tfEnhanced)
        case .onnxruntime:
            let method = options.method?.onnxruntime ?? .entropy(quantizedBins: 128)
            let bins = options.bins ?? method.defaultBins
            return .onnxruntime(
                histograms: [OnnxRuntimeHistogram(kind: .signed, bins: bins), OnnxRuntimeHistogram(kind: .absolute, bins: bins)],
                method: method, collect: options.collect ?? .all)
        case .aimetLegacy, .tensorrt:
            return nil  // HistogramRules.default gives calib for them
        }
    }

    /// AIMET's default config: activations asymmetric, unsigned, per-tensor; params symmetric,
    /// signed, per-channel on axis 0. Both 8-bit min/max.
    public static func defaults(for role: TensorRole) -> TensorSettings {
        switch role {
        case .activation:
            TensorSettings(role: role, observer: ObserverConfig(), scheme: QuantScheme(symmetric: false, signed: false))
        case .param:
            TensorSettings(
                role: role, observer: ObserverConfig(channelAxis: 0), scheme: QuantScheme(symmetric: true, signed: true))
        }
    }
}

/// Settings a run's flags or a `--config` rule ask for; nil leaves a setting as it is.
public struct SettingsOverride: Sendable, Hashable {
    /// Per-tensor or a channel axis (negative counts from the end).
    public enum Granularity: Sendable, Hashable {
        case perTensor
        case axis(Int)
    }

    public var role: TensorRole?
    public var observer: ObserverKind?
    public var averagingConstant: Float?
    public var granularity: Granularity?
    public var convention: Convention?
    public var bitwidth: Int?
    public var symmetric: Bool?
    public var signed: Bool?
    public var reduceRange: Bool?

    public init(
        role: TensorRole? = nil, observer: ObserverKind? = nil, averagingConstant: Float? = nil,
        granularity: Granularity? = nil, convention: Convention? = nil, bitwidth: Int? = nil,
        symmetric: Bool? = nil, signed: Bool? = nil, reduceRange: Bool? = nil
    ) {
        self.role = role
        self.observer = observer
        self.averagingConstant = averagingConstant
        self.granularity = granularity
        self.convention = convention
        self.bitwidth = bitwidth
        self.symmetric = symmetric
        self.signed = signed
        self.reduceRange = reduceRange
    }

    public var isEmpty: Bool { self == SettingsOverride() }

    /// True when only encoding settings are set: those can be re-derived from stored statistics.
    public var touchesStatistics: Bool { observer != nil || averagingConstant != nil || granularity != nil }

    /// `settings` with this override applied. Signedness follows symmetry (AIMET's default) when the
    /// symmetry changes and no signedness is given.
    public func applied(to settings: TensorSettings) -> TensorSettings {
        var s = settings
        if let role { s.role = role }
        if let observer { s.observer.kind = observer }
        if let averagingConstant { s.observer.averagingConstant = averagingConstant }
        switch granularity {
        case .perTensor: s.observer.channelAxis = nil
        case .axis(let a): s.observer.channelAxis = a
        case nil: break
        }
        s.scheme = appliedScheme(to: s.scheme)
        return s
    }

    /// Refuses what this override says on its own that no run could accept, so a `--config` rule is
    /// reported by its glob when the file is read rather than by a tensor halfway through a run: an
    /// averaging constant outside (0, 1], a bitwidth no convention supports, and, when the override
    /// names a convention, settings that convention refuses (its own defaults plus these settings).
    /// What depends on the flags a rule is combined with is checked when a run applies it.
    public func validate() throws(SchemeError) {
        if let c = averagingConstant, !(c > 0 && c <= 1) {
            throw SchemeError("averaging_constant must be in (0, 1], got \(c)")
        }
        if let b = bitwidth, !Convention.anyBitwidth.contains(b) {
            throw SchemeError("bitwidth \(b) is not supported by any convention (2-16, or 32 with aimet)")
        }
        if let convention {
            let forced = convention.forcedGrid
            try appliedScheme(
                to: QuantScheme(convention: convention, symmetric: forced?.symmetric ?? false, signed: forced?.signed)
            ).validate()
        }
    }

    /// Only the encoding part, for re-deriving from stored statistics.
    public func appliedScheme(to scheme: QuantScheme) -> QuantScheme {
        var s = scheme
        if let convention {
            s.convention = convention
            if let forced = convention.forcedGrid {
                (s.bitwidth, s.symmetric, s.signed) = forced
            }
        }
        if let bitwidth { s.bitwidth = bitwidth }
        if let symmetric {
            s.symmetric = symmetric
            s.signed = signed ?? symmetric
        }
        if let signed { s.signed = signed }
        if let reduceRange { s.reduceRange = reduceRange }
        return s
    }
}

extension SettingsOverride {
    /// The settings this override sets, as JSON with the `--config` keys (what `calib derive` records
    /// with an encoding set).
    public var json: JSONValue {
        var members: [(String, JSONValue)] = []
        if let role { members.append(("role", .string(role.rawValue))) }
        if let observer { members.append(("observer", .string(observer.rawValue))) }
        if let averagingConstant { members.append(("averaging_constant", .shortFloat(averagingConstant))) }
        switch granularity {
        case .perTensor: members.append(("per_channel_axis", .null))
        case .axis(let a): members.append(("per_channel_axis", .int(a)))
        case nil: break
        }
        if let convention { members.append(("convention", .string(convention.rawValue))) }
        if let bitwidth { members.append(("bitwidth", .int(bitwidth))) }
        if let symmetric { members.append(("symmetric", .bool(symmetric))) }
        if let signed { members.append(("signed", .bool(signed))) }
        if let reduceRange { members.append(("reduce_range", .bool(reduceRange))) }
        return .object(members)
    }
}

/// What a run asks of a new histogram state besides the convention: the method its default
/// encoding follows and, for onnxruntime, `num_bins` and how batches are collected.
public struct HistogramOptions: Sendable, Hashable {
    public var method: HistogramMethod?
    public var bins: Int?
    public var collect: OnnxRuntimeCollect?
    /// `--histogram`: whose rules a new histogram follows (nil: `HistogramRules.default(for:)`).
    public var rules: HistogramRules?

    public init(
        method: HistogramMethod? = nil, bins: Int? = nil, collect: OnnxRuntimeCollect? = nil, rules: HistogramRules? = nil
    ) {
        self.method = method
        self.bins = bins
        self.collect = collect
        self.rules = rules
    }

    public var isEmpty: Bool { method == nil && bins == nil && collect == nil && rules == nil }
}

/// Which histogram a histogram observer keeps: the reference tool's own (order-dependent, bit-exact
/// to that tool) or calib's canonical one (exactly mergeable, read by every convention's methods).
public enum HistogramRules: String, Sendable, Hashable, CaseIterable {
    /// `CanonicalHistogram`.
    case calib
    /// The encoding convention's tool: torch's HistogramObserver, AIMET's or onnxruntime's histograms.
    case tool

    /// `tool` where the convention's tool has histogram rules calib reproduces (aimet, pytorch,
    /// onnxruntime), `calib` for the others (aimet-legacy, tensorrt).
    public static func `default`(for convention: Convention) -> HistogramRules {
        [.aimet, .pytorch, .onnxruntime].contains(convention) ? .tool : .calib
    }
}
