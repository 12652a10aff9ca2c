import CalibDerivation
import CalibModel
import CalibStore

/// `calib check`: the store's structural findings (SQLite, schema, counts), every stored value
/// through the readers' domain checks, and every encoding of a calibrated session re-derived from
/// its stored statistics and settings and compared bit for bit. The store derives nothing, so the
/// comparison lives here, with the one derivation calib has (CalibDerivation).
public enum StoreCheck {
    /// Every finding; empty when the database is what calib wrote.
    public static func run(_ store: CalibStore) throws -> [CheckFinding] {
        let structural = try store.check()
        return structural + (try store.checkValues(rederive))
    }

    /// Encodings that are not what their statistics give: a stored value changed after calib wrote
    /// it (statistics, scheme or encoding). Imported sessions keep the file's encodings, which need
    /// not be re-derivable; a derived set made before later batches was derived from other statistics.
    static func rederive(_ checked: CheckedSession) -> [CheckFinding] {
        guard checked.session.origin == .calibrated else { return [] }
        var findings: [CheckFinding] = []
        for set in checked.labels where set.derivedAt == nil || set.derivedAt == checked.batches {
            for r in set.reports {
                guard let stats = r.stats else { continue }
                let stored = r.encoding
                guard stored.scale.count == stats.min.count else { continue }  // reported by the readers
                let derived =
                    set.choices[r.tensor.name].map {
                        stats.encoding(stored.scheme, channelAxis: r.tensor.channelAxis, choice: $0)
                    }
                    ?? stats.encoding(
                        stored.scheme, channelAxis: r.tensor.channelAxis,
                        method: set.method(for: stats.histogram.map { $0.convention ?? stored.scheme.convention.methodTool }))
                guard let difference = difference(stored, derived) else { continue }
                findings.append(
                    CheckFinding(
                        session: checked.session.name, tensor: r.tensor.name,
                        message: "encoding '\(set.label)' is not what its statistics give (\(difference)); "
                            + CalibStore.damagedAdvice))
            }
        }
        return findings
    }

    /// The first value where `stored` and `derived` differ, bit for bit, or nil. NaN is one value
    /// (SQLite stores it as NULL), and so is zero (SQLite reads -0.0 back from a REAL column as 0.0).
    static func difference(_ stored: Encoding, _ derived: Encoding) -> String? {
        if stored.channelAxis != derived.channelAxis {
            return "channel axis \(stored.channelAxis.map(String.init) ?? "none") stored, "
                + "\(derived.channelAxis.map(String.init) ?? "none") derived"
        }
        let channels = stored.scale.count > 1
        for c in stored.scale.indices {
            let at = channels ? " of channel \(c)" : ""
            for (name, a, b) in [
                ("scale", stored.scale[c], derived.scale[c]), ("min", stored.min[c], derived.min[c]),
                ("max", stored.max[c], derived.max[c]),
            ] where a.bitPattern != b.bitPattern && !(a.isNaN && b.isNaN) && !(a == 0 && b == 0) {
                return "\(name)\(at) \(a) stored, \(b) derived"
            }
            if stored.offset[c] != derived.offset[c] {
                return "offset\(at) \(stored.offset[c]) stored, \(derived.offset[c]) derived"
            }
        }
        return nil
    }
}
