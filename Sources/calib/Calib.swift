import ArgumentParser
import CalibKit

/// The command-line front end. It parses arguments, calls CalibKit and formats the results; the
/// work itself lives in the library.
@main
struct Calib: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calib",
        abstract: "The calibration statistics store for neural-network quantization.",
        discussion: """
            Streams activation batches (safetensors, .npy, .npz, or safetensors frames on stdin) through \
            min/max or moving-average observers into SQLite, and derives AIMET/PyTorch encodings from the \
            stored statistics. The database is --db, else $CALIB_DB, else ./calibration.sqlite.
            """,
        version: CalibVersion.current,
        subcommands: [
            Run.self, Sessions.self, Show.self, Export.self, Derive.self, Import.self, Diff.self, Check.self, Remove.self,
            Rename.self, Merge.self, Methods.self,
        ]
    )
}
