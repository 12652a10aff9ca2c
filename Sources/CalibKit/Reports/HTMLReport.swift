import Foundation

/// What `calib report` writes: one self-contained HTML page (inline CSS and SVG, no script, no
/// network) that shows what the tables cannot: per tensor, the observed range against the
/// encoding's grid, the stored histogram with each method's clip points, per-channel ranges with
/// the outlier channels named, and with a second session, the two side by side and the tensors
/// that changed most. Every plot is bounded in size (histograms and channel envelopes are drawn at
/// most `maxPoints` wide), so a session of thousands of tensors stays a page a browser opens.
public struct HTMLReport: Sendable {
    public var session: Session
    public var batches: Int
    public var reports: [TensorReport]
    /// The session compared against (`--against`), its name and reports.
    public var against: (name: String, reports: [TensorReport])?

    /// Histogram bars and per-channel envelope points per plot, at most.
    public static let maxPoints = 256
    /// Tensors listed as changed most.
    public static let changedMost = 20

    public init(session: Session, batches: Int, reports: [TensorReport], against: (name: String, reports: [TensorReport])? = nil)
    {
        self.session = session
        self.batches = batches
        self.reports = reports
        self.against = against
    }

    /// The whole page.
    public func render() -> String {
        var h = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <title>calib report: \(Self.escape(session.name))</title>
            <style>\(Self.css)</style></head><body>

            """
        h += summary()
        if let against { h += comparison(against) }
        var others: NameMap<TensorReport> = [:]
        for r in against?.reports ?? [] where others[r.tensor.name] == nil { others[r.tensor.name] = r }
        h += "<h2>Tensors</h2>\n"
        for (i, r) in reports.enumerated() { h += tensor(r, index: i, other: others[r.tensor.name]) }
        h += "<footer>calib \(Self.escape(CalibVersion.current))</footer>\n</body></html>\n"
        return h
    }

    // MARK: - Sections

    func summary() -> String {
        let schemes = Set(reports.map { Describe.scheme($0.encoding.scheme) }).sorted().joined(separator: "; ")
        let perChannel = reports.filter { $0.tensor.channelAxis != nil }.count
        let histograms = reports.filter { $0.stats?.histogram != nil }.count
        var rows: [(String, String)] = [
            ("session", session.name), ("status", session.status.rawValue), ("batches", String(batches)),
            ("tensors", "\(reports.count) (\(perChannel) per channel, \(histograms) with histograms)"), ("encodings", schemes),
        ]
        if let m = session.model { rows.insert(("model", m), at: 1) }
        if let d = session.dataset { rows.insert(("dataset", d), at: 2) }
        var h = "<h1>calib report: \(Self.escape(session.name))</h1>\n<table class=\"kv\">"
        for (k, v) in rows { h += "<tr><th>\(k)</th><td>\(Self.escape(v))</td></tr>" }
        h += "</table>\n"
        h +=
            "<p class=\"legend\"><span class=\"sw enc\"></span> encoding range (grid) "
            + "<span class=\"sw obs\"></span> observed range <span class=\"sw clip\"></span> clipped "
            + (against != nil ? "<span class=\"sw oth\"></span> other session " : "") + "</p>\n"
        return h
    }

    func comparison(_ against: (name: String, reports: [TensorReport])) -> String {
        let diff = SessionDiff(a: against.reports, b: reports, sort: .scale)
        let changed = diff.changes.filter { $0.scaleChange > 0 || $0.offsetChange != 0 || $0.mismatch != nil }
        var h =
            "<h2>Against \(Self.escape(against.name))</h2>\n<p>\(diff.changes.count) tensors compared, "
            + "\(changed.count) changed, \(diff.onlyInA.count) only in \(Self.escape(against.name)), "
            + "\(diff.onlyInB.count) only in \(Self.escape(session.name)).</p>\n"
        guard !changed.isEmpty else { return h }
        h +=
            "<table class=\"grid\"><tr><th>tensor</th><th>scale ratio</th><th>scale change</th><th>range change</th>"
            + "<th>offset change</th><th>worst channel</th></tr>\n"
        for c in changed.prefix(Self.changedMost) {
            let anchor = reports.firstIndex { ExactName($0.tensor.name) == ExactName(c.name) }.map { "#t\($0)" } ?? ""
            h +=
                "<tr><td><a href=\"\(anchor)\">\(Self.escape(c.name))</a></td><td>\(String(format: "%.6f", c.scaleRatio))</td>"
                + "<td>\(String(format: "%+.3f%%", c.scaleChange * 100 * (c.scaleRatio < 1 ? -1 : 1)))</td>"
                + "<td>\(String(format: "%+.3f%%", c.rangeChange * 100))</td><td>\(c.offsetChange)</td>"
                + "<td>\(c.worstChannel.map(String.init) ?? "-")</td></tr>\n"
        }
        h += "</table>\n"
        if changed.count > Self.changedMost { h += "<p>\(changed.count - Self.changedMost) more changed tensors.</p>\n" }
        return h
    }

    func tensor(_ r: TensorReport, index: Int, other: TensorReport?) -> String {
        let t = r.tensor, e = r.encoding
        let shape = t.shape.map(String.init).joined(separator: "×")
        var meta = "\(t.role.rawValue), \(t.dtype.rawValue) \(shape), \(Self.escape(Describe.scheme(e.scheme)))"
        if let axis = t.channelAxis { meta += ", \(t.channels) channels on axis \(axis)" }
        if let s = r.stats {
            meta += ", \(s.batches) batches"
            if s.nonfinite > 0 { meta += ", \(s.nonfinite) NaN/Inf" }
        }
        var h = "<section id=\"t\(index)\"><h3>\(Self.escape(t.name))</h3>\n<p class=\"meta\">\(meta)</p>\n"
        guard let stats = r.stats else { return h + "<p>imported encodings: no statistics to draw.</p></section>\n" }
        if t.channelAxis == nil || stats.channels == 1 {
            h +=
                "<table class=\"kv small\"><tr><th>observed</th><td>\(Describe.number(stats.min[0])) … \(Describe.number(stats.max[0]))</td>"
                + "<th>encoding</th><td>\(Describe.number(e.min[0])) … \(Describe.number(e.max[0]))</td><th>scale</th>"
                + "<td>\(Describe.number(e.scale[0]))</td><th>offset</th><td>\(e.offset[0])</td></tr></table>\n"
            h += RangePlot(stats: stats, encoding: e, other: other?.encoding).svg
        } else if let outliers = try? ChannelOutlierReport(session: session.name, tensor: r, top: 5) {
            h += ChannelPlot(stats: stats, encoding: e, outliers: outliers).svg
            let named = outliers.ranked.prefix(5).map { c in
                "channel \(c.index): \(Describe.number(c.min)) … \(Describe.number(c.max))"
                    + (c.ratio.map { String(format: " (%.1f× the median)", $0) } ?? "")
            }
            h += "<p class=\"outliers\">outlier channels: \(Self.escape(named.joined(separator: "; ")))</p>\n"
        }
        if let eval = stats.evaluationHistogram,
            let methods = try? MethodComparison(session: session.name, reports: [r])
        {
            h += HistogramPlot(counts: eval.counts, edges: eval.edges, candidates: methods.rows[0].candidates).svg
        }
        return h + "</section>\n"
    }

    // MARK: - Text

    /// `s` safe inside HTML text and attribute values.
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                // Control characters (a name may hold any) would make the page invalid: shown as code points.
                if ch.value < 0x20 && ch != "\n" && ch != "\t" || ch.value == 0x7F {
                    out += "&#x2420;"
                } else {
                    out.unicodeScalars.append(ch)
                }
            }
        }
        return out
    }

    static let css = """
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1100px;color:#1d2330;\
        padding:0 16px}h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #d8dde6;padding-bottom:4px;margin-top:28px}\
        h3{font:600 14px ui-monospace,SFMono-Regular,Menlo,monospace;margin:18px 0 2px}section{border-top:1px solid #eef0f4}\
        .meta,.outliers{color:#5a6478;margin:2px 0 6px}.outliers{color:#a23b2a}table{border-collapse:collapse}\
        .kv th{text-align:left;color:#5a6478;font-weight:500;padding:1px 12px 1px 0}.kv td{padding:1px 18px 1px 0}\
        .small{font-size:12px}.grid td,.grid th{border:1px solid #d8dde6;padding:3px 8px;font-size:12px}\
        .grid td:first-child{font-family:ui-monospace,Menlo,monospace}svg{display:block;margin:4px 0}\
        svg text{font:11px system-ui,sans-serif;fill:#5a6478}.legend{color:#5a6478}.sw{display:inline-block;\
        width:14px;height:10px;margin:0 4px 0 12px;vertical-align:middle}.sw.enc{background:#cfe0f7}.sw.obs{background:#2f6fca}\
        .sw.clip{background:#d1495b}.sw.oth{background:#e8a33d}footer{color:#8a93a6;margin-top:32px;font-size:12px}
        """
}

/// SVG coordinates: one decimal, locale-free, without `String(format:)` (a large report formats
/// millions of them).
func svgNumber(_ v: Double) -> String {
    let tenths = Int((v * 10).rounded())
    let whole = tenths / 10, frac = abs(tenths % 10)
    return (tenths < 0 && whole == 0 ? "-" : "") + String(whole) + (frac == 0 ? "" : "." + String(frac))
}

/// The observed range of a per-tensor tensor on an axis, against the encoding's representable
/// range and its grid steps; parts of the observed range beyond the grid (clipped) in red.
struct RangePlot {
    var stats: TensorStats
    var encoding: Encoding
    var other: Encoding?

    var svg: String {
        let width = 1000.0, height = other == nil ? 56.0 : 72.0, pad = 10.0
        let lo = Double(stats.min[0]), hi = Double(stats.max[0])
        let elo = Double(encoding.min[0]), ehi = Double(encoding.max[0])
        guard lo.isFinite, hi.isFinite, elo.isFinite, ehi.isFinite else {
            return "<p>no finite value observed.</p>\n"
        }
        var a = Swift.min(lo, elo), b = Swift.max(hi, ehi)
        if let o = other {
            a = Swift.min(a, Double(o.min[0]))
            b = Swift.max(b, Double(o.max[0]))
        }
        if b <= a { b = a + 1 }
        let span = b - a
        func x(_ v: Double) -> Double { pad + (v - a) / span * (width - 2 * pad) }
        var s =
            "<svg width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\">"
        s +=
            "<rect x=\"\(svgNumber(x(elo)))\" y=\"8\" width=\"\(svgNumber(Swift.max(x(ehi) - x(elo), 1)))\" height=\"22\" fill=\"#cfe0f7\"/>"
        // Grid steps: every level when they are few enough to see, else every k-th.
        let scale = Double(encoding.scale[0])
        if scale > 0 {
            let levels = Int(((ehi - elo) / scale).rounded()) + 1
            let every = Swift.max(1, levels / 64)
            var ticks = ""
            for k in stride(from: 0, to: levels, by: every) {
                ticks += "M\(svgNumber(x(elo + Double(k) * scale))) 8v22"
            }
            s += "<path d=\"\(ticks)\" stroke=\"#9dbbe6\" stroke-width=\"0.6\"/>"
        }
        s +=
            "<rect x=\"\(svgNumber(x(lo)))\" y=\"14\" width=\"\(svgNumber(Swift.max(x(hi) - x(lo), 1)))\" height=\"10\" fill=\"#2f6fca\"/>"
        if lo < elo - scale / 2 {
            s +=
                "<rect x=\"\(svgNumber(x(lo)))\" y=\"14\" width=\"\(svgNumber(x(elo) - x(lo)))\" height=\"10\" fill=\"#d1495b\"/>"
        }
        if hi > ehi + scale / 2 {
            s +=
                "<rect x=\"\(svgNumber(x(ehi)))\" y=\"14\" width=\"\(svgNumber(x(hi) - x(ehi)))\" height=\"10\" fill=\"#d1495b\"/>"
        }
        if let o = other {
            let olo = Double(o.min[0]), ohi = Double(o.max[0])
            s +=
                "<rect x=\"\(svgNumber(x(olo)))\" y=\"36\" width=\"\(svgNumber(Swift.max(x(ohi) - x(olo), 1)))\" height=\"8\" fill=\"#e8a33d\"/>"
        }
        if a < 0 && b > 0 { s += "<path d=\"M\(svgNumber(x(0))) 4v\(Int(height) - 20)\" stroke=\"#1d2330\" stroke-width=\"1\"/>" }
        let ty = Int(height) - 4
        s += "<text x=\"\(svgNumber(pad))\" y=\"\(ty)\">\(Describe.number(Float(a)))</text>"
        s += "<text x=\"\(svgNumber(width - pad))\" y=\"\(ty)\" text-anchor=\"end\">\(Describe.number(Float(b)))</text>"
        return s + "</svg>\n"
    }
}

/// Per-channel ranges as an envelope (the maximum of each bucket of channels above, the minimum
/// below), at most `HTMLReport.maxPoints` buckets wide, the outlier channels marked and numbered.
struct ChannelPlot {
    var stats: TensorStats
    var encoding: Encoding
    var outliers: ChannelOutlierReport

    var svg: String {
        let width = 1000.0, height = 150.0, pad = 10.0, n = stats.channels
        let finite = zip(stats.min, stats.max).filter { $0.0 <= $0.1 }
        guard !finite.isEmpty else { return "<p>no channel observed finite.</p>\n" }
        var a = Double(finite.map(\.0).min()!), b = Double(finite.map(\.1).max()!)
        a = Swift.min(a, 0)
        b = Swift.max(b, 0)
        if b <= a { b = a + 1 }
        let buckets = Swift.min(n, HTMLReport.maxPoints)
        func y(_ v: Double) -> Double { pad + (b - v) / (b - a) * (height - 2 * pad - 14) }
        func x(_ channel: Double) -> Double { pad + channel / Double(n) * (width - 2 * pad) }
        var upper = "", lower = ""
        for k in 0..<buckets {
            let from = k * n / buckets, to = Swift.max(from + 1, (k + 1) * n / buckets)
            var lo = Float.infinity, hi = -Float.infinity
            for c in from..<to where stats.min[c] <= stats.max[c] {
                lo = Swift.min(lo, stats.min[c])
                hi = Swift.max(hi, stats.max[c])
            }
            guard lo <= hi else { continue }
            let x0 = x(Double(from)), x1 = x(Double(to))
            upper += "\(upper.isEmpty ? "M" : "L")\(svgNumber(x0)) \(svgNumber(y(Double(hi))))H\(svgNumber(x1))"
            lower += "\(lower.isEmpty ? "M" : "L")\(svgNumber(x0)) \(svgNumber(y(Double(lo))))H\(svgNumber(x1))"
        }
        var s =
            "<svg width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\">"
        s +=
            "<path d=\"M\(svgNumber(pad)) \(svgNumber(y(0)))H\(svgNumber(width - pad))\" stroke=\"#1d2330\" stroke-width=\"0.8\"/>"
        s += "<path d=\"\(upper)\" fill=\"none\" stroke=\"#2f6fca\" stroke-width=\"1.2\"/>"
        s += "<path d=\"\(lower)\" fill=\"none\" stroke=\"#2f6fca\" stroke-width=\"1.2\"/>"
        let median = Double(outliers.medianMagnitude)
        s +=
            "<path d=\"M\(svgNumber(pad)) \(svgNumber(y(median)))H\(svgNumber(width - pad))M\(svgNumber(pad)) "
            + "\(svgNumber(y(-median)))H\(svgNumber(width - pad))\" stroke=\"#8a93a6\" stroke-dasharray=\"4 3\" stroke-width=\"0.8\"/>"
        for c in outliers.ranked.prefix(5) where (c.ratio ?? 0) >= 2 {
            let v = abs(c.max) >= abs(c.min) ? Double(c.max) : Double(c.min)
            let cx = x(Double(c.index) + 0.5)
            s +=
                "<circle cx=\"\(svgNumber(cx))\" cy=\"\(svgNumber(y(v)))\" r=\"4\" fill=\"none\" stroke=\"#d1495b\" stroke-width=\"1.5\"/>"
            s += "<text x=\"\(svgNumber(cx + 6))\" y=\"\(svgNumber(y(v) + 4))\" style=\"fill:#a23b2a\">\(c.index)</text>"
        }
        let ty = Int(height) - 4
        s +=
            "<text x=\"\(svgNumber(pad))\" y=\"\(ty)\">channel 0 · range \(Describe.number(Float(a))) … \(Describe.number(Float(b))) · "
            + "dashed: ± the median channel's |range|</text>"
        s += "<text x=\"\(svgNumber(width - pad))\" y=\"\(ty)\" text-anchor=\"end\">channel \(n - 1)</text>"
        return s + "</svg>\n"
    }
}

/// A stored histogram, at most `HTMLReport.maxPoints` bars (bins summed), on a square-root count
/// scale so the tails stay visible, with each method's clip points (its encoding range) marked.
struct HistogramPlot {
    var counts: [Double]
    var edges: [Float]
    var candidates: [MethodComparison.Candidate]

    var svg: String {
        let width = 1000.0, height = 170.0, pad = 10.0, plotH = 100.0
        let a = Double(edges.first!), b = Swift.max(Double(edges.last!), Double(edges.first!) + 1e-30)
        func x(_ v: Double) -> Double { pad + (v - a) / (b - a) * (width - 2 * pad) }
        let bars = Swift.min(counts.count, HTMLReport.maxPoints)
        var sums = [Double](repeating: 0, count: bars)
        for (i, c) in counts.enumerated() { sums[i * bars / counts.count] += c }
        let top = sums.map { $0.squareRoot() }.max() ?? 1
        var d = ""
        let barWidth = (width - 2 * pad) / Double(bars)
        for (k, c) in sums.enumerated() where c > 0 {
            let h = Swift.max(c.squareRoot() / top * plotH, 0.5)
            d +=
                "M\(svgNumber(pad + Double(k) * barWidth)) \(svgNumber(pad + plotH))v\(svgNumber(-h))h\(svgNumber(barWidth))v\(svgNumber(h))z"
        }
        var s =
            "<svg width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\">"
        s += "<path d=\"\(d)\" fill=\"#9dbbe6\"/>"
        let colours = ["#1d2330", "#d1495b", "#e8a33d", "#2a9d8f", "#7b5ea7", "#3d7dd8"]
        var legend = ""
        for (i, c) in candidates.enumerated() {
            let colour = colours[i % colours.count]
            for v in [Double(c.encoding.min[0]), Double(c.encoding.max[0])] where v >= a && v <= b {
                s +=
                    "<path d=\"M\(svgNumber(x(v))) \(svgNumber(pad - 4))v\(svgNumber(plotH + 4))\" stroke=\"\(colour)\" "
                    + "stroke-width=\"1.2\" stroke-dasharray=\"\(i == 0 ? "none" : "3 2")\"/>"
            }
            legend += "<tspan style=\"fill:\(colour)\">\(HTMLReport.escape(c.name))</tspan>  "
        }
        s += "<text x=\"\(svgNumber(pad))\" y=\"\(svgNumber(pad + plotH + 16))\">\(Describe.number(Float(a)))</text>"
        s +=
            "<text x=\"\(svgNumber(width - pad))\" y=\"\(svgNumber(pad + plotH + 16))\" text-anchor=\"end\">\(Describe.number(Float(b)))</text>"
        s +=
            "<text x=\"\(svgNumber(width / 2))\" y=\"\(svgNumber(pad + plotH + 16))\" text-anchor=\"middle\">histogram (√count); "
            + "clip points per method:</text>"
        s += "<text x=\"\(svgNumber(pad))\" y=\"\(svgNumber(pad + plotH + 36))\">\(legend)</text>"
        return s + "</svg>\n"
    }
}
