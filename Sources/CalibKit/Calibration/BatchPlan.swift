import CalibDerivation
import CalibFormats
import CalibModel
import CalibObservers
import CalibReaders
import CalibStore
import CalibSupport
import Foundation

/// One selected tensor of a batch, paired with the state it will be folded into.
struct PlannedTensor {
    let data: TensorData
    var update: TensorUpdate
}

/// A session as a run found it, or the one it will create with its first batch.
struct OpenedSession {
    /// With `draft`, a stand-in (id 0) until the first commit stores it.
    var session: Session
    /// The session does not exist yet: the first commit creates it (so a run that stores nothing
    /// leaves nothing behind, even when killed).
    var draft: SessionDraft?
    var created: Bool { draft != nil }
}

extension CalibrationRunner {
    func openSession() throws -> OpenedSession {
        let o = options
        let activationDefaults = o.settings.applied(to: .defaults(for: .activation))
        guard let session = try store.session(named: o.session) else {
            try Self.validate(activationDefaults)
            let draft = SessionDraft(
                name: o.session, observer: activationDefaults.observer, tensorFilter: o.tensorFilter,
                scheme: activationDefaults.scheme, model: o.model, dataset: o.dataset, notes: o.note)
            try draft.validate()
            let standIn = Session(
                id: 0, name: draft.name, createdAt: "", updatedAt: "", status: .empty, observer: draft.observer,
                tensorFilter: draft.tensorFilter, scheme: draft.scheme, toolVersion: CalibVersion.current, model: draft.model,
                dataset: draft.dataset, notes: draft.notes, origin: .calibrated, importedFrom: nil,
                batchHash: .current)
            return OpenedSession(session: standIn, draft: draft)
        }
        if session.origin == .imported {
            throw StoreError.incompatible(
                session: session.name, tensor: nil, "is an imported session; calibrate into a new session instead")
        }
        if o.model != nil || o.dataset != nil || o.note != nil {
            try store.updateSession(session.name, model: o.model, dataset: o.dataset, notes: o.note)
        }
        return OpenedSession(session: session, draft: nil)
    }

    /// Observes every planned tensor of `batch`; touches nothing stored. Returns the batch's row and
    /// its tensors' new states.
    func observe(
        _ batch: Batch, _ plan: [PlannedTensor], observed: [(axis: Int?, range: BatchRange)?] = [],
        histograms: [CanonicalHistogram?] = [], collectAll: inout CollectAll?
    ) throws -> (BatchRecord, [TensorUpdate]) {
        let tensors = plan.map(\.data)
        let ranges = Self.ranges(of: batch, plan, observed: observed)
        var updates = plan.map(\.update)
        for (i, range) in ranges.enumerated() {
            if range.unreadable {
                // The file shrank under the mapping; the checks name what changed.
                try batch.checkUnchanged()
                throw InputError(
                    file: batch.source, tensor: tensors[i].name,
                    "changed while it was read (it shrank); nothing from it was stored")
            }
            // Finite values no float32 range can hold: dropping them would understate the range and
            // clamping them overflows the scale, so --nonfinite does not apply; the batch is refused.
            if range.beyondFloat32 > 0 {
                throw InputError(
                    file: batch.source, tensor: tensors[i].name,
                    "\(range.beyondFloat32) finite float64 value\(range.beyondFloat32 == 1 ? " is" : "s are") beyond float32's range "
                        + "(|x| > 3.4028235e+38), which no float32 encoding can hold; scale the data or store it as float32"
                        + (range.nonfinite > 0 ? " (the tensor also holds \(range.nonfinite) NaN/Inf values)" : ""))
            }
            if options.nonfinite == .error && range.nonfinite > 0 {
                throw InputError(
                    file: batch.source, tensor: tensors[i].name,
                    "\(range.nonfinite) NaN/Inf values (--nonfinite error); use --nonfinite ignore to leave them out of the ranges"
                )
            }
            updates[i].stats.accumulate(range)
            let u = updates[i]
            if let problem = Derivation.overflow(u.stats, scheme: u.scheme, channelAxis: u.record.channelAxis) {
                throw InputError(file: batch.source, tensor: tensors[i].name, problem)
            }
        }
        try foldHistograms(
            tensors, into: &updates, counted: Self.paired(histograms, of: batch, plan), collectAll: &collectAll,
            source: batch.source)
        let record = BatchRecord(
            seq: 0, source: batch.source, contentHash: batch.contentHash, tensors: plan.count,
            elements: tensors.reduce(0) { $0 + $1.elementCount }, bytes: batch.byteCount, addedAt: Timestamp.now())
        return (record, updates)
    }

    /// The histogram step, after the range kernel: each histogram observer's tensor is decoded to
    /// float32 and folded into its tool's state, batch by batch in input order (the tools' growth
    /// rules are order-dependent).
    /// `counted` holds, per planned tensor, the canonical histogram the pipeline already counted
    /// as it hashed the batch (nil: counted here).
    func foldHistograms(
        _ tensors: [TensorData], into updates: inout [TensorUpdate], counted: [CanonicalHistogram?] = [],
        collectAll: inout CollectAll?, source: String
    ) throws {
        var counter: CanonicalCounter?
        for i in updates.indices {
            guard case .histogram(let lo, let hi, var state) = updates[i].stats.state else { continue }
            if case .canonical(var h, let method, let bins) = state, i < counted.count, let batch = counted[i],
                batch.mantissaBits == h.mantissaBits
            {
                h.merge(batch)
                updates[i].stats.state = .histogram(min: lo, max: hi, .canonical(h, method: method, onnxruntimeBins: bins))
                continue
            }
            if case .canonical(var h, let method, let bins) = state {
                // Order-free: float32 is counted where it lies, in any layout; other types decoded.
                let c = counter ?? CanonicalCounter(mantissaBits: h.mantissaBits)
                counter = c
                let t = tensors[i]
                if t.dtype == .float32 && t.byteOrder == .little, let base = t.bytes.baseAddress {
                    c.observe(float32: base, count: t.elementCount, into: &h)
                } else {
                    t.floatValues().withUnsafeBufferPointer { c.observe($0, into: &h) }
                }
                updates[i].stats.state = .histogram(min: lo, max: hi, .canonical(h, method: method, onnxruntimeBins: bins))
                continue
            }
            let values = tensors[i].floatValues()
            switch state {
            case .pytorch(var h):
                h.observe(values)
                state = .pytorch(h)
            case .aimet(var main, var tf, let method):
                if let axis = updates[i].record.channelAxis {
                    // One pair per channel, as AIMET's per-channel quantizer bins them.
                    let shape = tensors[i].shape
                    values.withUnsafeBufferPointer { v in
                        AimetHistogram.observe(&main, channelsOf: v, shape: shape, channelAxis: axis)
                        AimetHistogram.observe(&tf, channelsOf: v, shape: shape, channelAxis: axis)
                    }
                } else {
                    main[0].observe(values)
                    tf[0].observe(values)
                }
                state = .aimet(main: main, tfEnhanced: tf, method: method)
            case .onnxruntime(var hs, let method, let collect):
                let name = updates[i].record.name
                if collect == .all {
                    // Counted onto the grid the extent pass fixed; folded in at the end of the run.
                    guard var passes = collectAll?.passes[name] else {
                        throw InputError(
                            file: source, tensor: name, "was not in the inputs when they were read first; its data changed")
                    }
                    values.withUnsafeBufferPointer { v in for k in passes.indices { passes[k].count(v) } }
                    collectAll?.passes[name] = passes
                    continue
                }
                do {
                    for k in hs.indices { try hs[k].collect(values) }
                } catch {
                    throw InputError(file: source, tensor: name, "\(error)")
                }
                state = .onnxruntime(histograms: hs, method: method, collect: collect)
            case .canonical:
                continue  // counted above
            }
            updates[i].stats.state = .histogram(min: lo, max: hi, state)
        }
    }

    /// The pipeline's per-tensor canonical histograms of `batch`, paired with the plan's tensors by
    /// position (the plan is a filtered subsequence of the batch's tensors).
    static func paired(_ histograms: [CanonicalHistogram?], of batch: Batch, _ plan: [PlannedTensor]) -> [CanonicalHistogram?] {
        guard !histograms.isEmpty else { return [] }
        var out: [CanonicalHistogram?] = []
        var j = 0
        for p in plan {
            while j < batch.tensors.count && batch.tensors[j].name != p.data.name { j += 1 }
            out.append(j < histograms.count ? histograms[j] : nil)
            j += 1
        }
        return out
    }

    /// The settings, record and current statistics of every selected tensor of `batch`, checked
    /// against what the session holds; reads no tensor data.
    func plan(_ batch: Batch, _ run: RunState) throws -> [PlannedTensor] {
        let plan = try batch.tensors.filter { Glob.matchesAny(options.tensorFilter, $0.name) }.map { tensor in
            PlannedTensor(
                data: tensor,
                update: try update(for: tensor, stored: run.tensors[tensor.name], batch: batch, session: run.session))
        }
        guard !plan.isEmpty else {
            throw InputError(
                file: batch.source,
                options.tensorFilter.isEmpty
                    ? "the batch holds no tensor" : "no tensor matches --tensor \(options.tensorFilter.joined(separator: " "))")
        }
        return plan
    }

    private func update(for tensor: TensorData, stored: TensorUpdate?, batch: Batch, session: Session) throws -> TensorUpdate {
        let settings = options.settings(for: tensor.name, stored: stored?.settings)
        try Self.validate(settings, tensor: tensor.name, session: session.name)
        let axis = try Self.channelAxis(settings.observer.channelAxis, of: tensor, source: batch.source)
        let channels = axis.map { tensor.shape[$0] } ?? 1
        if let axis, channels > CalibStore.maximumChannels {
            // Refused before any byte is observed, not by SQLite at the commit after the whole read.
            throw InputError(
                file: batch.source, tensor: tensor.name,
                "per-channel axis \(axis) has \(channels) channels (shape \(tensor.shape)), more than the "
                    + "\(CalibStore.maximumChannels) a tensor's per-channel arrays can hold (SQLite stores at most 1 GB per value); "
                    + "observe it per tensor (--per-tensor) or on another axis")
        }
        var observer = settings.observer
        observer.channelAxis = axis
        guard let stored else {
            // A new tensor's name must survive every place it goes (SQLite, AIMET, TensorRT, CSV).
            if let problem = Names.tensorProblem(tensor.name) {
                throw InputError(file: batch.source, tensor: Names.printable(tensor.name), problem)
            }
            let record = TensorRecord(
                id: 0, name: tensor.name, role: settings.role, dtype: tensor.dtype, shape: tensor.shape, channelAxis: axis,
                channels: channels)
            var stats = TensorStats(observer: observer, channels: channels)
            if observer.kind == .histogram, options.histogramRules == .tool,
                HistogramRules.default(for: settings.scheme.convention) == .calib
            {
                throw StoreError.incompatible(
                    session: session.name, tensor: tensor.name,
                    "--histogram tool: convention \(settings.scheme.convention.rawValue) has no histogram rules of its own "
                        + "in calib (aimet, pytorch and onnxruntime do); use --histogram calib")
            }
            let histogram = try HistogramOptions(
                method: resolvedMethod(settings, tensor: tensor.name, session: session.name), bins: options.bins,
                collect: options.collect, rules: options.histogramRules)
            if observer.kind == .histogram, axis != nil, channels > Self.maximumHistogramChannels {
                throw StoreError.incompatible(
                    session: session.name, tensor: tensor.name,
                    "per-channel axis \(axis!) has \(channels) channels; per-channel AIMET histograms keep about 20 KiB a "
                        + "channel, so calib holds them for at most \(Self.maximumHistogramChannels) channels (84 MiB a tensor)")
            }
            if let initial = TensorSettings(role: settings.role, observer: observer, scheme: settings.scheme)
                .initialHistogram(histogram, channels: channels)
            {
                if case .canonical = initial, axis != nil {
                    throw StoreError.incompatible(
                        session: session.name, tensor: tensor.name,
                        "calib's histogram is per tensor: use --per-tensor, or --histogram tool with --convention aimet")
                }
                if case .onnxruntime(let hs, let method, _) = initial {
                    try Self.validate(method, bins: hs[0].bins, tensor: tensor.name, session: session.name)
                } else if case .canonical(_, let method, let bins) = initial, options.collect == nil {
                    if let bins, settings.scheme.convention != .onnxruntime {
                        throw StoreError.incompatible(
                            session: session.name, tensor: tensor.name,
                            "--bins \(bins) is onnxruntime's num_bins; this tensor is encoded with --convention "
                                + "\(settings.scheme.convention.rawValue)")
                    }
                    if case .onnxruntime(let m)? = method {
                        try Self.validate(m, bins: bins ?? m.defaultBins, tensor: tensor.name, session: session.name)
                    }
                } else if options.bins != nil || options.collect != nil {
                    throw Self.histogramOptionsWithout(tensor.name, session: session.name)  // not silently ignored
                }
                stats.state = .histogram(min: stats.min, max: stats.max, initial)
            } else if !histogram.isEmpty {
                throw Self.histogramOptionsWithout(tensor.name, session: session.name)
            }
            return TensorUpdate(record: record, stats: stats, scheme: settings.scheme, isNew: true)
        }
        try Self.checkCompatible(
            stored: stored, observer: observer, channels: channels, tensor: tensor, batch: batch, session: session)
        var update = stored
        update.record.role = settings.role
        update.scheme = settings.scheme
        let method = try resolvedMethod(settings, tensor: tensor.name, session: session.name)
        if let rules = options.histogramRules, case .histogram(_, _, let h) = stored.stats.state,
            rules != (h.convention == nil ? .calib : .tool)
        {
            throw StoreError.incompatible(
                session: session.name, tensor: tensor.name,
                "its histogram follows \(h.rulesName)'s rules; --histogram \(rules.rawValue) cannot change them for stored "
                    + "counts: drop --histogram, or calibrate into a new session (--session \(session.name)-2)")
        }
        guard method != nil || options.bins != nil || options.collect != nil else { return update }
        // The method (and collect mode) only change how the stored histograms are read and fed: a
        // later run may change them; the bins are fixed by the histograms' first batch.
        switch stored.stats.state {
        case .histogram(let lo, let hi, .aimet(let main, let tf, let storedMethod))
        where options.bins == nil && options.collect == nil:
            update.stats.state = .histogram(
                min: lo, max: hi, .aimet(main: main, tfEnhanced: tf, method: method?.aimet ?? storedMethod))
        case .histogram(let lo, let hi, .onnxruntime(let hs, let storedMethod, let storedCollect)):
            let bins = hs[0].bins
            if let b = options.bins, b != bins {
                throw StoreError.incompatible(
                    session: session.name, tensor: tensor.name,
                    "its onnxruntime histograms were collected with --bins \(bins); the bin count of stored histograms "
                        + "cannot change: drop --bins, or calibrate into a new session (--session \(session.name)-2)")
            }
            let m = method?.onnxruntime ?? storedMethod
            try Self.validate(m, bins: bins, tensor: tensor.name, session: session.name)
            update.stats.state = .histogram(
                min: lo, max: hi, .onnxruntime(histograms: hs, method: m, collect: options.collect ?? storedCollect))
        case .histogram(let lo, let hi, .canonical(let h, let storedMethod, let storedBins)) where options.collect == nil:
            // Counts do not depend on the method or onnxruntime's num_bins: both may change.
            let bins = options.bins ?? storedBins
            let m = method ?? storedMethod
            if case .onnxruntime(let o)? = m {
                try Self.validate(o, bins: bins ?? o.defaultBins, tensor: tensor.name, session: session.name)
            }
            update.stats.state = .histogram(min: lo, max: hi, .canonical(h, method: m, onnxruntimeBins: bins))
        default:
            throw Self.histogramOptionsWithout(tensor.name, session: session.name)
        }
        return update
    }

    /// `--method` resolved for a tensor under `settings` (nil when not given).
    func resolvedMethod(_ settings: TensorSettings, tensor: String, session: String) throws -> HistogramMethod? {
        guard let request = options.method else { return nil }
        guard settings.observer.kind == .histogram else { throw Self.histogramOptionsWithout(tensor, session: session) }
        do {
            return try request.method(for: settings.scheme.convention.methodTool)
        } catch {
            throw StoreError.incompatible(session: session, tensor: tensor, error.description)
        }
    }

    static func validate(_ method: OnnxRuntimeHistogramMethod, bins: Int, tensor: String, session: String) throws {
        do {
            try method.validate(bins: bins)
        } catch {
            throw StoreError.incompatible(session: session, tensor: tensor, "\(error) (--bins \(bins))")
        }
    }

    static func histogramOptionsWithout(_ tensor: String, session: String) -> Error {
        StoreError.incompatible(
            session: session, tensor: tensor,
            "--method reads an AIMET, onnxruntime or calib histogram, --bins is onnxruntime's num_bins and --collect "
                + "feeds onnxruntime's own histograms (--observer histogram --convention aimet|onnxruntime, or "
                + "--histogram calib), which this tensor does not keep")
    }

    static let cores = ProcessInfo.processInfo.activeProcessorCount

    /// Per-channel AIMET histograms: 2048 + 512 bins of counts and edges per channel, about 20 KiB,
    /// so 4096 channels hold 84 MiB per tensor, in memory while a run folds them and in the store.
    static let maximumHistogramChannels = 4096

    /// Refuses to fold a batch into statistics that were observed with other settings.
    static func checkCompatible(
        stored: TensorUpdate, observer: ObserverConfig, channels: Int, tensor: TensorData, batch: Batch, session: Session
    ) throws {
        let differences = stored.stats.observer.differences(from: observer)
        if !differences.isEmpty {
            throw StoreError.incompatible(
                session: session.name, tensor: tensor.name,
                "this run observes it with \(differences.joined(separator: ", ")). Statistics observed differently "
                    + "cannot be mixed: drop the flag or config rule, or calibrate into a new session (--session \(session.name)-2)"
            )
        }
        if channels != stored.record.channels {
            throw InputError(
                file: batch.source, tensor: tensor.name,
                "per-channel axis \(observer.channelAxis!) has \(channels) channels (shape \(tensor.shape)), "
                    + "but earlier batches had \(stored.record.channels); the channel axis must keep its size")
        }
    }

    /// The non-negative channel axis of `tensor`, or nil when per-tensor.
    static func channelAxis(_ axis: Int?, of tensor: TensorData, source: String) throws -> Int? {
        guard let axis else { return nil }
        let rank = tensor.shape.count
        let a = axis < 0 ? rank + axis : axis
        guard a >= 0 && a < rank else {
            throw InputError(
                file: source, tensor: tensor.name, "per-channel axis \(axis) is out of range for shape \(tensor.shape)")
        }
        return a
    }

    static func validate(_ settings: TensorSettings, tensor: String? = nil, session: String? = nil) throws {
        do {
            try settings.validate()
        } catch {
            guard let tensor else { throw error }
            throw StoreError.incompatible(session: session ?? "", tensor: tensor, error.description)
        }
    }
}
