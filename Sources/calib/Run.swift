import ArgumentParser
import CalibKit
import Foundation

extension Calib {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Stream batches through the observers into a session.",
            usage: "calib run [<options>] --session <name> <input> ...",
            discussion: """
                Each INPUT is a .safetensors, .npy or .npz file (one batch), a directory of .npy files \
                (one batch, tensor name = file stem), a directory of batches (expanded in name order), or \
                '-' for concatenated safetensors frames on stdin. Running again into an existing session \
                appends batches; a batch whose content the session already holds is skipped.
                """
        )

        @OptionGroup var database: DatabaseOptions

        // Optional only so that a misspelt option (`--sesion`) is reported as unknown, not as a
        // missing --session: ArgumentParser reports a missing required option, and anything
        // `validate` throws, before unknown options. `run` requires it.
        @Option(help: ArgumentHelp("Session to create or append to (a new name must not contain ':').", valueName: "name"))
        var session: String?

        @Option(
            help:
                "Observer: minmax (running min/max), ema (moving average of batch min/max) or histogram (with --convention pytorch: torch's HistogramObserver; aimet: AIMET's histograms; onnxruntime: its HistogramCollector; see --method)."
        )
        var observer: ObserverKind?

        @Option(
            help: ArgumentHelp(
                "Whose histogram --observer histogram keeps: calib (exactly mergeable across orders and shards, read by "
                    + "every convention's methods) or tool (the convention's own tool, bit-exact to it: aimet, pytorch, "
                    + "onnxruntime). Default tool where one exists, calib for aimet-legacy and tensorrt. Implies "
                    + "--observer histogram.",
                valueName: "rules"))
        var histogram: HistogramRules?

        @OptionGroup var method: MethodOptions

        @Option(
            help: ArgumentHelp(
                "onnxruntime's num_bins for new tensors' histograms (default: 128 for entropy, 2048 otherwise).",
                valueName: "N"))
        var bins: Int?

        @Option(
            help: ArgumentHelp(
                "How onnxruntime histograms are fed: all (quantize_static: one collect of every batch of the run, "
                    + "reading the inputs twice; not for stdin) or per-batch (CalibStridedMinMax=1). Default all.",
                valueName: "mode"))
        var collect: OnnxRuntimeCollect?

        @Option(
            help: ArgumentHelp("Moving-average constant c (ema): state += c * (batch - state). Default 0.01.", valueName: "c"))
        var averagingConstant: Float?

        @Option(
            parsing: .unconditional,  // so that "-1" is read as a value, not a flag
            help: ArgumentHelp("Keep per-channel ranges along this axis (negative counts from the end).", valueName: "axis"),
            transform: { s in
                guard let v = Int(s) else { throw ValidationError("--per-channel-axis takes an integer, got '\(s)'") }
                return v
            })
        var perChannelAxis: Int?

        @Flag(help: "Keep one range per tensor (the default for activations; params default to axis 0).")
        var perTensor = false

        @OptionGroup var encoding: EncodingOptions

        @Option(
            name: .customLong("tensor"),
            help: ArgumentHelp("Observe only tensors matching this glob (repeatable).", valueName: "glob"))
        var tensors: [String] = []

        @Option(
            help:
                "Mark the tensors this run reads as activations (default) or params (weights: symmetric, signed, per-channel axis 0 unless told otherwise)."
        )
        var role: TensorRole?

        @Option(help: ArgumentHelp("JSON file mapping tensor-name globs to settings (see README).", valueName: "file"))
        var config: String?

        @Option(help: "NaN/Inf values: ignore (leave out of the ranges and count them) or error (reject the batch).")
        var nonfinite: NonFinitePolicy = .ignore

        @Option(help: "Model this calibration is for.") var model: String?
        @Option(help: "Dataset the batches come from.") var dataset: String?
        @Option(help: "Free-form note stored with the session.") var note: String?

        @Option(
            help: ArgumentHelp(
                "Observe only shard I of N (0-based) of the expanded inputs: every N-th batch in name order, from I.",
                valueName: "I/N"),
            transform: { text in
                do { return try Shard(parsing: text) } catch { throw ValidationError("\(error)") }
            })
        var shard: Shard?

        @Argument(help: ArgumentHelp("Batch files or directories, or '-' for stdin.", valueName: "input"))
        var inputs: [String]

        func run() throws {
            guard let session else { throw missingOption("--session <name>", Self.self) }
            // Ctrl-C, `kill` and a closed terminal stop the run after the batch in hand, keeping what
            // it observed; a second signal ends the process at once.
            StopRequest.catchingSignals()
            do {
                try runSession(session)
            } catch let stop as RunInterrupted {
                Terminal.standardError.write("calib: \(stop)\n")
                throw ExitCode(128 + stop.signal)
            }
        }

        func runSession(_ session: String) throws {
            try reportingErrors {
                var settings = encoding.override
                settings.role = role
                if let histogram, let observer, observer != .histogram {
                    throw ValidationError(
                        "--histogram \(histogram.rawValue) chooses a histogram; it goes with --observer histogram")
                }
                settings.observer = histogram != nil ? .histogram : observer
                settings.averagingConstant = averagingConstant
                if perTensor && perChannelAxis != nil {
                    throw ValidationError("--per-tensor and --per-channel-axis exclude each other")
                }
                settings.granularity = perTensor ? .perTensor : perChannelAxis.map { .axis($0) }
                var options = RunOptions(
                    session: session, settings: settings, config: try config.map(CalibrationConfig.load) ?? CalibrationConfig(),
                    tensorFilter: tensors, nonfinite: nonfinite, model: model, dataset: dataset, note: note,
                    commitPolicy: try Self.commitPolicy())
                options.method = method.request
                if let bins, bins < 1 || bins > OnnxRuntimeHistogram.maxBins {
                    throw ValidationError("--bins must be in [1, \(OnnxRuntimeHistogram.maxBins)], got \(bins)")
                }
                options.bins = bins
                options.collect = collect
                options.histogramRules = histogram
                if !inputs.contains("-") {
                    let (inputs, shard) = (inputs, shard)
                    options.reread = { try BatchReader(inputs: inputs, shard: shard) }
                }
                options.stopSignal = { StopRequest.pending }
                try SessionRef.refuseNewName(session, db: database.path)
                // Inputs first: a run refused for its inputs (a missing path, an empty shard) creates no database.
                let reader = try BatchReader(inputs: inputs, shard: shard)
                let store = try database.open(readOnly: false)
                let err = Terminal.standardError
                let progress = RunProgress(terminal: err, total: reader.expectedBatches)
                let skips = SkipReport(terminal: err)
                let summary = try CalibrationRunner(store: store, options: options).run(reader) { event in
                    switch event {
                    case .committed(let batch):
                        progress.update(batch)
                    case .skippedDuplicate(let source, let existing, let unobserved):
                        progress.skipped()
                        skips.add(source: source, existing: existing, unobserved: unobserved)
                    case .rederived(let names):
                        progress.clear()
                        err.write(
                            "re-derived the encodings of \(names.count) tensor\(names.count == 1 ? "" : "s") with this run's settings\n"
                        )
                    }
                }
                progress.clear()
                noteUnmatchedRules(summary.unmatchedRules, config: config, session: summary.session)
                if !summary.unmatchedFilters.isEmpty { noteUnmatchedTensors(summary.unmatchedFilters) }
                skips.finish()
                Terminal.standardOutput.write(RunSummaryText.line(summary) + "\n")
            }
        }
    }
}

extension Calib.Run {
    /// The adaptive policy, with `CALIB_COMMIT_INTERVAL` (seconds) as the longest time observed
    /// batches wait uncommitted (default 10 s): what a crash can cost, and how stale readers may be
    /// while a producer on stdin idles.
    static func commitPolicy() throws -> CommitPolicy {
        var policy = CommitPolicy.adaptive
        if let text = ProcessInfo.processInfo.environment["CALIB_COMMIT_INTERVAL"] {
            guard let seconds = Double(text), seconds > 0, seconds.isFinite else {
                throw ValidationError("CALIB_COMMIT_INTERVAL must be a number of seconds > 0, got '\(text)'")
            }
            policy.maxSeconds = seconds
        }
        return policy
    }
}

/// The skipped-duplicate warnings: the first few one line each, the rest counted in one line at the
/// end, so re-running thousands of stored batches does not print thousands of lines.
final class SkipReport {
    let terminal: Terminal
    /// Skips reported one by one before the rest are only counted.
    static let shown = 3
    var count = 0
    var unobserved: [String] = []
    var unobservedSeen = Set<ExactName>()

    init(terminal: Terminal) { self.terminal = terminal }

    func add(source: String, existing: BatchRecord, unobserved names: [String]) {
        count += 1
        if count <= Self.shown {
            terminal.write(terminal.warn("skipped \(source): same content as batch #\(existing.seq) (\(existing.source))") + "\n")
            if !names.isEmpty { terminal.write(terminal.warn("  " + Self.unobservedText(names)) + "\n") }
            return
        }
        for name in names where unobservedSeen.insert(ExactName(name)).inserted { unobserved.append(name) }
    }

    func finish() {
        guard count > Self.shown else { return }
        terminal.write(
            terminal.warn(
                "skipped \(Describe.count(count - Self.shown, "more batch", plural: "more batches")) whose content the session "
                    + "already holds (\(count) in all)") + "\n")
        if !unobserved.isEmpty { terminal.write(terminal.warn("  " + Self.unobservedText(unobserved)) + "\n") }
    }

    static func unobservedText(_ names: [String]) -> String {
        let listed = names.prefix(10).joined(separator: ", ") + (names.count > 10 ? ", … \(names.count - 10) more" : "")
        return "\(names.count == 1 ? "it holds a tensor" : "they hold tensors") this session never observed (\(listed)); "
            + "a stored batch is not read again: calibrate them into a new session"
    }
}

/// One updating status line on stderr, only when stderr is a terminal: position of the total,
/// rate and time left (`RunProgressText`).
final class RunProgress {
    let terminal: Terminal
    let total: Int?
    let start = Date()
    var bytes = 0
    var done = 0
    var shown = false

    init(terminal: Terminal, total: Int?) {
        self.terminal = terminal
        self.total = total
    }

    func update(_ batch: BatchRecord) {
        done += 1
        bytes += batch.bytes
        guard terminal.isInteractive else { return }
        shown = true
        terminal.write(
            "\r\u{1B}[K"
                + RunProgressText.line(
                    done: done, total: total, source: batch.source, bytes: bytes, elapsed: Date().timeIntervalSince(start)))
    }

    /// A skipped batch counts towards the position, without a line of its own.
    func skipped() {
        clear()
        done += 1
    }

    func clear() {
        if terminal.isInteractive && shown { terminal.write("\r\u{1B}[K") }
    }
}

/// Says which `--config` rules matched no tensor of the session: such a rule changed nothing.
func noteUnmatchedRules(_ globs: [String], config: String?, session: String) {
    guard let config, !globs.isEmpty else { return }
    let list = globs.map { "'\($0)'" }.joined(separator: ", ")
    Terminal.standardError.write(
        "calib: note: \(config): \(globs.count == 1 ? "rule" : "rules") \(list) \(globs.count == 1 ? "matches" : "match") "
            + "no tensor of session '\(session)', so \(globs.count == 1 ? "it changed" : "they changed") nothing\n")
}
