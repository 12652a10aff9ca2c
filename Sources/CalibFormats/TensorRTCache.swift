import CalibModel
import CalibSupport
import Foundation

/// TensorRT's INT8 calibration cache (implicit quantization), as `IInt8Calibrator::writeCalibrationCache`
/// receives it and `readCalibrationCache` hands it back:
///
/// ```
/// TRT-100300-MinMaxCalibration
/// input: 3c010204
/// conv1/output: 3d4ccccd
/// ```
///
/// The first line names the TensorRT version and calibration algorithm; TensorRT silently ignores a
/// cache whose header does not match the version and algorithm it runs with. Each other line is
/// `NAME: HEX`, HEX the 8 hex digits of the big-endian IEEE float32 bits of `scale = amax / 127`;
/// TensorRT reads the tensor's dynamic range as `scale * 127`.
public enum TensorRTCache {
    static let formatName = "TensorRT calibration cache"

    /// TensorRT 10.3.0 (`NV_TENSORRT_VERSION` = major * 10000 + minor * 100 + patch since TensorRT 10;
    /// 8.6.1 was `8601`). Pass the version you deploy with.
    public static let defaultVersion = "100300"
    /// `IInt8MinMaxCalibrator`'s name: its ranges are the plain minimum and maximum, as calib observes them.
    public static let defaultAlgorithm = "MinMaxCalibration"

    /// The header and one `NAME: HEX` line per entry, in table order, every line ending in "\n".
    ///
    /// An entry whose encoding already follows TensorRT's convention is written with its own scale, so
    /// a cache read and written again is the same file (`scale * 127 / 127` is not always `scale` in
    /// float32). Any other entry gets `scale = amax / 127` in float32 (amax 1.0 gives `3c010204`), where
    /// `amax` is `max(|min|, |max|)` of the entry's observed range when it has one
    /// (`observedMin`/`observedMax`), else of its encoding's representable range; non-finite values are
    /// left out (an entry with none gets amax 0). The cache is per-tensor only: a per-channel entry is
    /// written with the largest amax of its channels.
    public static func export(
        _ table: EncodingTable, version: String = defaultVersion, algorithm: String = defaultAlgorithm
    ) -> String {
        var out = "TRT-\(version)-\(algorithm)\n"
        for entry in table.entries {
            out += "\(entry.name): \(hex(scale(of: entry)))\n"
        }
        return out
    }

    /// The scale TensorRT reads for `entry`.
    static func scale(of entry: EncodingTable.Entry) -> Float {
        let e = entry.encoding
        if e.scheme.convention == .tensorrt, e.channelCount == 1 { return e.scale[0] }
        let lows = entry.observedMin ?? e.min
        let highs = entry.observedMax ?? e.max
        let amax = (lows + highs).filter(\.isFinite).map(abs).max() ?? 0
        return amax / 127
    }

    /// The 8 lowercase hex digits of a float32's big-endian bits.
    static func hex(_ scale: Float) -> String {
        let h = String(scale.bitPattern, radix: 16)
        return String(repeating: "0", count: 8 - h.count) + h
    }

    /// The header's version and algorithm (`TRT-<version>-<algorithm>`).
    public static func header(_ data: Data) throws -> (version: String, algorithm: String) {
        try lines(data).header
    }

    /// Reads a cache: every tensor becomes an activation encoding with convention `.tensorrt` (symmetric,
    /// signed 8-bit, codes -127...127), the scale from its hex, offset 0, and the observed range
    /// `-127 * scale ... 127 * scale` (TensorRT's dynamic range), so it can be re-derived under another
    /// convention. Names may contain ": " (a line splits at its last ": "); blank lines are skipped.
    ///
    /// - Throws: `FormatError` for a missing or malformed header, a line without `: `, a HEX that is not 8
    ///   hex digits or encodes a negative, non-finite, zero or subnormal scale, or a tensor named twice.
    public static func parse(_ data: Data) throws -> EncodingTable {
        let scheme = QuantScheme(convention: .tensorrt, bitwidth: 8, symmetric: true, signed: true)
        var names: Set<ExactName> = []
        var entries: [EncodingTable.Entry] = []
        for (n, line) in try lines(data).body {
            guard let colon = line.range(of: ": ", options: .backwards) else {
                throw fail("line \(n): expected 'NAME: HEX', found '\(line.prefix(80))'")
            }
            let name = String(line[..<colon.lowerBound])
            let hexText = line[colon.upperBound...]
            guard hexText.count == 8, hexText.allSatisfy(\.isHexDigit), let bits = UInt32(hexText, radix: 16) else {
                throw fail("line \(n): '\(hexText.prefix(40))' is not 8 hex digits")
            }
            let scale = Float(bitPattern: bits)
            guard scale.isFinite, scale >= 0 else { throw fail("line \(n): \(hexText) is not a finite non-negative scale") }
            // Zero or subnormal: `1 / scale` overflows float32, so no INT8 code maps back to a value.
            guard scale.isNormal else {
                throw fail("line \(n): \(hexText) is a zero or subnormal scale; TensorRT needs a positive normal float32 scale")
            }
            guard names.insert(ExactName(name)).inserted else { throw fail("line \(n): tensor '\(name)' appears twice") }
            let amax = scale * 127
            let encoding = Encoding(
                scheme: scheme, channelAxis: nil, scale: [scale], offset: [0], min: [scale * -127], max: [amax])
            entries.append(
                EncodingTable.Entry(name: name, role: .activation, encoding: encoding, observedMin: [-amax], observedMax: [amax]))
        }
        return try EncodingTable(entries: entries).validated(format: formatName)
    }

    private static func fail(_ message: String) -> FormatError { FormatError(format: formatName, message) }

    private static func lines(_ data: Data) throws -> (header: (version: String, algorithm: String), body: [(Int, String)]) {
        guard let text = String(validatingUTF8Bytes: [UInt8](data)) else { throw fail("the file is not UTF-8 text") }
        var all = OnnxRuntimeCalibration.lines(of: text).enumerated().map { (n, line) in (n + 1, line) }
        all.removeAll { $0.1.allSatisfy { $0 == " " || $0 == "\t" } }
        guard let first = all.first, first.0 == 1 else { throw fail("missing the 'TRT-<version>-<algorithm>' header line") }
        let parts = first.1.split(separator: "-", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "TRT", !parts[1].isEmpty, parts[1].allSatisfy(\.isASCII),
            parts[1].allSatisfy(\.isNumber),
            !parts[2].isEmpty
        else {
            throw fail("line 1: expected 'TRT-<version>-<algorithm>', found '\(first.1.prefix(80))'")
        }
        return ((String(parts[1]), String(parts[2])), Array(all.dropFirst()))
    }
}
