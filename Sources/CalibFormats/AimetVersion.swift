import CalibModel
import CalibSupport

/// The versions of AIMET's encodings file layout that calib writes and reads.
///
/// - `0.6.1`: `activation_encodings` / `param_encodings` objects, tensor name -> one entry per channel
///   (`min`, `max`, `scale`, `offset`, `bitwidth`, `dtype`, `is_symmetric` as the string "True"/"False").
/// - `1.0.0` (AIMET's default): the same sections as lists of `{name, dtype, bw, is_sym, scale: [...],
///   offset: [...], enc_type}`.
/// - `2.0.0`: one `encodings` list of ONNX QDQ parameters `{name, output_dtype, y_scale,
///   y_zero_point, axis}`, without roles or quantizer_args.
public enum AimetVersion: String, CaseIterable, Sendable {
    case v0_6_1 = "0.6.1"
    case v1_0_0 = "1.0.0"
    case v2_0_0 = "2.0.0"
}
