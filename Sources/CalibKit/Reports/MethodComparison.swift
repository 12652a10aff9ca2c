import Foundation

/// What `calib methods` prints: for each tensor with a stored histogram, every method of its
/// histogram's tool (and plain min/max) derived from that histogram, with the range it picks, the
/// fraction of values it would clip and the SQNR it would give (`EncodingQuality`, estimated on the
/// same histogram), the best SQNR marked. Nothing is read again: one calibration compares them all.
public struct MethodComparison: Sendable {
    public struct Candidate: Sendable {
        /// As `--method` spells it (with its option), or `minmax`/`l2`.
        public var name: String
        /// nil for min/max and torch's L2 search (no `--method`).
        public var method: HistogramMethod?
        public var encoding: Encoding
        public var quality: EncodingQuality
        /// The method the tensor's default encoding follows.
        public var isDefault: Bool

        /// How a `--method best` set records it.
        public var choice: TensorMethodChoice {
            if let method { return .method(method) }
            return name == "minmax" ? .minmax : .toolDefault
        }
    }

    public struct Row: Sendable {
        public var tensor: TensorReport
        public var candidates: [Candidate]
        /// Index of the highest SQNR (the first on a tie), nil when none has one.
        public var best: Int?

        /// Whose methods: the histogram's tool, or for the canonical histogram "calib" and the
        /// convention whose methods were derived from it.
        public var tool: String {
            guard let h = tensor.stats?.histogram else { return "" }
            return h.convention?.rawValue ?? "calib: \(tensor.encoding.scheme.convention.rawValue)"
        }
    }

    public var session: String
    public var rows: [Row]
    /// Tensors without a histogram (observed with minmax or ema), left out.
    public var withoutHistogram: [String]

    /// Refuses a selection where no tensor holds a histogram: there would be nothing to compare.
    public init(session: String, reports: [TensorReport]) throws {
        self.session = session
        var rows: [Row] = []
        var without: [String] = []
        for r in reports {
            // Per tensor only: a per-channel tensor would need a table per channel.
            guard r.tensor.channelAxis == nil, let stats = r.stats, let h = stats.histogram, let eval = stats.evaluationHistogram
            else {
                without.append(r.tensor.name)
                continue
            }
            let scheme = r.encoding.scheme
            var candidates: [Candidate] = []
            func add(_ name: String, _ method: HistogramMethod?, _ e: Encoding, isDefault: Bool) {
                candidates.append(
                    Candidate(
                        name: name, method: method, encoding: e,
                        quality: EncodingQuality(e, counts: eval.counts, edges: eval.edges),
                        isDefault: isDefault))
            }
            let minmax = Encoding(observedMin: stats.min, observedMax: stats.max, scheme: scheme, channelAxis: nil)
            add("minmax", nil, minmax, isDefault: false)
            let aimetMethods: [AimetHistogramMethod] = [.percentile(99.9), .percentile(99.99), .sqnr, .tfEnhanced]
            let ortMethods: [OnnxRuntimeHistogramMethod] = [
                .entropy(quantizedBins: 128), .percentile(99.999, symmetric: true), .percentile(99.99, symmetric: true),
                .percentile(99.999, symmetric: false), .distribution,
            ]
            func addAimet(stored: AimetHistogramMethod) {
                for m in aimetMethods {
                    add(
                        Self.name(.aimet(m)), .aimet(m), stats.encoding(scheme, channelAxis: nil, method: .aimet(m)),
                        isDefault: m == stored)
                }
            }
            func addOnnxRuntime(stored: OnnxRuntimeHistogramMethod, bins: Int) {
                for m in (ortMethods.contains(stored) ? ortMethods : [stored] + ortMethods)
                where (try? m.validate(bins: bins)) != nil {
                    add(
                        Self.name(.onnxruntime(m)), .onnxruntime(m),
                        stats.encoding(scheme, channelAxis: nil, method: .onnxruntime(m)),
                        isDefault: m == stored)
                }
            }
            switch h {
            case .pytorch:
                add("l2", nil, stats.encoding(scheme, channelAxis: nil), isDefault: true)
            case .aimet(_, _, let stored):
                addAimet(stored: stored)
            case .onnxruntime(let hs, let stored, _):
                addOnnxRuntime(stored: stored, bins: hs.first?.bins ?? 0)
            case .canonical(_, let stored, let bins):
                // The methods of the convention the tensor is encoded with, each on its own grid.
                switch CanonicalMethods.method(for: scheme.convention, stored: stored) {
                case .aimet(let m)?: addAimet(stored: m)
                case .onnxruntime(let m)?: addOnnxRuntime(stored: m, bins: bins ?? m.defaultBins)
                case nil:
                    let name = scheme.convention == .tensorrt ? "entropy" : "l2"
                    add(name, nil, stats.encoding(scheme, channelAxis: nil), isDefault: true)
                }
            }
            var best: Int?
            for (i, c) in candidates.enumerated() {
                guard let q = c.quality.sqnr else { continue }
                if best == nil || q > candidates[best!].quality.sqnr! { best = i }
            }
            rows.append(Row(tensor: r, candidates: candidates, best: best))
        }
        guard !rows.isEmpty else {
            throw ReportError(
                "no selected tensor of session '\(session)' holds a per-tensor histogram: methods are compared on one "
                    + "(calibrate with --observer histogram and --per-tensor)")
        }
        self.rows = rows
        self.withoutHistogram = without
    }

    /// A method as the command line gives it.
    public static func name(_ m: HistogramMethod) -> String {
        switch m {
        case .aimet(.percentile(let p)): "percentile \(Describe.number(Float(p)))"
        case .aimet(.sqnr): "sqnr"
        case .aimet(.tfEnhanced): "tf-enhanced"
        case .onnxruntime(.entropy(let q)): q == 128 ? "entropy" : "entropy q=\(q)"
        case .onnxruntime(.percentile(let p, let sym)): "percentile \(Describe.number(Float(p)))\(sym ? "" : " two-tailed")"
        case .onnxruntime(.distribution): "distribution"
        }
    }

    public var table: ReportTable {
        var table = ReportTable(
            ["TENSOR", "TOOL", "METHOD", "MIN", "MAX", "SCALE", "CLIPPED", "SQNR dB", ""], numeric: [3, 4, 5, 6, 7])
        for row in rows {
            for (i, c) in row.candidates.enumerated() {
                let mark = [i == row.best ? "best" : nil, c.isDefault ? "default" : nil].compactMap { $0 }.joined(separator: ", ")
                table.append([
                    .init(i == 0 ? row.tensor.tensor.name : ""),
                    .init(i == 0 ? row.tool : ""),
                    .init(c.name), .init(Describe.number(c.encoding.min[0])), .init(Describe.number(c.encoding.max[0])),
                    .init(Describe.number(c.encoding.scale[0])), .init(Self.percent(c.quality.clipped)),
                    .init(c.quality.sqnr.map(Self.decibels) ?? "-"), .init(mark),
                ])
            }
        }
        return table
    }

    public var heading: [ReportLine] {
        let bitwidth = Set(rows.map(\.tensor.encoding.scheme.bitwidth)).sorted().map(String.init).joined(separator: ", ")
        return [
            ReportLine(
                "  \(Describe.count(rows.count, "tensor")) with histograms, \(bitwidth)-bit; clipping and SQNR estimated at bin centres "
                    + "of the stored histogram",
                heading: "methods of session \(session)")
        ]
    }

    public var notes: [ReportLine] {
        guard !withoutHistogram.isEmpty else { return [] }
        let list = withoutHistogram.prefix(5).joined(separator: ", ")
        return [
            ReportLine(
                "\(Describe.count(withoutHistogram.count, "tensor")) without a histogram left out: \(list)"
                    + (withoutHistogram.count > 5 ? ", …" : ""))
        ]
    }

    public var json: JSONValue {
        .object([
            ("session", .string(session)),
            (
                "tensors",
                .array(
                    rows.map { row in
                        .object([
                            ("tensor", .string(row.tensor.tensor.name)),
                            ("convention", .string(row.tensor.encoding.scheme.convention.rawValue)),
                            ("histogram", .string(row.tensor.stats?.histogram?.rulesName ?? "")),
                            ("bitwidth", .int(row.tensor.encoding.scheme.bitwidth)),
                            ("best", row.best.map { .string(row.candidates[$0].name) } ?? .null),
                            (
                                "methods",
                                .array(
                                    row.candidates.map { c in
                                        .object([
                                            ("method", .string(c.name)), ("options", c.method?.json ?? .null),
                                            ("min", .float(c.encoding.min[0])), ("max", .float(c.encoding.max[0])),
                                            ("scale", .float(c.encoding.scale[0])), ("offset", .int(c.encoding.offset[0])),
                                            ("clipped", .shortFloat(Float(c.quality.clipped))),
                                            (
                                                "sqnr_db",
                                                c.quality.sqnr.map { $0.isFinite ? .shortFloat(Float($0)) : .string("inf") }
                                                    ?? .null
                                            ),
                                            ("default", .bool(c.isDefault)),
                                        ])
                                    })
                            ),
                        ])
                    })
            ),
            ("without_histogram", .array(withoutHistogram.map(JSONValue.string))),
        ])
    }

    static func percent(_ f: Double) -> String { f == 0 ? "0" : String(format: "%.4f%%", f * 100) }
    static func decibels(_ d: Double) -> String { d.isFinite ? String(format: "%.2f", d) : "inf" }
}
