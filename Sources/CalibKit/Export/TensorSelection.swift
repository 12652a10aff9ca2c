import Foundation

/// `--tensor GLOB` on `show` and `export`: a selection that matches nothing is an error, never an
/// empty table or an empty export with exit 0 (a typo would otherwise pass unnoticed).
extension CalibStore {
    /// The reports `reports(session:label:tensors:)` gives, refusing a selection that matches no
    /// tensor. `onUnmatched` hears the globs of a selection that match none of the selected tensors
    /// (the other globs matched some): worth a note, since those tensors are silently absent.
    public func selectedReports(
        session: Session, label: String = "default", tensors globs: [String], onUnmatched: ([String]) -> Void = { _ in }
    ) throws -> [TensorReport] {
        let reports = try reports(session: session, label: label, tensors: globs)
        guard !globs.isEmpty else { return reports }
        let names = reports.map(\.tensor.name)
        let unmatched = globs.filter { glob in !names.contains { Glob.matches(glob, $0) } }
        guard reports.isEmpty else {
            if !unmatched.isEmpty { onUnmatched(unmatched) }
            return reports
        }
        let all = try self.reports(session: session, label: label).count
        let list = globs.map { "'\($0)'" }.joined(separator: ", ")
        throw SchemeError(
            "no tensor of session '\(session.name)' matches --tensor \(list) (it has \(all) tensor\(all == 1 ? "" : "s"); "
                + "`calib show \(session.name)` lists them): nothing to show or export")
    }
}
