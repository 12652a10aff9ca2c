import CalibModel
import CalibSupport
import Foundation

/// `tensorrt`: an implicit INT8 calibration cache (`TensorRTCache`), one scale per tensor.
public struct TensorRTFormat: EncodingFormat, EncodingImportFormat {
    public init() {}
    public var name: String { "tensorrt" }
    public var summary: String {
        "TRT-<version>-<algorithm>, then name: hex lines (big-endian float32 amax / 127); per-tensor only"
    }

    public var writesRanges: Bool { true }
    public var rangeTool: Convention? { .tensorrt }

    /// Per-channel entries, and entries whose scale would be zero or subnormal: an all-zero tensor
    /// (amax 0) or one whose values are all subnormal. TensorRT gets no usable scale from either
    /// (`1 / scale` overflows float32), and calib's own importer refuses such a cache; so such
    /// tensors are refused by name, never written as `00000000`.
    public func unwritable(_ table: EncodingTable) -> [(tensor: String, reason: String)] {
        let shapes =
            unholdableNames(table, format: name) + perChannel(table, holds: "TensorRT implicit INT8 caches hold one scale")
        let named = Set(shapes.map { ExactName($0.tensor) })
        let zero = table.entries.compactMap { entry -> (tensor: String, reason: String)? in
            guard !named.contains(ExactName(entry.name)) else { return nil }
            let scale = TensorRTCache.scale(of: entry)
            guard !scale.isNormal else { return nil }
            return (
                entry.name,
                "its largest magnitude \(scale * 127) gives TensorRT scale \(scale) (\(TensorRTCache.hex(scale))), and TensorRT "
                    + "needs a positive normal float32 scale (calib's TensorRT import refuses it too)"
            )
        }
        return shapes + zero
    }

    public func render(_ content: ExportContent, options: ExportOptions) throws -> ExportedFiles {
        // A header calib's own importer (and TensorRT) cannot read back is refused, not written.
        let (version, algorithm) = (options.tensorRT.version, options.tensorRT.algorithm)
        guard !version.isEmpty, version.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw SchemeError(
                "--trt-version '\(version)' must be TensorRT's version number, e.g. 100300 for 10.3.0 or 8601 for 8.6.1")
        }
        guard !algorithm.isEmpty, !algorithm.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 })
        else {
            throw SchemeError("--trt-algorithm '\(algorithm)' must be a calibrator's name without spaces, e.g. MinMaxCalibration")
        }
        let table = content.table
        if let perChannel = table.entries.first(where: { $0.encoding.channelCount > 1 }) {
            throw SchemeError(
                "TensorRT implicit INT8 caches hold one scale per tensor; '\(perChannel.name)' is per-channel "
                    + "(export it with another format, or leave it out with --tensor)")
        }
        return .file(
            Data(TensorRTCache.export(table, version: options.tensorRT.version, algorithm: options.tensorRT.algorithm).utf8))
    }

    public func parse(_ data: Data, file: String, derive: RangeEncoder) throws -> EncodingTable {
        try TensorRTCache.parse(data)
    }
}
