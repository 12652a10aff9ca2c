import CalibSupport

/// What a tensor is in the model: deployment formats keep activations and parameters apart, and
/// AIMET's default config quantizes them differently.
public enum TensorRole: String, Sendable, Codable, CaseIterable {
    /// A layer's output (or input): asymmetric, unsigned, per-tensor by default.
    case activation
    /// A weight or bias: symmetric, signed, per-channel on axis 0 by default.
    case param
}
