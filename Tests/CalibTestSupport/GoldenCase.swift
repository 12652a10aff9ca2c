import CalibKit
import CalibModel
import CalibSupport
import Foundation
import Testing

/// One case of Fixtures/golden/cases (copied from ../shared/golden): batches produced and
/// expected values computed by aimet-torch 2.42.0 or torch 2.15.0 themselves.
public struct GoldenCase: CustomStringConvertible, @unchecked Sendable {
    public let name: String
    public let dir: URL
    public let convention: String
    public let config: [String: Any]
    public let tensors: [String: [String: Any]]

    public var description: String { name }

    public static let all: [GoldenCase] = {
        let root = Fixtures.url("golden/cases")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.sorted().map { GoldenCase(name: $0, dir: root.appendingPathComponent($0)) }
    }()

    public static let aimet = all.filter { $0.convention == "aimet" }
    public static let pytorch = all.filter { $0.convention == "pytorch" }
    public static let withNpy = all.filter {
        FileManager.default.fileExists(atPath: $0.dir.appendingPathComponent("batches_npy").path)
    }

    public init(name: String, dir: URL) {
        self.name = name
        self.dir = dir
        let json =
            try! JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("expected.json")))
            as! [String: Any]
        convention = json["convention"] as! String
        config = json["config"] as! [String: Any]
        tensors = json["tensors"] as! [String: [String: Any]]
    }

    public var batchesDir: String { dir.appendingPathComponent("batches").path }
    public var npyDir: String { dir.appendingPathComponent("batches_npy").path }

    /// The run options that reproduce the reference's configuration.
    public var runOptions: RunOptions {
        RunOptions(session: name, settings: settings)
    }

    public var settings: SettingsOverride {
        var o = SettingsOverride()
        o.granularity = (config["per_channel_axis"] as? Int).map { .axis($0) } ?? .perTensor
        if convention == "aimet" {
            o.convention = .aimet
            o.bitwidth = config["bitwidth"] as? Int
            o.symmetric = config["symmetric"] as? Bool
            o.signed = config["signed"] as? Bool
            o.observer = ObserverKind(rawValue: config["observer"] as! String)
        } else {
            o.convention = .pytorch
            o.bitwidth = 8
            o.symmetric = (config["qscheme"] as! String).contains("symmetric")
            o.signed = (config["dtype"] as! String) == "qint8"
            o.reduceRange = config["reduce_range"] as? Bool
            o.observer = ObserverKind(rawValue: config["observer"] as! String)
            if let c = config["averaging_constant"] as? Double { o.averagingConstant = Float(c) }
        }
        return o
    }

    /// The command-line flags equivalent to `runOptions`.
    public var runFlags: [String] {
        let o = settings
        var flags = ["--convention", o.convention!.rawValue, "--bitwidth", String(o.bitwidth!)]
        flags += [o.symmetric! ? "--symmetric" : "--asymmetric", o.signed! ? "--signed" : "--unsigned"]
        flags += ["--observer", o.observer!.rawValue]
        if let c = o.averagingConstant { flags += ["--averaging-constant", String(c)] }
        if case .axis(let axis) = o.granularity { flags += ["--per-channel-axis=\(axis)"] }
        if o.reduceRange == true { flags += ["--reduce-range"] }
        return flags
    }

    /// Expected float32 values of `key` for `tensor`: the decimal doubles converted exactly.
    public func floats(_ tensor: String, _ key: String) -> [Float] {
        Self.floats(tensors[tensor]![key]!)
    }

    public func ints(_ tensor: String, _ key: String) -> [Int] {
        Self.floats(tensors[tensor]![key]!).map { Int($0) }
    }

    public static func floats(_ value: Any) -> [Float] {
        if let array = value as? [Any] { return array.map { Float(($0 as! NSNumber).doubleValue) } }
        return [Float((value as! NSNumber).doubleValue)]
    }
}

/// Bitwise float32 equality for arrays: -0 and 0 differ, NaN equals NaN of the same payload.
public func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

/// Checks `actual` against a golden array bit for bit; on a difference, records which channels
/// differ with both values and their bits (the first few), instead of two opaque arrays.
public func expectSameBits(
    _ actual: [Float], _ expected: [Float], _ what: String, sourceLocation: SourceLocation = #_sourceLocation
) {
    guard bits(actual) != bits(expected) else { return }
    guard actual.count == expected.count else {
        Issue.record(
            Comment(rawValue: "\(what): \(actual.count) values, golden has \(expected.count)"), sourceLocation: sourceLocation)
        return
    }
    let differing = actual.indices.filter { actual[$0].bitPattern != expected[$0].bitPattern }
    func show(_ f: Float) -> String { "\(f) (0x\(String(f.bitPattern, radix: 16)))" }
    let lines = differing.prefix(5).map { c in
        "  [\(c)] calib \(show(actual[c])), golden \(show(expected[c])), \(Int64(actual[c].bitPattern) - Int64(expected[c].bitPattern)) ulp"
    }
    let more = differing.count > 5 ? "\n  … \(differing.count - 5) more" : ""
    Issue.record(
        Comment(
            rawValue: "\(what): \(differing.count) of \(actual.count) differ from the golden case:\n"
                + lines.joined(separator: "\n") + more), sourceLocation: sourceLocation)
}
