import CalibModel
import CalibReaders
import Foundation

/// One case of Fixtures/golden/hist_cases_ort: onnxruntime 1.31.1 histogram calibration. The cases
/// share one set of batches (`hist_cases_ort/batches`), stored once.
public struct OnnxRuntimeGoldenCase: CustomStringConvertible, @unchecked Sendable {
    public let name: String
    public let config: [String: Any]
    public let tensors: [String: [String: Any]]
    /// The one tensor whose final histogram the case stores, with it.
    public let histogram: [String: Any]?

    public var description: String { name }

    public static let root = Fixtures.url("golden/hist_cases_ort")

    public static let all: [OnnxRuntimeGoldenCase] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.sorted().filter {
            FileManager.default.fileExists(atPath: root.appendingPathComponent("\($0)/expected.json").path)
        }.map(OnnxRuntimeGoldenCase.init(name:))
    }()

    public init(name: String) {
        self.name = name
        let url = Self.root.appendingPathComponent(name).appendingPathComponent("expected.json")
        let json = try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        config = json["config"] as! [String: Any]
        tensors = json["tensors"] as! [String: [String: Any]]
        histogram = json["histogram"] as? [String: Any]
    }

    /// The batches in order, each tensor's values as float32, read with calib's own reader.
    public static let batches: [[String: [Float]]] = {
        let reader = try! BatchReader(inputs: [root.appendingPathComponent("batches").path])
        var out: [[String: [Float]]] = []
        while let batch = try! reader.next() {
            out.append(Dictionary(uniqueKeysWithValues: batch.tensors.map { ($0.name, $0.floatValues()) }))
        }
        return out
    }()

    public var method: String { config["method"] as! String }
    public var bins: Int { config["num_bins"] as! Int }
    public var quantizedBins: Int? { config["num_quantized_bins"] as? Int }
    public var percentile: Double? { (config["percentile"] as? NSNumber)?.doubleValue }
    public var symmetric: Bool { config["symmetric"] as! Bool }
    public var calibSymmetric: Bool { config["calib_symmetric"] as! Bool }
    public var signed: Bool { (config["qtype"] as! String) == "int8" }
    public var reduceRange: Bool { config["reduce_range"] as! Bool }
    /// `per_batch` (a collect per batch) or one collect of everything (`once`, the CLI's `all`).
    public var perBatch: Bool { (config["collect"] as! String) == "per_batch" }

    public func float(_ tensor: String, _ key: String) -> Float { GoldenCase.floats(tensors[tensor]![key]!)[0] }
    public func int(_ tensor: String, _ key: String) -> Int { Int(GoldenCase.floats(tensors[tensor]![key]!)[0]) }
}
