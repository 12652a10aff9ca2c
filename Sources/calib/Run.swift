import ArgumentParser
import CalibKit
import Foundation

extension Calib {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stream batches through the observers into a session.",
            discussion: """
                Each INPUT is a .safetensors, .npy or .npz file (one batch), a directory of .npy files \
                (one batch, tensor name = file stem), a directory of batches (expanded in name order), or \
                '-' for concatenated safetensors frames on stdin. Running again into an existing session \
                appends batches; a batch whose content the session already holds is skipped.
                """
        )

        @OptionGroup var database: DatabaseOptions

        @Option(help: ArgumentHelp("Session to create or append to.", valueName: "name"))
        var session: String

        @Option(help: "Observer: minmax (running min/max) or ema (moving average of batch min/max).")
        var observer: ObserverKind?

        @Option(help: ArgumentHelp("Moving-average constant c (ema): state += c * (batch - state). Default 0.01.", valueName: "c"))
        var averagingConstant: Float?

        @Option(
            parsing: .unconditional,  // so that "-1" is read as a value, not a flag
            help: ArgumentHelp("Keep per-channel ranges along this axis (negative counts from the end).", valueName: "axis"),
            transform: { s in
                guard let v = Int(s) else { throw ValidationError("--per-channel-axis takes an integer, got '\(s)'") }
                return v
            })
        var perChannelAxis: Int?

        @Option(help: "Bitwidth: 2-16, or 32 with the aimet convention. Default 8.")
        var bitwidth: Int?

        @Flag(help: "Symmetric or asymmetric (default) encodings.")
        var symmetry: Symmetry?

        @Flag(help: "Signed or unsigned grid. Default: unsigned when asymmetric, signed when symmetric.")
        var signedness: Signedness?

        @Option(help: "Convention: aimet (default), aimet-legacy or pytorch.")
        var convention: Convention?

        @Flag(help: "PyTorch reduce_range: one bit less of range.")
        var reduceRange = false

        @Option(name: .customLong("tensor"), help: ArgumentHelp("Observe only tensors matching this glob (repeatable).", valueName: "glob"))
        var tensors: [String] = []

        @Option(help: "Model this calibration is for.") var model: String?
        @Option(help: "Dataset the batches come from.") var dataset: String?
        @Option(help: "Free-form note stored with the session.") var note: String?

        @Argument(help: ArgumentHelp("Batch files or directories, or '-' for stdin.", valueName: "input"))
        var inputs: [String]

        enum Symmetry: String, EnumerableFlag { case symmetric, asymmetric }
        enum Signedness: String, EnumerableFlag { case signed, unsigned }

        func run() throws {
            try reportingErrors {
                let options = RunOptions(
                    session: session, observer: observer, averagingConstant: averagingConstant,
                    channelAxis: perChannelAxis, convention: convention, bitwidth: bitwidth,
                    symmetric: symmetry.map { $0 == .symmetric }, signed: signedness.map { $0 == .signed },
                    reduceRange: reduceRange ? true : nil, tensorFilter: tensors, model: model, dataset: dataset,
                    note: note)
                let store = try database.open(readOnly: false)
                let reader = try BatchReader(inputs: inputs)
                let err = Terminal.standardError
                let progress = RunProgress(terminal: err)
                let summary = try CalibrationRunner(store: store, options: options).run(reader) { event in
                    switch event {
                    case .committed(let batch):
                        progress.update(batch)
                    case .skippedDuplicate(let source, let existing):
                        progress.clear()
                        err.write(err.warn("skipped \(source): same content as batch #\(existing.seq) (\(existing.source))") + "\n")
                    }
                }
                progress.clear()
                let rate = summary.seconds > 0 ? Double(summary.bytes) / summary.seconds / 1e6 : 0
                Terminal.standardOutput.write(
                    "session '\(summary.session)': \(summary.added) batches added, \(summary.skipped) skipped as duplicates, "
                        + "\(summary.totalBatches) in total; \(summary.tensors) tensors; "
                        + String(format: "%.1f MB in %.2f s (%.0f MB/s)\n", Double(summary.bytes) / 1e6, summary.seconds, rate))
            }
        }
    }
}

/// One updating status line on stderr, only when stderr is a terminal.
final class RunProgress {
    let terminal: Terminal
    let start = Date()
    var bytes = 0
    var count = 0

    init(terminal: Terminal) { self.terminal = terminal }

    func update(_ batch: BatchRecord) {
        count += 1
        bytes += batch.bytes
        guard terminal.isInteractive else { return }
        let elapsed = max(Date().timeIntervalSince(start), 1e-9)
        terminal.write(String(format: "\r\u{1B}[K[%d] %@  %.0f MB/s", count, batch.source, Double(bytes) / elapsed / 1e6))
    }

    func clear() {
        if terminal.isInteractive && count > 0 { terminal.write("\r\u{1B}[K") }
    }
}
