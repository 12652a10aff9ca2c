import CalibModel
import CalibSupport

/// The `quantizer_args` object of AIMET 0.6.1 and 1.0.0 encodings files: the quantsim settings the
/// encodings were made with. Converters read it for defaults; it does not change any encoding.
///
/// AIMET writes `{"quant_scheme", "param_bitwidth", "activation_bitwidth", "dtype", "is_symmetric",
/// "per_channel_quantization"}` in that order, from its quantsim config (`is_symmetric` is the
/// params' default).
public struct AimetQuantizerArgs: Sendable, Equatable {
    public var activationBitwidth: Int
    public var paramBitwidth: Int
    /// `"int"` (or `"float"` for float quantsims).
    public var dtype: String
    public var isSymmetric: Bool
    public var perChannelQuantization: Bool
    /// `"min_max"` for calib's min/max observers (AIMET's name for `post_training_tf`).
    public var quantScheme: String

    public init(
        activationBitwidth: Int = 8, paramBitwidth: Int = 8, dtype: String = "int", isSymmetric: Bool = true,
        perChannelQuantization: Bool = true, quantScheme: String = "min_max"
    ) {
        self.activationBitwidth = activationBitwidth
        self.paramBitwidth = paramBitwidth
        self.dtype = dtype
        self.isSymmetric = isSymmetric
        self.perChannelQuantization = perChannelQuantization
        self.quantScheme = quantScheme
    }

    /// The settings a table's encodings imply, the way AIMET would describe the quantsim that made them:
    /// - `activation_bitwidth`: the first activation's bitwidth (8 when there is none);
    /// - `param_bitwidth`: the first param's bitwidth (8 when there is none);
    /// - `dtype`: `"int"`; `quant_scheme`: `"min_max"`;
    /// - `is_symmetric`: whether every param is symmetric; with no params, whether there are activations
    ///   and every one is symmetric;
    /// - `per_channel_quantization`: whether any entry is per-channel (has a channel axis).
    public init(table: EncodingTable) {
        let acts = table.activations, params = table.params
        self.init(
            activationBitwidth: acts.first?.encoding.scheme.bitwidth ?? 8,
            paramBitwidth: params.first?.encoding.scheme.bitwidth ?? 8,
            dtype: "int",
            isSymmetric: params.isEmpty
                ? !acts.isEmpty && acts.allSatisfy { $0.encoding.scheme.symmetric }
                : params.allSatisfy { $0.encoding.scheme.symmetric },
            perChannelQuantization: table.entries.contains { $0.encoding.channelAxis != nil },
            quantScheme: "min_max"
        )
    }

    var json: JSONValue {
        .object([
            ("quant_scheme", .string(quantScheme)),
            ("param_bitwidth", .int(paramBitwidth)),
            ("activation_bitwidth", .int(activationBitwidth)),
            ("dtype", .string(dtype)),
            ("is_symmetric", .bool(isSymmetric)),
            ("per_channel_quantization", .bool(perChannelQuantization)),
        ])
    }

    /// Reads a `quantizer_args` object; missing members keep the memberwise defaults.
    init(json: JSONValue) throws {
        let format = AimetEncodings.formatName
        guard case .object = json else {
            throw FormatError(format: format, "quantizer_args must be an object, found \(json.kind)")
        }
        func field<T>(_ key: String, _ get: (JSONValue) -> T?, _ what: String) throws -> T? {
            guard let v = json.member(key) else { return nil }
            guard let t = get(v) else {
                throw FormatError(format: format, "quantizer_args.\(key) must be \(what), found \(v.kind)")
            }
            return t
        }
        self.init()
        if let v = try field("activation_bitwidth", \.intValue, "an integer") { activationBitwidth = v }
        if let v = try field("param_bitwidth", \.intValue, "an integer") { paramBitwidth = v }
        if let v = try field("dtype", \.stringValue, "a string") { dtype = v }
        if let v = try field("is_symmetric", \.boolValue, "a boolean") { isSymmetric = v }
        if let v = try field("per_channel_quantization", \.boolValue, "a boolean") { perChannelQuantization = v }
        if let v = try field("quant_scheme", \.stringValue, "a string") { quantScheme = v }
    }
}
