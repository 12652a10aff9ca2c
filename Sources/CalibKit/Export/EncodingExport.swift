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
        // Formats that write ranges get each tensor's calibrated range (a histogram method's, not the
        // observed min/max), computed once; the others write the observed range they label as such.
        var ranges: [ExactName: (min: [Float], max: [Float])] = [:]
        if format.writesRanges {
            for r in reports {
                // A canonical histogram serves the format's own tool; a tool's histogram, that tool.
                let canonical = r.stats?.histogram.map { $0.convention == nil } ?? false
                let tool = (canonical ? format.rangeTool : nil) ?? r.encoding.scheme.convention
                if case .aimet? = r.stats?.histogram {
                    // AIMET's analyzers give encodings: their range is the encoding's grid, as AIMET's
                    // get_min/get_max report it (the method's, at the tensor's bitwidth).
                    ranges[ExactName(r.tensor.name)] = (r.encoding.min, r.encoding.max)
                } else if let range = r.stats?.calibratedRange(for: tool) {
                    ranges[ExactName(r.tensor.name)] = range
                }
            }
        }
        func content(_ reports: [TensorReport]) -> ExportContent {
            ExportContent(session: session, reports: reports, ranges: reports.map { ranges[ExactName($0.tensor.name)] })
        }
        var problems = CoverageProblem.find(in: reports)
        let found = Set(problems.map(\.tensor))
        problems += format.unwritable(content(reports.filter { !found.contains($0.tensor.name) }).table).map {
            CoverageProblem(tensor: $0.tensor, reason: $0.reason)
        }
        if !problems.isEmpty {
            guard allowIncomplete else { throw ExportRefused(problems: problems, format: format.name) }
            let bad = Set(problems.map { ExactName($0.tensor) })
            reports.removeAll { bad.contains(ExactName($0.tensor.name)) }
            leftOut = problems
        }
        // An export of nothing would be a file that deploys no encoding, with exit 0.
        if reports.isEmpty {
            throw SchemeError(
                leftOut.isEmpty
                    ? "session '\(session.name)' has no tensors: nothing to export (calibrate it with `calib run` first)"
                    : "every tensor of session '\(session.name)' cannot be encoded, so nothing is left to export:\n"
                        + leftOut.map { "  \($0)" }.joined(separator: "\n"))
        }
        self.content = content(reports)
        self.format = format
        self.options = options
    }

    /// Refuses options that cannot change an export in `format`, rather than ignoring them: a
    /// format that writes calibrated ranges (tensorrt, onnxruntime, onnxruntime-cache) is the same
    /// whatever the encoding options or the label (every label shares the session's statistics).
    /// `--method` changes the range of AIMET, onnxruntime and calib histograms (not torch's, which
    /// has one method): it is refused unless `reports` hold one.
    public static func refuseIgnoredOptions(
        format: any EncodingFormat, override: SettingsOverride, label: String, method: MethodRequest? = nil,
        reports: [TensorReport] = []
    ) throws {
        guard format.writesRanges else { return }
        var given: [String] = []
        let rangesFollowMethod = reports.contains { r in r.stats?.histogram.map { $0.convention != .pytorch } ?? false }
        if method != nil && !rangesFollowMethod { given.append("--method") }
        if let c = override.convention { given.append("--convention \(c.rawValue)") }
        if let b = override.bitwidth { given.append("--bitwidth \(b)") }
        if let s = override.symmetric { given.append(s ? "--symmetric" : "--asymmetric") }
        if let s = override.signed { given.append(s ? "--signed" : "--unsigned") }
        if override.reduceRange == true { given.append("--reduce-range") }
        if label != "default" { given.append("--label \(label)") }
        guard !given.isEmpty else { return }
        throw SchemeError(
            "--format \(format.name) writes each tensor's calibrated range (the deploying tool derives its own scales), "
                + "so \(given.joined(separator: ", ")) would change nothing: drop \(given.count == 1 ? "it" : "them"), "
                + "or export encodings with --format aimet or json")
    }

    /// Writes to `path` (a directory for directory formats), or to standard output when nil. Files
    /// appear whole or not at all (`ExportOutput`), a directory's members as a set (`ExportDirectory`);
    /// a device, FIFO or `/dev/stdout` is written in place, a symlink's target replaced. `store`: the database the session came from, which no output may be.
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
        try ExportDirectory.write(members, to: dir.path)
    }
}

/// An export refused because some tensors cannot be encoded.
public struct ExportRefused: Error, CustomStringConvertible, Sendable {
    public let problems: [CoverageProblem]
    public var format: String? = nil

    public var description: String {
        let list = problems.map { "  \($0)" }.joined(separator: "\n")
        return "\(problems.count) tensor\(problems.count == 1 ? "" : "s") cannot be "
            + "\(format.map { "exported as \($0)" } ?? "encoded"):\n\(list)\n"
            + "nothing was written; --allow-incomplete leaves them out"
    }
}
