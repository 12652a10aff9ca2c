import CalibModel
import CalibSupport
import Foundation

/// `onnxruntime`: the directory `write_calibration_table` writes (`calibration.json`,
/// `calibration.flatbuffers`, `calibration.cache`), calibrated ranges that ONNX Runtime turns into
/// scales itself. Importing reads any one of them.
public struct OnnxRuntimeTableFormat: EncodingFormat, EncodingImportFormat {
    public init() {}
    public var name: String { "onnxruntime" }
    public var summary: String { "a directory (-o DIR): calibration.json, calibration.flatbuffers, calibration.cache" }
    public var writesDirectory: Bool { true }
    public var directoryMembers: [String] { ["calibration.json", "calibration.flatbuffers", "calibration.cache"] }

    public var writesRanges: Bool { true }
    public var rangeTool: Convention? { .onnxruntime }

    public func unwritable(_ table: EncodingTable) -> [(tensor: String, reason: String)] {
        perChannel(table, holds: "ONNX Runtime calibration tables hold one range")
    }

    public func render(_ content: ExportContent, options: ExportOptions) throws -> ExportedFiles {
        let table = content.table
        try requireRanges(table, format: name)
        return .directory([
            ("calibration.json", Data(OnnxRuntimeCalibration.calibrationJSON(table).utf8)),
            ("calibration.flatbuffers", OnnxRuntimeCalibration.flatbuffers(table)),
            ("calibration.cache", Data(OnnxRuntimeCalibration.cache(table).utf8)),
        ])
    }

    public func parse(_ data: Data, file: String, derive: RangeEncoder) throws -> EncodingTable {
        switch URL(fileURLWithPath: file).pathExtension {
        case "flatbuffers": try OnnxRuntimeCalibration.parseFlatbuffers(data, derive: derive)
        case "cache": try OnnxRuntimeCalibration.parseCache(data, derive: derive)
        default: try OnnxRuntimeCalibration.parseCalibrationJSON(data, derive: derive)
        }
    }
}
