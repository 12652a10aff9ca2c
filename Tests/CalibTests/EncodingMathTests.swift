import CalibTestSupport
import Testing

@testable import CalibDerivation
@testable import CalibKit
@testable import CalibModel
@testable import CalibReaders
@testable import CalibSupport

/// Convention details the golden cases do not reach: legacy symmetric offsets, PyTorch's
/// reduce_range and unsigned symmetric zero points, grids, and bitwidth limits.
@Suite struct EncodingMathTests {
    @Test func grids() {
        #expect(QuantScheme(bitwidth: 8, signed: true).quantRange == (-128, 127))
        #expect(QuantScheme(bitwidth: 8, signed: false).quantRange == (0, 255))
        #expect(QuantScheme(bitwidth: 4, signed: true).quantRange == (-8, 7))
        #expect(QuantScheme(bitwidth: 32, signed: true).quantRange == (-2_147_483_648, 2_147_483_647))
        #expect(QuantScheme(convention: .pytorch, bitwidth: 8, signed: true, reduceRange: true).quantRange == (-64, 63))
        #expect(QuantScheme(convention: .pytorch, bitwidth: 8, signed: false, reduceRange: true).quantRange == (0, 127))
    }

    @Test func defaultsFollowAIMET() {
        #expect(QuantScheme(symmetric: false).signed == false)
        #expect(QuantScheme(symmetric: true).signed == true)
        #expect(SettingsOverride(symmetric: true).appliedScheme(to: QuantScheme()).signed == true)
        #expect(SettingsOverride(symmetric: true, signed: false).appliedScheme(to: QuantScheme()).signed == false)
        #expect(TensorSettings.defaults(for: .param).observer.channelAxis == 0)
        #expect(TensorSettings.defaults(for: .param).scheme == QuantScheme(symmetric: true, signed: true))
        #expect(TensorSettings.defaults(for: .activation).scheme == QuantScheme(symmetric: false, signed: false))
    }

    @Test func bitwidthLimits() {
        #expect(throws: Never.self) { try QuantScheme(convention: .aimet, bitwidth: 32).validate() }
        #expect(throws: SchemeError.self) { try QuantScheme(convention: .pytorch, bitwidth: 32).validate() }
        #expect(throws: SchemeError.self) { try QuantScheme(convention: .aimet, bitwidth: 1).validate() }
        #expect(throws: SchemeError.self) { try QuantScheme(convention: .aimetLegacy, bitwidth: 17).validate() }
        #expect(throws: SchemeError.self) { try QuantScheme(convention: .aimet, reduceRange: true).validate() }
    }

    /// aimet-legacy differs from aimet only in the symmetric offset.
    @Test func legacyOnlyChangesSymmetricOffsets() {
        for symmetric in [false, true] {
            for signed in [false, true] {
                let a = EncodingMath.scaleOffset(
                    min: -2.1152, max: 1.2377, scheme: QuantScheme(symmetric: symmetric, signed: signed))
                let l = EncodingMath.scaleOffset(
                    min: -2.1152, max: 1.2377, scheme: QuantScheme(convention: .aimetLegacy, symmetric: symmetric, signed: signed)
                )
                #expect(a.scale == l.scale)
                #expect(l.offset == (symmetric ? 0 : a.offset))
            }
        }
        // Unsigned symmetric: aimet shifts the grid by -128, legacy keeps offset 0 (negatives clamp to 0).
        #expect(EncodingMath.scaleOffset(min: -1, max: 1, scheme: QuantScheme(symmetric: true, signed: false)).offset == -128)
    }

    /// Values worked by hand from torch's `_calculate_qparams`.
    @Test func pytorchQParams() {
        let affine = QuantScheme(convention: .pytorch, signed: false)
        // scale = 3 / 255; zp = 0 - rne(-1 / scale) = rne(85.0) = 85
        let a = EncodingMath.scaleOffset(min: -1, max: 2, scheme: affine)
        #expect(a.scale == Float(3) / Float(255))
        #expect(a.offset == -85)
        // reduce_range quint8: range 0..127, scale = 2 / 127, zp = rne(63.5) = 64 (half to even)
        var reduced = affine
        reduced.reduceRange = true
        let r = EncodingMath.scaleOffset(min: -1, max: 1, scheme: reduced)
        #expect(r.scale == Float(2) / Float(127))
        #expect(r.offset == -64)
        // symmetric quint8: zero point 128 and scale = amax / 127.5
        let s = EncodingMath.scaleOffset(
            min: -3, max: 1, scheme: QuantScheme(convention: .pytorch, symmetric: true, signed: false))
        #expect(s.scale == Float(3) / Float(127.5))
        #expect(s.offset == -128)
        // symmetric 4-bit unsigned: custom range, zp = (0 + 15) // 2 = 7
        let s4 = EncodingMath.scaleOffset(
            min: -3, max: 1, scheme: QuantScheme(convention: .pytorch, bitwidth: 4, symmetric: true, signed: false))
        #expect(s4.offset == -7)
        // never observed: scale 1, zero point 0; all-zero: eps
        #expect(EncodingMath.scaleOffset(min: .infinity, max: -.infinity, scheme: affine) == (1, 0))
        #expect(EncodingMath.scaleOffset(min: 0, max: 0, scheme: affine).scale == 0x1p-23)
    }

    @Test func aimetTinyAndUnobservedRanges() {
        let ms: Float = 0x1p-23
        #expect(EncodingMath.scaleOffset(min: 0, max: 0, scheme: QuantScheme()).scale == ms)
        #expect(EncodingMath.scaleOffset(min: .infinity, max: -.infinity, scheme: QuantScheme()).scale == ms)
        // 32-bit: the minimum scale is 0.01 / (2^32 - 1) rounded to float32
        #expect(
            EncodingMath.scaleOffset(min: 0, max: 0, scheme: QuantScheme(bitwidth: 32)).scale == Float(0.01 / 4_294_967_295.0))
    }

    @Test func quantizeDequantizePerChannel() {
        let e = Encoding(
            scheme: QuantScheme(bitwidth: 8, symmetric: true), channelAxis: 1, scale: [0.5, 2], offset: [0, 0],
            min: [-64, -256], max: [63.5, 254])
        // shape [2, 2]: channel = column
        let codes = e.quantize([1.3, 1.3, -1000, 1000], shape: [2, 2])
        #expect(codes == [3, 1, -128, 127])  // 1.3/0.5 = 2.6 → 3; 1.3/2 = 0.65 → 1; clamped
        #expect(e.dequantize(codes, shape: [2, 2]) == [1.5, 2, -64, 254])
        #expect(e.quantize([.nan, 2.5], shape: [1, 2]) == [-128, 1])  // NaN → qmin; 2.5/2 = 1.25 → 1
        #expect(e.quantize([0.25, 0.75], shape: [1, 2]) == [0, 0])  // rne(0.5) = 0, rne(0.375) = 0
    }

    @Test func jsonFloatsPrintLikePython() {
        #expect(JSONValue.format(0.014831412583589554) == "0.014831412583589554")
        #expect(JSONValue.format(5) == "5.0")
        #expect(JSONValue.format(-0.0) == "-0.0")
        #expect(JSONValue.format(1e-5) == "9.999999747378752e-06")
        #expect(JSONValue.format(0x1p-23) == "1.1920928955078125e-07")
        #expect(JSONValue.format(3e38) == "3.0000000054977558e+38")
        #expect(JSONValue.format(.nan) == "null")
        #expect(
            JSONValue.object([("a", .int(1)), ("b", .array([.float(0.5), .null]))]).rendered(indent: 0)
                == #"{"a":1,"b":[0.5,null]}"#)
    }
}
