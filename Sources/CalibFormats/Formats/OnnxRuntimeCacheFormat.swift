import CalibModel
import CalibSupport
import Foundation

/// `onnxruntime-cache`: the JSON `quantize_static(calibration_cache_path=...)` loads.
public struct OnnxRuntimeCacheFormat: EncodingFormat {
    public init() {}
    public var name: String { "onnxruntime-cache" }
    public var summary: String { "the JSON quantize_static(calibration_cache_path=...) loads" }

    public var writesRanges: Bool { true }
    public var rangeTool: Convention? { .onnxruntime }

    public func unwritable(_ table: EncodingTable) -> [(tensor: String, reason: String)] {
        perChannel(table, holds: "ONNX Runtime calibration tables hold one range")
    }

    public func render(_ content: ExportContent, options: ExportOptions) throws -> ExportedFiles {
        let table = content.table
        try requireRanges(table, format: name)
        return .file(Data(OnnxRuntimeCalibration.quantizeStaticCache(table).utf8))
    }
}
