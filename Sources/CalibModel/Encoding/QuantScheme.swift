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
        let allowed: [Int]
        switch convention {
        case .aimet: allowed = Array(2...16) + [32]
        case .aimetLegacy, .pytorch: allowed = Array(2...16)
        case .onnxruntime: allowed = [4, 8, 16]
        case .tensorrt: allowed = [8]
        }
        guard allowed.contains(bitwidth) else {
            let list = allowed.count > 3 ? "2-16\(allowed.contains(32) ? " or 32" : "")" : allowed.map(String.init).joined(separator: ", ")
            throw SchemeError("bitwidth \(bitwidth) is not supported by convention '\(convention.rawValue)' (\(list))")
        }
        if reduceRange && convention != .pytorch && convention != .onnxruntime {
            throw SchemeError("--reduce-range only applies to conventions 'pytorch' and 'onnxruntime'")
        }
        if convention == .tensorrt && !(symmetric && signed) {
            throw SchemeError("convention 'tensorrt' is symmetric and signed only (implicit INT8)")
        }
    }

    /// The integer grid `[qmin, qmax]` that quantized values are clamped to.
    public var quantRange: (qmin: Int, qmax: Int) {
        var qmin = signed ? -(1 << (bitwidth - 1)) : 0
        var qmax = signed ? (1 << (bitwidth - 1)) - 1 : (1 << bitwidth) - 1
        if convention == .tensorrt { return (-127, 127) }
        if convention == .onnxruntime {
            // get_qmin_qmax_for_qType (onnxruntime 1.31): reduced ranges first, then the restricted
            // symmetric int8/int16 ranges; int4 has no symmetric restriction and reduces to -4..3.
            if reduceRange {
                if !signed { return (0, qmax / 2) }
                return bitwidth == 4 ? (-4, 3) : (-(1 << (bitwidth - 2)), 1 << (bitwidth - 2))
            }
            if symmetric && signed && bitwidth != 4 { return (-qmax, qmax) }
            return (qmin, qmax)
        }
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
    public init(_ message: String) { description = message }
}
