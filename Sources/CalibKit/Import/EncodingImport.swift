import Foundation

/// The import stage: reads another tool's file (or the preferred member of a directory) and parses
/// it with its format; range-only formats get their encodings from the derivation stage.
public enum EncodingImport {
    /// ONNX Runtime files carry ranges: their encodings are derived with `override` applied to
    /// ONNX Runtime's defaults (asymmetric uint8 activations).
    public static func read(
        path: String, format: any EncodingImportFormat, override: SettingsOverride = SettingsOverride()
    ) throws -> EncodingTable {
        var url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw InputError(file: path, "no such file or directory")
        }
        if isDirectory.boolValue {
            let members = format.directoryMembers
            guard !members.isEmpty else { throw InputError(file: path, "is a directory; --format \(format.name) reads one file") }
            guard let name = members.first(where: { FileManager.default.fileExists(atPath: url.appendingPathComponent($0).path) })
            else {
                throw InputError(file: path, "holds none of \(members.joined(separator: ", "))")
            }
            url = url.appendingPathComponent(name)
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw InputError(file: url.path, FileErrors.readFailure("the file", path: url.path, error))
        }
        let scheme = override.appliedScheme(to: QuantScheme(convention: .onnxruntime, symmetric: false, signed: false))
        do {
            try scheme.validate()
            return try format.parse(data, file: url.path, derive: Derivation.encoder(scheme))
        } catch let error as FormatError {
            throw InputError(file: url.path, error.description)
        }
    }
}
