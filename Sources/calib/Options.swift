import ArgumentParser
import CalibKit
import Foundation

/// `--db`, shared by every subcommand.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The calibration database.", valueName: "path"))
    var db: String?

    var path: String {
        db ?? ProcessInfo.processInfo.environment["CALIB_DB"].flatMap { $0.isEmpty ? nil : $0 } ?? "calibration.sqlite"
    }

    func open(readOnly: Bool) throws -> CalibStore {
        readOnly ? try Self.openForReading(path) : try CalibStore(path: path)
    }

    /// Opens for a read command, saying so when the database could only be opened as an immutable
    /// file (read-only media whose -shm SQLite cannot create).
    static func openForReading(_ path: String) throws -> CalibStore {
        let store = try CalibStore(path: path, readOnly: true)
        if store.isImmutable {
            Terminal.standardError.write(
                "calib: note: \(path) is not writable here and has no -shm: opened read-only as an immutable file, without locking\n"
            )
        }
        return store
    }
}

/// The encoding settings, shared by `run`, `show`, `export` and `derive`. Given to `show`/`export`,
/// they re-derive from the stored statistics without re-running.
struct EncodingOptions: ParsableArguments {
    @Option(help: "Bitwidth: 2-16 (32 with aimet; 4, 8, 16 with onnxruntime; 8 with tensorrt).")
    var bitwidth: Int?

    @Flag(help: "Symmetric or asymmetric encodings (default: asymmetric activations, symmetric params).")
    var symmetry: Symmetry?

    @Flag(help: "Signed or unsigned grid (default: unsigned when asymmetric, signed when symmetric).")
    var signedness: Signedness?

    @Option(help: "Convention: aimet (default), aimet-legacy, pytorch, onnxruntime or tensorrt.")
    var convention: Convention?

    @Flag(help: "Reduced range (pytorch, onnxruntime): one bit less.")
    var reduceRange = false

    enum Symmetry: String, EnumerableFlag { case symmetric, asymmetric }
    enum Signedness: String, EnumerableFlag { case signed, unsigned }

    var override: SettingsOverride {
        SettingsOverride(
            convention: convention, bitwidth: bitwidth, symmetric: symmetry.map { $0 == .symmetric },
            signed: signedness.map { $0 == .signed }, reduceRange: reduceRange ? true : nil)
    }
}

/// `--method` and its options, shared by `run`, `show`, `export` and `derive`: which AIMET or
/// onnxruntime histogram method a tensor observed with `--observer histogram` is encoded with.
/// Given to `run`, it becomes the method stored with the histogram (the default encoding's);
/// given to `show`/`export`/`derive`, it re-derives from the stored histogram without re-running.
/// Each tensor resolves it against the tool of its histogram (`MethodRequest`).
struct MethodOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Histogram method (--observer histogram): with --convention aimet percentile (with --percentile), sqnr or "
                + "tf-enhanced (default); with --convention onnxruntime entropy (default), percentile or distribution; best (derive only): "
                + "each tensor's best-ranked method (see `calib methods`).",
            valueName: "method"))
    var method: MethodRequest.Name?

    @Option(
        help: ArgumentHelp(
            "Percentile P for --method percentile: AIMET's in [50, 100] (required), onnxruntime's in [0, 100] (default 99.999).",
            valueName: "P"))
    var percentile: Double?

    @Option(help: ArgumentHelp("onnxruntime's num_quantized_bins for --method entropy (default 128).", valueName: "N"))
    var quantizedBins: Int?

    @Flag(
        inversion: .prefixedNo, exclusivity: .chooseLast,
        help: ArgumentHelp(
            "onnxruntime's CalibTensorRangeSymmetric for --method percentile: a |x| histogram and a symmetric range "
                + "(default), or --no-calib-symmetric: the signed histogram's two tails."))
    var calibSymmetric: Bool?

    func validate() throws {
        guard method == nil, percentile != nil || quantizedBins != nil || calibSymmetric != nil else { return }
        throw ValidationError("--percentile, --quantized-bins and --calib-symmetric qualify a --method: give one")
    }

    var request: MethodRequest? {
        method.map {
            MethodRequest(name: $0, percentile: percentile, quantizedBins: quantizedBins, calibSymmetric: calibSymmetric)
        }
    }
}

extension MethodRequest.Name: ExpressibleByArgument {}
extension OnnxRuntimeCollect: ExpressibleByArgument {}
extension HistogramRules: ExpressibleByArgument {}

extension Convention: ExpressibleByArgument {}
extension ObserverKind: ExpressibleByArgument {}
extension TensorRole: ExpressibleByArgument {}
extension NonFinitePolicy: ExpressibleByArgument {}

/// Runs `body`, printing any error as `calib: error: …` on stderr and exiting with `status`.
func reportingErrors(status: Int32 = 1, _ body: () throws -> Void) throws {
    do {
        try body()
        if Terminal.outputError != 0 {
            throw OutputError(path: "standard output", errno: Terminal.outputError)
        }
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch let error as RunInterrupted {
        throw error  // `calib run` says it and exits 128 + signal
    } catch {
        Terminal.standardError.write("calib: error: \(error)\n")
        throw ExitCode(status)
    }
}

/// Says which `--tensor` globs matched nothing while others matched: those tensors are absent.
func noteUnmatchedTensors(_ globs: [String]) {
    let list = globs.map { "'\($0)'" }.joined(separator: ", ")
    Terminal.standardError.write("calib: note: --tensor \(list) \(globs.count == 1 ? "matches" : "match") no tensor\n")
}
