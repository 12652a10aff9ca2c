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

    public func render(_ content: ExportContent, options: ExportOptions) throws -> ExportedFiles {
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
