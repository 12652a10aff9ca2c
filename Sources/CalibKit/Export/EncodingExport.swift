import Foundation

/// The export stage: a session's reports, checked for coverage, rendered by a format and written
/// where asked, never onto the store it came from.
public struct EncodingExport {
    public var content: ExportContent
    public var format: any EncodingFormat
    public var options: ExportOptions
    /// Tensors left out because they cannot be encoded (with `allowIncomplete`).
    public private(set) var leftOut: [CoverageProblem] = []

    /// Refuses tensors that cannot be encoded, or with `allowIncomplete` leaves them out (listed in
    /// `leftOut`).
    public init(
        session: Session, reports: [TensorReport], format: any EncodingFormat, options: ExportOptions = ExportOptions(),
        allowIncomplete: Bool = false
    ) throws {
        var reports = reports
        let problems = CoverageProblem.find(in: reports)
        if !problems.isEmpty {
            guard allowIncomplete else { throw ExportRefused(problems: problems) }
            let bad = Set(problems.map { ExactName($0.tensor) })
            reports.removeAll { bad.contains(ExactName($0.tensor.name)) }
            leftOut = problems
        }
        content = ExportContent(session: session, reports: reports)
        self.format = format
        self.options = options
    }

    /// Writes to `path` (a directory for directory formats), or to standard output when nil. Files
    /// appear whole or not at all. `store`: the database the session came from, which no output may be.
    public func write(to path: String?, protecting store: CalibStore?) throws {
        if let path, let store { try store.refuseOverwriting(path) }
        guard format.writesDirectory else {
            let output = try ExportOutput(path: path)
            try format.write(content, options: options, to: output)
            try output.commit()
            return
        }
        guard let path else { throw SchemeError("--format \(format.name) writes a directory: pass -o DIR") }
        guard case .directory(let members) = try format.render(content, options: options) else { return }
        let dir = URL(fileURLWithPath: path)
        for (name, _) in members { try store?.refuseOverwriting(dir.appendingPathComponent(name).path) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, data) in members { try data.write(to: dir.appendingPathComponent(name), options: .atomic) }
    }
}

/// An export refused because some tensors cannot be encoded.
public struct ExportRefused: Error, CustomStringConvertible, Sendable {
    public let problems: [CoverageProblem]

    public var description: String {
        let list = problems.map { "  \($0)" }.joined(separator: "\n")
        return "\(problems.count) tensor\(problems.count == 1 ? "" : "s") cannot be encoded:\n\(list)\n"
            + "nothing was written; --allow-incomplete leaves them out"
    }
}
