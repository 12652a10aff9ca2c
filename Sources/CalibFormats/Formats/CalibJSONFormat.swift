import CalibModel
import CalibSupport
import Foundation

/// `json`: calib's own layout (`EncodingsJSON`), streamed: a large session's document is rendered on
/// every core and never held whole.
public struct CalibJSONFormat: EncodingFormat {
    public init() {}
    public var name: String { "json" }
    public var summary: String { "calib's layout: every setting, encoding and statistic per tensor" }

    public func render(_ content: ExportContent, options: ExportOptions) throws -> ExportedFiles {
        var data = Data()
        try EncodingsJSON.write(session: content.session, reports: content.reports) { data.append(contentsOf: $0) }
        return .file(data)
    }

    public func write(_ content: ExportContent, options: ExportOptions, to output: ExportOutput) throws {
        try EncodingsJSON.write(session: content.session, reports: content.reports) { try output.write($0) }
    }
}
