import CalibModel
import CalibSupport
import Foundation

/// What an export is made from: a session's reports, as values (no store behind them).
public struct ExportContent: Sendable {
    public var session: Session
    public var reports: [TensorReport]
    /// Per report, the calibrated range that range formats write (`TensorStats.calibratedRange`);
    /// nil uses the observed range.
    public var ranges: [(min: [Float], max: [Float])?]

    public init(session: Session, reports: [TensorReport], ranges: [(min: [Float], max: [Float])?]? = nil) {
        self.session = session
        self.reports = reports
        self.ranges = ranges ?? Array(repeating: nil, count: reports.count)
    }

    /// The named encodings deployment formats carry.
    public var table: EncodingTable {
        var table = EncodingTable(reports)
        for (i, r) in ranges.enumerated() {
            guard let r else { continue }
            table.entries[i].observedMin = r.min
            table.entries[i].observedMax = r.max
        }
        return table
    }
}

/// Per-format export settings that come from the command line.
public struct ExportOptions: Sendable {
    /// The TensorRT cache header.
    public var tensorRT: TensorRTExportOptions

    public init(tensorRT: TensorRTExportOptions = TensorRTExportOptions()) { self.tensorRT = tensorRT }
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

/// A deployment tool's encodings file, as GRDB's `DumpFormat` is a way of printing rows: each format
/// is one type in `Formats/`, found by name in `EncodingFormats`. Rendering is pure; the export
/// stage (CalibKit) checks coverage and writes the files.
public protocol EncodingFormat: Sendable {
    /// What `--format` calls it.
    var name: String { get }
    /// One line for `--help` and the README.
    var summary: String { get }
    /// Writes a directory (`-o DIR`) rather than one file.
    var writesDirectory: Bool { get }
    /// Writes calibrated ranges, from which the deploying tool derives its own scales: encoding
    /// options (`--bitwidth`, `--symmetric`, `--label`, ...) cannot change such an export, so the
    /// export stage refuses them instead of ignoring them.
    var writesRanges: Bool { get }
    /// For a range format, the tool whose calibrator it stands for: a tensor holding calib's
    /// canonical histogram gets that tool's method range (TensorRT's entropy in its cache,
    /// onnxruntime's method in its tables). nil otherwise.
    var rangeTool: Convention? { get }
    /// The entries this format cannot hold, with why (e.g. per-channel ranges in a per-tensor
    /// table). The export stage refuses them like the coverage check's findings, or leaves them out
    /// with `--allow-incomplete`, so no format drops or reshapes a tensor silently.
    func unwritable(_ table: EncodingTable) -> [(tensor: String, reason: String)]
    /// The export's bytes.
    func render(_ content: ExportContent, options: ExportOptions) throws -> ExportedFiles
    /// Writes a one-file export to `output`. The default renders it whole; a format whose exports
    /// can be larger than is worth holding in memory streams instead.
    func write(_ content: ExportContent, options: ExportOptions, to output: ExportOutput) throws
}

extension EncodingFormat {
    public var writesDirectory: Bool { false }
    public var writesRanges: Bool { false }
    public var rangeTool: Convention? { nil }
    public func unwritable(_ table: EncodingTable) -> [(tensor: String, reason: String)] { [] }

    public func write(_ content: ExportContent, options: ExportOptions, to output: ExportOutput) throws {
        guard case .file(let data) = try render(content, options: options) else {
            throw SchemeError("--format \(name) writes a directory: pass -o DIR")
        }
        try data.withUnsafeBytes { try output.write($0) }
    }
}

/// A format calib can also read back (`calib import`).
public protocol EncodingImportFormat: Sendable {
    var name: String { get }
    /// In a directory given to `calib import`, the file names to read, in order of preference
    /// (empty: the format reads one file, not a directory).
    var directoryMembers: [String] { get }
    /// The file's encodings, validated. `derive` turns ranges into encodings for formats that carry
    /// ranges only; `file` is the path read (its extension may pick the layout).
    func parse(_ data: Data, file: String, derive: RangeEncoder) throws -> EncodingTable
}

extension EncodingImportFormat {
    public var directoryMembers: [String] { [] }
}

/// Every format, by name.
public enum EncodingFormats {
    public static let export: [any EncodingFormat] = [
        CalibJSONFormat(), AimetFormat(version: .v1_0_0), AimetFormat(version: .v0_6_1), AimetFormat(version: .v2_0_0),
        AimetTorchFormat(), OnnxRuntimeTableFormat(), OnnxRuntimeCacheFormat(), TensorRTFormat(), CSVFormat(),
    ]

    public static let `import`: [any EncodingImportFormat] = [
        AimetFormat(version: nil), AimetFormat(version: .v0_6_1), AimetFormat(version: .v2_0_0), OnnxRuntimeTableFormat(),
        TensorRTFormat(),
    ]

    public static func export(named name: String) -> (any EncodingFormat)? { export.first { $0.name == name } }
    public static func `import`(named name: String) -> (any EncodingImportFormat)? { `import`.first { $0.name == name } }
}

/// Per-channel entries, which a table of one range (or scale) per tensor cannot hold: collapsing
/// them to their widest channel would deploy a range no channel was calibrated to.
func perChannel(_ table: EncodingTable, holds: String) -> [(tensor: String, reason: String)] {
    table.entries.filter { $0.encoding.channelCount > 1 }.map {
        (
            $0.name,
            "per-channel (\($0.encoding.channelCount) channels), and \(holds) per tensor (export it with --format aimet or json)"
        )
    }
}

/// Entries whose names a line-based format cannot hold: empty, NUL or control characters (a newline
/// would split a line). calib refuses such names when it stores a tensor, but a session written by an
/// older calib (or imported from JSON) can hold them; the export refuses them by name.
func unholdableNames(_ table: EncodingTable, format: String) -> [(tensor: String, reason: String)] {
    table.entries.compactMap { entry in
        Names.tensorProblem(entry.name).map { (entry.name, "\($0) (--format \(format) cannot write it)") }
    }
}

/// ONNX Runtime tables hold calibrated ranges, not encodings.
func requireRanges(_ table: EncodingTable, format: String) throws {
    if let e = table.entries.first(where: { $0.observedMin == nil }) {
        throw SchemeError("--format \(format) writes calibrated ranges, and '\(e.name)' has none (imported encodings only)")
    }
}
