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
        let allowed = convention == .aimet ? (2...16).contains(bitwidth) || bitwidth == 32 : (2...16).contains(bitwidth)
        guard allowed else {
            throw SchemeError(
                "bitwidth \(bitwidth) is not supported by convention '\(convention.rawValue)' (2-16\(convention == .aimet ? " or 32" : ""))")
        }
        if reduceRange && convention != .pytorch {
            throw SchemeError("--reduce-range only applies to convention 'pytorch'")
        }
    }

    /// The integer grid `[qmin, qmax]` that quantized values are clamped to.
    public var quantRange: (qmin: Int, qmax: Int) {
        var qmin = signed ? -(1 << (bitwidth - 1)) : 0
        var qmax = signed ? (1 << (bitwidth - 1)) - 1 : (1 << bitwidth) - 1
        if reduceRange {
            // torch: quant_min // 2, quant_max // 2 (floor division).
            qmin = Int((Double(qmin) / 2).rounded(.down))
            qmax = Int((Double(qmax) / 2).rounded(.down))
        }
        return (qmin, qmax)
    }
}

public struct SchemeError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ message: String) { description = message }
}
