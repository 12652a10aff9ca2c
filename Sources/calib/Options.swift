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
        try CalibStore(path: path, readOnly: readOnly)
    }
}

extension Convention: ExpressibleByArgument {}
extension ObserverKind: ExpressibleByArgument {}

/// Runs `body`, printing any error as `calib: error: …` on stderr and exiting 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch {
        Terminal.standardError.write("calib: error: \(error)\n")
        throw ExitCode.failure
    }
}
