import Foundation

/// `calib export --format`.
public enum ExportFormat: String, Sendable, CaseIterable {
    case json
    /// AIMET/QNN encodings 1.0.0, AIMET's default.
    case aimet
    case aimet061 = "aimet-0.6.1"
    case aimet200 = "aimet-2.0.0"
    /// A directory: calibration.json, calibration.flatbuffers, calibration.cache.
    case onnxruntime
    /// The JSON `quantize_static(calibration_cache_path=...)` loads.
    case onnxruntimeCache = "onnxruntime-cache"
    case tensorrt
    case csv
}

/// The TensorRT cache header: `TRT-<version>-<algorithm>`. TensorRT silently ignores a cache whose
/// header does not match its own version and calibrator, so both can be chosen.
public struct TensorRTExportOptions: Sendable {
    /// TensorRT 10.3.0.
    public static let defaultVersion = "100300"
    public static let defaultAlgorithm = "MinMaxCalibration"
    public var version: String
    public var algorithm: String

    public init(version: String = defaultVersion, algorithm: String = defaultAlgorithm) {
        self.version = version
        self.algorithm = algorithm
    }
}

/// What an export produces: one file, or a directory of them.
public enum ExportedFiles: Sendable {
    case file(Data)
    case directory([(name: String, data: Data)])
}

/// Renders a session's encodings in a deployment format. Pure: the caller writes the bytes
/// (`EncodingsJSON.export` streams the JSON layout to a file instead, for sessions whose export is
/// larger than it is worth holding in memory).
public enum Exporter {
    public static func render(
        session: Session, reports: [TensorReport], format: ExportFormat,
        tensorRT: TensorRTExportOptions = TensorRTExportOptions()
    ) throws -> ExportedFiles {
        let table = EncodingTable(reports)
        func text(_ s: String) -> ExportedFiles { .file(Data(s.utf8)) }
        switch format {
        case .json:
            var data = Data()
            try EncodingsJSON.write(session: session, reports: reports) { data.append(contentsOf: $0) }
            return .file(data)
        case .aimet:
            return text(AimetEncodings.export(table, version: .v1_0_0))
        case .aimet061:
            return text(AimetEncodings.export(table, version: .v0_6_1))
        case .aimet200:
            return text(AimetEncodings.export(table, version: .v2_0_0))
        case .onnxruntime:
            try requireRanges(table, format: format)
            return .directory([
                ("calibration.json", Data(OnnxRuntimeCalibration.calibrationJSON(table).utf8)),
                ("calibration.flatbuffers", OnnxRuntimeCalibration.flatbuffers(table)),
                ("calibration.cache", Data(OnnxRuntimeCalibration.cache(table).utf8)),
            ])
        case .onnxruntimeCache:
            try requireRanges(table, format: format)
            return text(OnnxRuntimeCalibration.quantizeStaticCache(table))
        case .tensorrt:
            if let perChannel = table.entries.first(where: { $0.encoding.channelCount > 1 }) {
                throw SchemeError(
                    "TensorRT implicit INT8 caches hold one scale per tensor; '\(perChannel.name)' is per-channel "
                        + "(export it with another format, or leave it out with --tensor)")
            }
            return text(TensorRTCache.export(table, version: tensorRT.version, algorithm: tensorRT.algorithm))
        case .csv:
            return text(CSVEncodings.export(table))
        }
    }

    /// ONNX Runtime tables hold calibrated ranges, not encodings.
    static func requireRanges(_ table: EncodingTable, format: ExportFormat) throws {
        if let e = table.entries.first(where: { $0.observedMin == nil }) {
            throw SchemeError("--format \(format.rawValue) writes calibrated ranges, and '\(e.name)' has none (imported encodings only)")
        }
    }
}

/// `calib import --format`.
public enum ImportFormat: String, Sendable, CaseIterable {
    /// Any AIMET encodings version (0.6.1, 1.0.0, 2.0.0), detected from the file.
    case aimet
    case aimet061 = "aimet-0.6.1"
    case aimet200 = "aimet-2.0.0"
    /// calibration.json, calibration.flatbuffers or calibration.cache, or a directory holding them.
    case onnxruntime
    case tensorrt
}

/// Reads another tool's file into an `EncodingTable`.
public enum Importer {
    /// ONNX Runtime files carry ranges: their encodings are derived with `override` applied to
    /// ONNX Runtime's defaults (asymmetric uint8 activations).
    public static func read(path: String, format: ImportFormat, override: SettingsOverride = SettingsOverride()) throws -> EncodingTable {
        var url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw InputError(file: path, "no such file or directory")
        }
        if isDirectory.boolValue {
            guard format == .onnxruntime else { throw InputError(file: path, "is a directory; --format \(format.rawValue) reads one file") }
            let preferred = ["calibration.json", "calibration.flatbuffers", "calibration.cache"]
            guard let name = preferred.first(where: { FileManager.default.fileExists(atPath: url.appendingPathComponent($0).path) }) else {
                throw InputError(file: path, "holds none of \(preferred.joined(separator: ", "))")
            }
            url = url.appendingPathComponent(name)
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw InputError(file: url.path, "cannot read the file")
        }
        do {
            switch format {
            case .aimet, .aimet061, .aimet200:
                let table = try AimetEncodings.parse(data)
                return table
            case .onnxruntime:
                let scheme = override.appliedScheme(to: QuantScheme(convention: .onnxruntime, symmetric: false, signed: false))
                try scheme.validate()
                switch url.pathExtension {
                case "flatbuffers": return try OnnxRuntimeCalibration.parseFlatbuffers(data, scheme: scheme)
                case "cache": return try OnnxRuntimeCalibration.parseCache(data, scheme: scheme)
                default: return try OnnxRuntimeCalibration.parseCalibrationJSON(data, scheme: scheme)
                }
            case .tensorrt:
                return try TensorRTCache.parse(data)
            }
        } catch let error as FormatError {
            throw InputError(file: url.path, error.description)
        }
    }
}
