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

/// `--method` and `--percentile`, shared by `run`, `show`, `export` and `derive`: which AIMET
/// histogram method a tensor observed with `--observer histogram --convention aimet` is encoded
/// with. Given to `run`, it becomes the method stored with the histogram (the default encoding's);
/// given to `show`/`export`/`derive`, it re-derives from the stored histogram without re-running.
struct MethodOptions: ParsableArguments {
    enum Method: String, ExpressibleByArgument, CaseIterable {
        case percentile, sqnr
        case tfEnhanced = "tf-enhanced"
    }

    @Option(
        help: ArgumentHelp(
            "Histogram method (--observer histogram --convention aimet): percentile (with --percentile), sqnr or tf-enhanced (default).",
            valueName: "method"))
    var method: Method?

    @Option(help: ArgumentHelp("Percentile P in [50, 100] for --method percentile.", valueName: "P"))
    var percentile: Double?

    func validate() throws {
        if method == .percentile {
            guard let p = percentile else { throw ValidationError("--method percentile needs --percentile P (in [50, 100])") }
            guard p >= 50 && p <= 100 else { throw ValidationError("--percentile must be in [50, 100], got \(p)") }
        } else if percentile != nil {
            throw ValidationError("--percentile applies to --method percentile only")
        }
    }

    var aimetMethod: AimetHistogramMethod? {
        switch method {
        case .percentile: .percentile(percentile!)
        case .sqnr: .sqnr
        case .tfEnhanced: .tfEnhanced
        case nil: nil
        }
    }
}

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
