import CalibModel

/// The reference systems' formulas, operation for operation in float32, so results match bit for bit.
/// Pure functions: no I/O, no state.
public enum EncodingMath {
    /// Scale and offset (AIMET sign) of the observed range `[min, max]` of one channel.
    public static func scaleOffset(min xmin: Float, max xmax: Float, scheme: QuantScheme) -> (scale: Float, offset: Int) {
        switch scheme.convention {
        case .aimet: aimet(min: xmin, max: xmax, scheme: scheme, legacy: false)
        case .aimetLegacy: aimet(min: xmin, max: xmax, scheme: scheme, legacy: true)
        case .pytorch: pytorch(min: xmin, max: xmax, scheme: scheme)
        case .onnxruntime: onnxruntime(min: xmin, max: xmax, scheme: scheme)
        case .tensorrt: tensorrt(min: xmin, max: xmax)
        }
    }

    /// aimet-torch 2.42 `MinMaxEncodingAnalyzer` + `affine.Quantize` (see encoding-math.md).
    static func aimet(min xmin: Float, max xmax: Float, scheme: QuantScheme, legacy: Bool) -> (scale: Float, offset: Int) {
        let b = scheme.bitwidth
        let nInt = (Int64(1) << b) - 1
        let n = Float(nInt)
        let posSteps = Float(nInt / 2)  // floor(n/2)
        let negSteps = Float((nInt + 1) / 2)  // ceil(n/2)
        let ms = Float(Swift.min(0x1p-23, 0.01 / Double(nInt)))
        // Unobserved channels (no finite value) count as the zero range: AIMET would see min = max = 0.
        var mn = Swift.min(xmin.isFinite ? xmin : 0, 0)
        var mx = Swift.max(xmax.isFinite ? xmax : 0, 0)
        let adj: Float = (mx - mn) / n < ms ? ms : 0
        if scheme.symmetric {
            mx += posSteps * adj
            mn -= negSteps * adj
            let extra: Float = nInt == 3 ? 1 : 0
            let d = Swift.max(mx / (posSteps + extra), -mn / negSteps)
            mn = -negSteps * d
            mx = posSteps * d
        } else {
            mx += n * adj
        }
        let scale = Swift.max(abs((mx - mn) / n), ms)
        let (qmin, qmax) = scheme.quantRange
        let offset: Int
        if scheme.symmetric {
            offset = legacy ? 0 : -Int((Double(qmin + qmax) / 2).rounded(.toNearestOrEven))
        } else {
            let r = Int((mn / scale).rounded(.toNearestOrEven)) - qmin
            offset = Swift.min(Swift.max(r, -qmax), -qmin)
        }
        return (scale, offset)
    }

    /// torch.ao.quantization `UniformQuantizationObserverBase._calculate_qparams`.
    static func pytorch(min xmin: Float, max xmax: Float, scheme: QuantScheme) -> (scale: Float, offset: Int) {
        // Never observed: torch returns scale 1, zero point 0 (NaN cannot come from an observer; treat it alike).
        if xmin == .infinity && xmax == -.infinity || xmin.isNaN || xmax.isNaN { return (1, 0) }
        let eps: Float = 0x1p-23
        let (qmin, qmax) = scheme.quantRange
        let mn = Swift.min(xmin, 0)
        var mx = Swift.max(xmax, 0)
        if scheme.symmetric {
            mx = Swift.max(-mn, mx)
            let scale = Swift.max(mx / Float(Double(qmax - qmin) / 2), eps)
            let zp: Int
            if scheme.signed {
                zp = 0
            } else if scheme.bitwidth == 8 {
                zp = 128  // quint8 without a custom range, even with reduce_range (torch does the same)
            } else {
                zp = Int((Double(qmin + qmax) / 2).rounded(.down))
            }
            return (scale, -zp)
        }
        let scale = Swift.max((mx - mn) / Float(qmax - qmin), eps)
        let zp = Swift.min(Swift.max(qmin - Int((mn / scale).rounded(.toNearestOrEven)), qmin), qmax)
        return (scale, -zp)
    }

    /// onnxruntime.quantization.quant_utils `compute_scale_zp`: the scale is computed in float64 from
    /// the float32 range and cast to float32 last; the zero point uses the float64 scale.
    static func onnxruntime(min xmin: Float, max xmax: Float, scheme: QuantScheme) -> (scale: Float, offset: Int) {
        let (qmin, qmax) = scheme.quantRange
        var rmin = Swift.min(xmin.isFinite ? xmin : 0, 0)
        var rmax = Swift.max(xmax.isFinite ? xmax : 0, 0)
        if scheme.symmetric {
            let a = Swift.max(abs(rmin), abs(rmax))
            rmin = -a
            rmax = a
        }
        // Widened before subtracting (onnxruntime 1.31: float64 difference), so huge ranges do not overflow.
        let scale = (Double(rmax) - Double(rmin)) / (Double(qmax) - Double(qmin))
        if scale < Double(Float.leastNormalMagnitude) { return (1, 0) }
        let zp: Int
        if scheme.symmetric {
            zp = Int((Double(qmin + qmax) / 2).rounded(.toNearestOrEven))
        } else {
            zp = Int((Double(qmin) - Double(rmin) / scale).rounded(.toNearestOrEven))
        }
        return (Float(scale), -zp)
    }

    /// TensorRT implicit INT8: `scale = amax / 127` with `amax = max(|min|, |max|)`, zero point 0.
    static func tensorrt(min xmin: Float, max xmax: Float) -> (scale: Float, offset: Int) {
        let amax = Swift.max(abs(xmin.isFinite ? xmin : 0), abs(xmax.isFinite ? xmax : 0))
        return (amax / 127, 0)
    }
}
