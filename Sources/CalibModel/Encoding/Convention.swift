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
