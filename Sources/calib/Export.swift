import ArgumentParser
import CalibKit
import Foundation

extension Calib {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Write a session's encodings in a deployment tool's format.",
            discussion: "Formats:\n"
                + EncodingFormats.export.map { "  \($0.name): \($0.summary)" }.joined(separator: "\n")
                + "\n\nA tensor that was never observed, or whose scale or range is zero or not finite, is listed and "
                + "the export refused; --allow-incomplete leaves such tensors out instead. Encoding options re-derive "
                + "from the stored statistics without changing the session. Range formats (tensorrt, onnxruntime, "
                + "onnxruntime-cache) hold one calibrated range per tensor: per-channel tensors, and for tensorrt "
                + "tensors whose scale would be zero or subnormal, are refused like the above, and encoding options or "
                + "--label, which cannot change them, are refused.")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The session: NAME in --db, or PATH:NAME in the database at PATH (names never contain ':').")
        var session: String

        @Option(
            help: ArgumentHelp(
                "Output format: \(EncodingFormats.export.map(\.name).joined(separator: ", ")).", valueName: "format"))
        var format = "json"

        @Option(
            name: .shortAndLong,
            help: ArgumentHelp("Write here (a directory for onnxruntime) instead of stdout.", valueName: "path"))
        var output: String?

        @Option(help: ArgumentHelp("Export the encoding set stored under this label (see `calib derive`).", valueName: "label"))
        var label = "default"

        @Option(
            name: .customLong("tensor"), help: ArgumentHelp("Only tensors matching this glob (repeatable).", valueName: "glob"))
        var tensors: [String] = []

        @OptionGroup var encoding: EncodingOptions

        @OptionGroup var method: MethodOptions

        @Flag(help: "Leave out tensors that cannot be encoded (listed on stderr) instead of refusing.")
        var allowIncomplete = false

        @Option(help: "TensorRT version in the cache header (tensorrt format; default \(TensorRTExportOptions.defaultVersion)).")
        var trtVersion: String?

        @Option(
            help:
                "TensorRT calibration algorithm in the cache header (tensorrt format; default \(TensorRTExportOptions.defaultAlgorithm), EntropyCalibration2 for tensors with calib's histogram)."
        )
        var trtAlgorithm: String?

        /// The cache's algorithm: TensorRT's entropy calibration when its ranges come from calib's
        /// canonical histograms (what the range is), min/max otherwise.
        static func algorithm(_ reports: [TensorReport]) -> String {
            let entropy = reports.contains { r in r.stats?.histogram.map { $0.convention == nil } ?? false }
            return entropy ? "EntropyCalibration2" : TensorRTExportOptions.defaultAlgorithm
        }

        func run() throws {
            try reportingErrors {
                guard let exportFormat = EncodingFormats.export(named: format) else {
                    throw ValidationError(
                        "unknown format '\(format)': one of \(EncodingFormats.export.map(\.name).joined(separator: ", "))")
                }
                try EncodingExport.refuseIgnoredOptions(format: exportFormat, override: encoding.override, label: label)
                if exportFormat.name != "tensorrt",
                    let given = trtVersion.map({ _ in "--trt-version" }) ?? trtAlgorithm.map({ _ in "--trt-algorithm" })
                {
                    throw ValidationError("\(given) applies to --format tensorrt only, not \(exportFormat.name)")
                }
                let (store, s) = try SessionRef(session, defaultDB: database.path).open()
                let reports = try Derivation.rederive(
                    try store.selectedReports(session: s, label: label, tensors: tensors, onUnmatched: noteUnmatchedTensors),
                    override: encoding.override, method: method.request, methodTool: exportFormat.rangeTool)
                // --method changes onnxruntime histograms' ranges only: known once the reports are read.
                try EncodingExport.refuseIgnoredOptions(
                    format: exportFormat, override: SettingsOverride(), label: "default", method: method.request, reports: reports
                )
                let export = try EncodingExport(
                    session: s, reports: reports, format: exportFormat,
                    options: ExportOptions(
                        tensorRT: TensorRTExportOptions(
                            version: trtVersion ?? TensorRTExportOptions.defaultVersion,
                            algorithm: trtAlgorithm ?? Self.algorithm(reports))),
                    allowIncomplete: allowIncomplete)
                if !export.leftOut.isEmpty {
                    let n = export.leftOut.count
                    let list = export.leftOut.map { "  \($0)" }.joined(separator: "\n")
                    Terminal.standardError.write("calib: leaving out \(n) tensor\(n == 1 ? "" : "s"):\n\(list)\n")
                }
                try export.write(to: output, protecting: store)
            }
        }
    }
}

extension SessionDiff.SortKey: ExpressibleByArgument {}
