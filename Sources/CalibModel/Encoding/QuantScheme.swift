import CalibSupport

/// How a range becomes integers: the target grid and the convention that picks scale and offset.
public struct QuantScheme: Sendable, Hashable, Codable {
    public var convention: Convention
    public var bitwidth: Int
    public var symmetric: Bool
    public var signed: Bool
    /// PyTorch's `reduce_range`: one bit less of range, for x86 fbgemm kernels.
    public var reduceRange: Bool

    /// AIMET's default: unsigned when asymmetric, signed when symmetric.
    public init(
        convention: Convention = .aimet, bitwidth: Int = 8, symmetric: Bool = false,
        signed: Bool? = nil, reduceRange: Bool = false
    ) {
        self.convention = convention
        self.bitwidth = bitwidth
        self.symmetric = symmetric
        self.signed = signed ?? symmetric
        self.reduceRange = reduceRange
    }

    enum CodingKeys: String, CodingKey {
        case convention, bitwidth, symmetric, signed
        case reduceRange = "reduce_range"
    }

    /// Checks the combination before any math runs, so a bad flag never reaches the store.
    public func validate() throws(SchemeError) {
        try convention.validate(bitwidth: bitwidth, symmetric: symmetric, signed: signed, reduceRange: reduceRange)
    }

    /// Whether `offset` (AIMET sign) can belong to this scheme: its zero point lies on the grid.
    /// PyTorch's quint8 symmetric zero point is 128 even with `reduce_range` (grid 0...127), as
    /// torch computes it, so that one is allowed too.
    public func isOnGrid(offset: Int) -> Bool {
        let (qmin, qmax) = quantRange
        if convention == .pytorch && symmetric && !signed && bitwidth == 8 && offset == -128 { return true }
        return -offset >= qmin && -offset <= qmax
    }

    /// The integer grid `[qmin, qmax]` that quantized values are clamped to.
    public var quantRange: (qmin: Int, qmax: Int) {
        convention.grid(bitwidth: bitwidth, symmetric: symmetric, signed: signed, reduceRange: reduceRange)
    }
}

public struct SchemeError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ message: String) { description = message }
}
