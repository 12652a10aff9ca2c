import CalibModel
import CalibSupport
import Foundation

/// `aimet` (1.0.0, AIMET's default), `aimet-0.6.1` and `aimet-2.0.0`: the files QNN and SNPE
/// converters read (`AimetEncodings`). Importing, `aimet` detects the version from the file.
public struct AimetFormat: EncodingFormat, EncodingImportFormat {
    /// nil: any version (import only).
    public let version: AimetVersion?

    public init(version: AimetVersion?) { self.version = version }

    public var name: String { version == nil || version == .v1_0_0 ? "aimet" : "aimet-\(version!.rawValue)" }

    public var summary: String {
        switch version {
        case .v0_6_1: "the older per-name dictionaries with \"True\"/\"False\" strings, one entry per channel"
        case .v2_0_0: "encodings list with output_dtype, y_scale, y_zero_point, axis"
        default: "AIMET/QNN encodings 1.0.0 (AIMET's default)"
        }
    }

    public func render(_ content: ExportContent, options: ExportOptions) throws -> ExportedFiles {
        .file(Data(AimetEncodings.export(content.table, version: version ?? .v1_0_0).utf8))
    }

    public func parse(_ data: Data, file: String, derive: RangeEncoder) throws -> EncodingTable {
        try AimetEncodings.parse(data)
    }
}
