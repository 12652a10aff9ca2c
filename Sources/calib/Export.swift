import ArgumentParser
import CalibKit
import Foundation

extension Calib {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a session's encodings in a deployment tool's format.",
            discussion: """
                Formats: json (calib's layout), aimet (AIMET/QNN encodings 1.0.0), aimet-0.6.1, aimet-2.0.0, \
                onnxruntime (a directory: calibration.json, calibration.flatbuffers, calibration.cache), \
                onnxruntime-cache (the JSON quantize_static(calibration_cache_path=...) loads), tensorrt \
                (implicit INT8 calibration cache), csv (one row per tensor and channel). A tensor that was never \
                observed, or whose scale or range is zero or not finite, is listed and the export refused; \
                --allow-incomplete leaves such tensors out instead. Encoding options re-derive from the stored \
                statistics without changing the session.
                """)

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The session (NAME, or PATH.sqlite:NAME).")
        var session: String

        @Option(help: "Output format.")
        var format: ExportFormat = .json

        @Option(name: .shortAndLong, help: ArgumentHelp("Write here (a directory for onnxruntime) instead of stdout.", valueName: "path"))
        var output: String?

        @Option(help: ArgumentHelp("Export the encoding set stored under this label (see `calib derive`).", valueName: "label"))
        var label = "default"

        @Option(name: .customLong("tensor"), help: ArgumentHelp("Only tensors matching this glob (repeatable).", valueName: "glob"))
        var tensors: [String] = []

        @OptionGroup var encoding: EncodingOptions

        @Flag(help: "Leave out tensors that cannot be encoded (listed on stderr) instead of refusing.")
        var allowIncomplete = false

        @Option(help: "TensorRT version in the cache header (tensorrt format).")
        var trtVersion = TensorRTExportOptions.defaultVersion

        @Option(help: "TensorRT calibration algorithm in the cache header (tensorrt format).")
        var trtAlgorithm = TensorRTExportOptions.defaultAlgorithm

        func run() throws {
            try reportingErrors {
                let (store, s) = try SessionRef(session, defaultDB: database.path).open()
                if let output { try store.refuseOverwriting(output) }
                var reports = try Derivation.rederive(
                    try store.reports(session: s, label: label, tensors: tensors), override: encoding.override)
                let problems = CoverageProblem.find(in: reports)
                if !problems.isEmpty {
                    let list = problems.map { "  \($0)" }.joined(separator: "\n")
                    guard allowIncomplete else {
                        throw ExportRefused(
                            "\(problems.count) tensor\(problems.count == 1 ? "" : "s") cannot be encoded:\n\(list)\n"
                                + "nothing was written; --allow-incomplete leaves them out")
                    }
                    Terminal.standardError.write("calib: leaving out \(problems.count) tensor\(problems.count == 1 ? "" : "s"):\n\(list)\n")
                    let bad = Set(problems.map(\.tensor))
                    reports.removeAll { bad.contains($0.tensor.name) }
                }
                if format == .json {
                    // Streamed: a large session's document is rendered on every core and never held whole.
                    try EncodingsJSON.export(session: s, reports: reports, to: output)
                    return
                }
                let files = try Exporter.render(
                    session: s, reports: reports, format: format,
                    tensorRT: TensorRTExportOptions(version: trtVersion, algorithm: trtAlgorithm))
                switch files {
                case .file(let data):
                    if let output {
                        // Written beside the target and renamed, so a failed export never leaves half a file.
                        try data.write(to: URL(fileURLWithPath: output), options: .atomic)
                    } else {
                        FileHandle.standardOutput.write(data)
                    }
                case .directory(let members):
                    guard let output else { throw ValidationError("--format \(format.rawValue) writes a directory: pass -o DIR") }
                    let dir = URL(fileURLWithPath: output)
                    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                    for (name, _) in members { try store.refuseOverwriting(dir.appendingPathComponent(name).path) }
                    for (name, data) in members { try data.write(to: dir.appendingPathComponent(name), options: .atomic) }
                }
            }
        }
    }
}

struct ExportRefused: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

extension ExportFormat: ExpressibleByArgument {}
extension ImportFormat: ExpressibleByArgument {}
extension SessionDiff.SortKey: ExpressibleByArgument {}
