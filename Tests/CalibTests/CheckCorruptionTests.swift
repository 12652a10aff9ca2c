import CalibTestSupport
import Foundation
import GRDB
import Testing

@testable import CalibDerivation
@testable import CalibFormats
@testable import CalibKit
@testable import CalibModel
@testable import CalibReaders
@testable import CalibStore

/// Issue 13, finding 6: one random bit flipped in a stored value. For every flip, either `check`
/// reports a finding or every export is byte-identical to the undamaged database's; and no reader
/// ever exports different numbers without an error.
@Suite struct CheckCorruptionTests {
    /// SplitMix64: a fixed seed gives the same flips on every machine.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// The value columns a flip may hit: every REAL, INTEGER and BLOB a reader or check uses.
    static let columns: [(table: String, columns: [String])] = [
        (
            "statistics",
            ["averaging_constant", "batches", "elements", "nonfinite", "min", "max", "min_array", "max_array"]
        ),
        (
            "encodings",
            [
                "bitwidth", "symmetric", "signed", "reduce_range", "scale", "offset", "enc_min", "enc_max", "scale_array",
                "offset_array", "min_array", "max_array",
            ]
        ),
        ("tensors", ["channel_axis", "channels"]),
        ("batches", ["seq", "tensors", "elements", "bytes"]),
        ("encoding_sets", ["batches"]),
    ]

    struct Cell {
        var table: String
        var column: String
        var rowid: Int64
    }

    /// A database with a per-tensor minmax session (with a derived 4-bit label) and a per-channel
    /// EMA session, as `calib run` and `calib derive` write them.
    static func makeOriginal(_ path: String) throws {
        let store = try CalibStore(path: path)
        func files(_ name: String) throws -> [String] {
            let dir = Fixtures.path("golden/cases/\(name)/batches")
            return try FileManager.default.contentsOfDirectory(atPath: dir).sorted().map { dir + "/" + $0 }
        }
        _ = try CalibrationRunner(store: store, options: RunOptions(session: "pt")).run(
            try BatchReader(inputs: try files("aimet_multibatch_asym_unsigned_8")))
        _ = try CalibrationRunner(
            store: store,
            options: RunOptions(
                session: "pc", settings: SettingsOverride(observer: .ema, granularity: .axis(1), symmetric: true))
        ).run(try BatchReader(inputs: try files("aimet_perchannel_sym_signed_8")))
        let pt = try store.requireSession("pt")
        let w4 = try Derivation.rederive(try store.reports(session: pt), override: SettingsOverride(bitwidth: 4))
        try store.saveEncodingSet(label: "w4", options: "{\"bitwidth\": 4}", reports: w4, session: pt)
    }

    /// Every export a user can make of the database (JSON, every session, every label), or the
    /// error that stops one.
    static func exportAll(_ store: CalibStore) -> Result<Data, Error> {
        Result {
            var out = Data()
            for summary in try store.sessions() {
                let s = summary.session
                for label in ["default"] + (try store.encodingSets(session: s.id).map(\.label)) {
                    let reports = try Derivation.rederive(
                        try store.reports(session: s, label: label), override: SettingsOverride())
                    let export = try EncodingExport(session: s, reports: reports, format: CalibJSONFormat())
                    guard case .file(let data) = try export.format.render(export.content, options: export.options) else {
                        continue
                    }
                    out.append(data)
                }
            }
            return out
        }
    }

    /// The flipped value of `cell`, or nil when it is NULL.
    static func flipped(_ value: DatabaseValue, using rng: inout Seeded) -> DatabaseValue? {
        switch value.storage {
        case .int64(let n): return (n ^ (1 << Int64.random(in: 0..<64, using: &rng))).databaseValue
        case .double(let d): return Double(bitPattern: d.bitPattern ^ (1 << UInt64.random(in: 0..<64, using: &rng))).databaseValue
        case .blob(let data):
            guard !data.isEmpty else { return nil }
            var bytes = data
            let i = Int.random(in: 0..<bytes.count, using: &rng)
            bytes[bytes.startIndex + i] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &rng)
            return bytes.databaseValue
        default: return nil
        }
    }

    struct Counts: CustomStringConvertible {
        var flips = 0, refusedBySQLite = 0, found = 0, identical = 0, missedExportFails = 0, missedExportDiffers = 0
        /// Exports that differ from the original's without an error, whatever check said.
        var wrongExports = 0
        var missed: [String] = []
        var description: String {
            "\(flips) flips (\(refusedBySQLite) refused by SQLite constraints): check found \(found); of the rest, "
                + "\(identical) export identically, \(missedExportFails) export with an error, \(missedExportDiffers) export "
                + "different numbers; \(wrongExports) exports differ without an error"
        }
    }

    /// `count` databases, each the original with one bit flipped, checked by `check` and exported.
    static func sweep(count: Int, seed: UInt64, check: (CalibStore) throws -> [String]) throws -> Counts {
        let dir = TemporaryDirectory()
        let original = dir.path("original.sqlite")
        try makeOriginal(original)
        let store = try CalibStore(path: original)
        let reference = try exportAll(store).get()
        #expect(try check(store).isEmpty)
        let cells: [Cell] = try store.writer.read { db in
            var cells: [Cell] = []
            for (table, columns) in columns {
                for column in columns {
                    for rowid in try Int64.fetchAll(db, sql: "SELECT rowid FROM \(table) WHERE \(column) IS NOT NULL") {
                        cells.append(Cell(table: table, column: column, rowid: rowid))
                    }
                }
            }
            return cells
        }
        var rng = Seeded(state: seed)
        var counts = Counts()
        while counts.flips < count {
            let cell = cells.randomElement(using: &rng)!
            let copy = dir.path("copy\(counts.flips).sqlite")
            try store.writer.writeWithoutTransaction { db in try db.execute(sql: "VACUUM INTO ?", arguments: [copy]) }
            let damaged = try CalibStore(path: copy)
            var what = ""
            do {
                try damaged.writer.write { db in
                    let old = try DatabaseValue.fetchOne(
                        db, sql: "SELECT \(cell.column) FROM \(cell.table) WHERE rowid = ?", arguments: [cell.rowid])!
                    guard let new = flipped(old, using: &rng) else { return }
                    what = "\(cell.table).\(cell.column) row \(cell.rowid): \(old) -> \(new)"
                    try db.execute(
                        sql: "UPDATE \(cell.table) SET \(cell.column) = ? WHERE rowid = ?", arguments: [new, cell.rowid])
                }
            } catch is DatabaseError {
                counts.flips += 1
                counts.refusedBySQLite += 1
                continue
            }
            counts.flips += 1
            let findings = try check(damaged)
            let export = exportAll(damaged)
            if case .success(let data) = export, data != reference { counts.wrongExports += 1 }
            if !findings.isEmpty {
                counts.found += 1
                continue
            }
            switch export {
            case .success(let data) where data == reference: counts.identical += 1
            case .success:
                counts.missedExportDiffers += 1
                counts.missed.append("\(what): export differs")
            case .failure(let error):
                counts.missedExportFails += 1
                counts.missed.append("\(what): export fails: \(error)")
            }
            try? FileManager.default.removeItem(atPath: copy)
        }
        return counts
    }

    /// `calib check` (StoreCheck): structure, every value's domain, every encoding re-derived from
    /// its statistics, every row's digest. On main before this change (structural check only, no
    /// digests) the same 150 flips gave: 40 found; of the other 110, 13 exported identically, 77
    /// exported with an error and 20 exported different numbers; 31 exports in all differed silently.
    @Test func everyFlipIsFoundOrHarmless() throws {
        let counts = try Self.sweep(count: 150, seed: 13) { try StoreCheck.run($0).map(\.description) }
        print("calib check: \(counts)")
        #expect(counts.missed.isEmpty, "\(counts.missed)")
        #expect(counts.wrongExports == 0, "a reader exported different numbers without an error")
        #expect(counts.found >= 130, "\(counts)")
    }
}
