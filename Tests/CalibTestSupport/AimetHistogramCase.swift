import CalibModel
import CalibReaders
import Foundation

/// One case of Fixtures/golden/hist_cases (copied from ../shared/golden): expected values computed
/// by aimet-torch 2.42.0 (histogram analyzers) or torch 2.15.0 (HistogramObserver) themselves.
/// The cases share their batches, stored once in hist_cases/batches; each case's batches.txt
/// names the ones it feeds, in order.
public struct AimetHistogramCase: CustomStringConvertible, @unchecked Sendable {
    public let name: String
    public let convention: String
    public let config: [String: Any]
    public let tensors: [String: [String: Any]]
    /// Paths of the batch files, in feeding order.
    public let batchPaths: [String]

    public var description: String { name }

    public static let root = Fixtures.url("golden/hist_cases")

    public static let all: [AimetHistogramCase] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.filter { $0 != "batches" && !$0.hasSuffix(".md") }.sorted().map { AimetHistogramCase(name: $0) }
    }()

    public static let aimet = all.filter { $0.convention == "aimet" }
    public static let pytorch = all.filter { $0.convention == "pytorch" }

    public init(name: String) {
        self.name = name
        let dir = Self.root.appendingPathComponent(name)
        let json =
            try! JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("expected.json")))
            as! [String: Any]
        convention = json["convention"] as! String
        config = json["config"] as! [String: Any]
        tensors = json["tensors"] as! [String: [String: Any]]
        let list = try! String(contentsOf: dir.appendingPathComponent("batches.txt"), encoding: .utf8)
        batchPaths = list.split(separator: "\n").map {
            Self.root.appendingPathComponent("batches").appendingPathComponent(String($0)).path
        }
    }

    /// The AIMET method and scheme of the case.
    public var aimetMethod: AimetHistogramMethod {
        switch config["method"] as! String {
        case "percentile": .percentile((config["percentile"] as! NSNumber).doubleValue)
        case "sqnr": .sqnr
        case "tf_enhanced": .tfEnhanced
        case let other: fatalError("unknown AIMET histogram method \(other)")
        }
    }

    public var aimetScheme: QuantScheme {
        QuantScheme(
            convention: .aimet, bitwidth: config["bitwidth"] as! Int, symmetric: config["symmetric"] as! Bool,
            signed: config["signed"] as? Bool)
    }

    /// The scheme of a torch case: qscheme, dtype, reduce_range.
    public var torchScheme: QuantScheme {
        QuantScheme(
            convention: .pytorch, bitwidth: 8, symmetric: (config["qscheme"] as! String).contains("symmetric"),
            signed: config["dtype"] as! String == "qint8", reduceRange: config["reduce_range"] as! Bool)
    }

    /// Every batch's float32 values per tensor name, in feeding order (read with CalibReaders).
    public func batches() throws -> [[String: [Float]]] {
        let reader = try BatchReader(inputs: batchPaths)
        var out: [[String: [Float]]] = []
        while let batch = try reader.next() {
            out.append(Dictionary(uniqueKeysWithValues: batch.tensors.map { ($0.name, $0.floatValues()) }))
        }
        return out
    }

    /// Expected float32 values of `key` for `tensor`.
    public func floats(_ tensor: String, _ key: String) -> [Float] { GoldenCase.floats(tensors[tensor]![key]!) }
    public func ints(_ tensor: String, _ key: String) -> [Int] { floats(tensor, key).map { Int($0) } }
}
