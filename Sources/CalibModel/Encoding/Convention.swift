import CalibSupport

/// Whose rules turn an observed range into scale and offset. Each one reproduces its reference
/// system bit for bit in float32 (see docs in README, "Encoding math").
public enum Convention: String, Sendable, Codable, CaseIterable {
    /// aimet-torch 2.x min/max encoding analyzer (the default).
    case aimet
    /// AIMET before 2025: like `aimet`, but a symmetric encoding always has offset 0.
    case aimetLegacy = "aimet-legacy"
    /// torch.ao.quantization `calculate_qparams`.
    case pytorch
    /// onnxruntime.quantization `compute_scale_zp` (float64 scale, cast to float32 last).
    case onnxruntime
    /// TensorRT implicit INT8: symmetric, `scale = amax / 127`, codes -127..127.
    case tensorrt
}

/// Each convention's rules, in one place: the bitwidths it supports, the grid it clamps to, what
/// it forces and what it refuses. `QuantScheme.validate`, `QuantScheme.quantRange` and
/// `SettingsOverride` read them from here; the formulas themselves are in CalibDerivation.
extension Convention {
    /// The bitwidths its reference system accepts.
    public var bitwidths: [Int] {
        switch self {
        case .aimet: Array(2...16) + [32]
        case .aimetLegacy, .pytorch: Array(2...16)
        case .onnxruntime: [4, 8, 16]
        case .tensorrt: [8]
        }
    }

    /// Every bitwidth some convention accepts.
    public static var anyBitwidth: Set<Int> { Set(allCases.flatMap(\.bitwidths)) }

    /// `bitwidths` as the error messages spell them.
    var bitwidthList: String {
        bitwidths.count > 3 ? "2-16\(bitwidths.contains(32) ? " or 32" : "")" : bitwidths.map(String.init).joined(separator: ", ")
    }

    /// Reduced range (one bit less) exists in PyTorch and ONNX Runtime only.
    public var allowsReduceRange: Bool { self == .pytorch || self == .onnxruntime }

    /// The one grid a convention allows, if it allows only one (TensorRT implicit INT8).
    public var forcedGrid: (bitwidth: Int, symmetric: Bool, signed: Bool)? {
        self == .tensorrt ? (8, true, true) : nil
    }

    /// The integer grid `[qmin, qmax]` quantized values are clamped to.
    public func grid(bitwidth: Int, symmetric: Bool, signed: Bool, reduceRange: Bool) -> (qmin: Int, qmax: Int) {
        let qmin = signed ? -(1 << (bitwidth - 1)) : 0
        let qmax = signed ? (1 << (bitwidth - 1)) - 1 : (1 << bitwidth) - 1
        switch self {
        case .tensorrt:
            return (-127, 127)
        case .onnxruntime:
            // get_qmin_qmax_for_qType (onnxruntime 1.31): reduced ranges first, then the restricted
            // symmetric int8/int16 ranges; int4 has no symmetric restriction and reduces to -4..3.
            if reduceRange {
                if !signed { return (0, qmax / 2) }
                return bitwidth == 4 ? (-4, 3) : (-(1 << (bitwidth - 2)), 1 << (bitwidth - 2))
            }
            if symmetric && signed && bitwidth != 4 { return (-qmax, qmax) }
            return (qmin, qmax)
        case .aimet, .aimetLegacy, .pytorch:
            // torch's reduce_range: quant_min // 2, quant_max // 2 (floor division).
            guard reduceRange else { return (qmin, qmax) }
            return (Int((Double(qmin) / 2).rounded(.down)), Int((Double(qmax) / 2).rounded(.down)))
        }
    }

    /// Refuses a grid this convention cannot express.
    public func validate(bitwidth: Int, symmetric: Bool, signed: Bool, reduceRange: Bool) throws(SchemeError) {
        guard bitwidths.contains(bitwidth) else {
            throw SchemeError("bitwidth \(bitwidth) is not supported by convention '\(rawValue)' (\(bitwidthList))")
        }
        if reduceRange && !allowsReduceRange {
            throw SchemeError("--reduce-range only applies to conventions 'pytorch' and 'onnxruntime'")
        }
        if let forced = forcedGrid, (forced.symmetric, forced.signed) != (symmetric, signed) {
            throw SchemeError("convention '\(rawValue)' is symmetric and signed only (implicit INT8)")
        }
    }
}
