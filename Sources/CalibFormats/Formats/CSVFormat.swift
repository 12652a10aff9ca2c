import CalibModel
import CalibSupport
import Foundation

/// `csv`: one row per tensor and channel (`CSVEncodings`), for spreadsheets and pandas.
public struct CSVFormat: EncodingFormat {
    public init() {}
    public var name: String { "csv" }

    public func unwritable(_ table: EncodingTable) -> [(tensor: String, reason: String)] { unholdableNames(table, format: name) }
    public var summary: String { "one row per tensor and channel" }

    public func render(_ content: ExportContent, options: ExportOptions) throws -> ExportedFiles {
        .file(Data(CSVEncodings.export(content.table).utf8))
    }
}
