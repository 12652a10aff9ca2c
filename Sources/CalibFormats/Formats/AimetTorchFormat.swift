import CalibModel
import CalibSupport
import Foundation

/// `aimet-torch`: the module-keyed `_torch.encodings` that aimet-torch's `sim.load_encodings` reads
/// (`AimetEncodings.exportTorch`). Tensors are named `MODULE.input.N`, `MODULE.output.N` and
/// `MODULE.PARAM`, as `calib_capture` names them. `calib import --format aimet` reads it back.
public struct AimetTorchFormat: EncodingFormat {
    public init() {}
    public var name: String { "aimet-torch" }
    public var summary: String { "aimet-torch's module-keyed _torch.encodings, which sim.load_encodings reads" }

    public func render(_ content: ExportContent, options: ExportOptions) throws -> ExportedFiles {
        .file(Data(try AimetEncodings.exportTorch(content.table).utf8))
    }
}
