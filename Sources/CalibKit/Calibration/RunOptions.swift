/// What a `calib run` asks for. Every setting is optional: nil keeps the session's stored value,
/// or takes the default for a new session.
public struct RunOptions: Sendable {
    public var session: String
    public var observer: ObserverKind?
    public var averagingConstant: Float?
    /// Channel axis (negative counts from the end). `.some(nil)` would mean per-tensor; nil means "as stored".
    public var channelAxis: Int?
    public var convention: Convention?
    public var bitwidth: Int?
    public var symmetric: Bool?
    public var signed: Bool?
    public var reduceRange: Bool?
    public var tensorFilter: [String]
    public var model: String?
    public var dataset: String?
    public var note: String?

    public init(
        session: String, observer: ObserverKind? = nil, averagingConstant: Float? = nil, channelAxis: Int? = nil,
        convention: Convention? = nil, bitwidth: Int? = nil, symmetric: Bool? = nil, signed: Bool? = nil,
        reduceRange: Bool? = nil, tensorFilter: [String] = [], model: String? = nil, dataset: String? = nil,
        note: String? = nil
    ) {
        self.session = session
        self.observer = observer
        self.averagingConstant = averagingConstant
        self.channelAxis = channelAxis
        self.convention = convention
        self.bitwidth = bitwidth
        self.symmetric = symmetric
        self.signed = signed
        self.reduceRange = reduceRange
        self.tensorFilter = tensorFilter
        self.model = model
        self.dataset = dataset
        self.note = note
    }

    /// The encoding scheme: `base` with this run's overrides. Signedness follows symmetry (AIMET's
    /// default) unless given.
    func scheme(over base: QuantScheme) -> QuantScheme {
        let symmetric = self.symmetric ?? base.symmetric
        return QuantScheme(
            convention: convention ?? base.convention, bitwidth: bitwidth ?? base.bitwidth, symmetric: symmetric,
            signed: signed ?? (self.symmetric != nil ? symmetric : base.signed),
            reduceRange: reduceRange ?? base.reduceRange)
    }
}
