/// What a `calib run` asks for.
public struct RunOptions: Sendable {
    public var session: String
    /// The run's flags (`--role`, `--observer`, `--bitwidth`, …); they apply to every tensor this
    /// run reads, after the `config` rules.
    public var settings: SettingsOverride
    /// `--config` rules.
    public var config: CalibrationConfig
    /// `--tensor` globs; empty means every tensor.
    public var tensorFilter: [String]
    public var nonfinite: NonFinitePolicy
    public var model: String?
    public var dataset: String?
    public var note: String?

    public init(
        session: String, settings: SettingsOverride = SettingsOverride(), config: CalibrationConfig = CalibrationConfig(),
        tensorFilter: [String] = [], nonfinite: NonFinitePolicy = .ignore, model: String? = nil,
        dataset: String? = nil, note: String? = nil
    ) {
        self.session = session
        self.settings = settings
        self.config = config
        self.tensorFilter = tensorFilter
        self.nonfinite = nonfinite
        self.model = model
        self.dataset = dataset
        self.note = note
    }

    /// The settings of tensor `name`: its stored settings (or its role's defaults when new), then
    /// the config rules, then the run's flags.
    public func settings(for name: String, stored: TensorSettings?) -> TensorSettings {
        let role = settings.role ?? config.role(for: name) ?? stored?.role ?? .activation
        var base = stored ?? TensorSettings.defaults(for: role)
        base.role = role
        return settings.applied(to: config.applied(to: base, name: name))
    }
}

/// What to do with NaN and ±Inf values in a batch.
public enum NonFinitePolicy: String, Sendable, CaseIterable {
    /// Leave them out of the ranges and count them (the default).
    case ignore
    /// Reject the batch, naming the tensor.
    case error
}
