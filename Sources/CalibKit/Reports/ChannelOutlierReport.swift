import Foundation

/// What `calib show SESSION --channels TENSOR` prints: a per-channel tensor's channels ranked by how
/// far their range exceeds the tensor's median channel range. One outlier channel is what makes a
/// per-tensor scale coarse for every other channel, so these are the channels worth looking at,
/// instead of a table of thousands of columns.
public struct ChannelOutlierReport: Sendable {
    public struct Channel: Sendable, Equatable {
        public var index: Int
        public var min: Float
        public var max: Float
        /// `max(|min|, |max|)`: what a symmetric scale must cover.
        public var magnitude: Float
        /// `magnitude` over the median channel's; nil when the median is 0.
        public var ratio: Double?
        public var scale: Float
    }

    public var session: String
    public var tensor: TensorReport
    /// Channels observed finite, largest ratio first (ties by index).
    public var ranked: [Channel]
    /// Channels never observed finite.
    public var unobserved: [Int]
    public var medianMagnitude: Float
    public var top: Int

    /// Refuses a tensor kept per tensor: it has one range, and nothing to rank.
    public init(session: String, tensor: TensorReport, top: Int) throws {
        guard let stats = tensor.stats, tensor.tensor.channelAxis != nil, stats.channels > 1 else {
            throw ReportError(
                "tensor '\(tensor.tensor.name)' of session '\(session)' is observed per tensor (one range); "
                    + "--channels needs a per-channel tensor (see the CH column of `calib show`)")
        }
        self.session = session
        self.tensor = tensor
        self.top = top
        let e = tensor.encoding
        var channels: [Channel] = []
        var unobserved: [Int] = []
        for c in 0..<stats.channels {
            let lo = stats.min[c], hi = stats.max[c]
            guard lo <= hi else {
                unobserved.append(c)
                continue
            }
            channels.append(
                Channel(
                    index: c, min: lo, max: hi, magnitude: Swift.max(abs(lo), abs(hi)), ratio: nil,
                    scale: c < e.scale.count ? e.scale[c] : .nan))
        }
        let sorted = channels.map(\.magnitude).sorted()
        let n = sorted.count
        let median = n == 0 ? 0 : n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
        for i in channels.indices where median > 0 { channels[i].ratio = Double(channels[i].magnitude) / Double(median) }
        channels.sort { ($0.magnitude, -$0.index) > ($1.magnitude, -$1.index) }
        self.ranked = channels
        self.unobserved = unobserved
        self.medianMagnitude = median
    }

    public var heading: [ReportLine] {
        let t = tensor.tensor
        var lines = [
            ReportLine(
                "  \(t.channels) channels on axis \(t.channelAxis ?? 0); median channel |range| \(Describe.number(medianMagnitude)); "
                    + "largest \(ranked.first.map { Describe.number($0.magnitude) } ?? "-")",
                heading: "tensor \(t.name) (session \(session))")
        ]
        if let first = ranked.first, let ratio = first.ratio {
            lines.append(
                ReportLine(
                    "a per-tensor scale would be set by channel \(first.index), \(Self.times(ratio)) the median channel's range",
                    warning: ratio >= 4))
        }
        return lines
    }

    public var table: ReportTable {
        var table = ReportTable(["CHANNEL", "MIN", "MAX", "|RANGE|", "x MEDIAN", "SCALE"], numeric: [0, 1, 2, 3, 4, 5])
        for c in ranked.prefix(top) {
            table.append([
                .init(String(c.index)), .init(Describe.number(c.min)), .init(Describe.number(c.max)),
                .init(Describe.number(c.magnitude)),
                .init(c.ratio.map(Self.times) ?? "-", warning: (c.ratio ?? 0) >= 4), .init(Describe.number(c.scale)),
            ])
        }
        return table
    }

    public var notes: [ReportLine] {
        var notes: [ReportLine] = []
        if ranked.count > top {
            notes.append(ReportLine("\(ranked.count - top) more channels (--top N shows more)"))
        }
        if !unobserved.isEmpty {
            let list = unobserved.prefix(10).map(String.init).joined(separator: ", ")
            notes.append(
                ReportLine(
                    "\(Describe.count(unobserved.count, "channel")) never observed finite: \(list)"
                        + (unobserved.count > 10 ? ", …" : ""), warning: true))
        }
        return notes
    }

    public var json: JSONValue {
        .object([
            ("session", .string(session)), ("tensor", .string(tensor.tensor.name)),
            ("channel_axis", tensor.tensor.channelAxis.map(JSONValue.int) ?? .null), ("channels", .int(tensor.tensor.channels)),
            ("median_magnitude", .float(medianMagnitude)),
            (
                "ranked",
                .array(
                    ranked.prefix(top).map { c in
                        .object([
                            ("channel", .int(c.index)), ("min", .float(c.min)), ("max", .float(c.max)),
                            ("magnitude", .float(c.magnitude)), ("ratio", c.ratio.map { .shortFloat(Float($0)) } ?? .null),
                            ("scale", .float(c.scale)),
                        ])
                    })
            ),
            ("unobserved", .array(unobserved.map(JSONValue.int))),
        ])
    }

    static func times(_ r: Double) -> String { String(format: "%.1fx", r) }
}

/// A report that cannot be made from what was asked.
public struct ReportError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
