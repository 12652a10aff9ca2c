// The fuzz corpus as ordinary tests: every file of fuzz/corpus/<target>/ goes through the same parser
// and the same invariant checks as the libFuzzer targets in fuzz/targets/, so an input the fuzzer
// once found interesting keeps being checked in CI without libFuzzer.
//
// This one file holds both halves:
// - `FuzzTarget`, `FuzzHarness` and `FuzzInvariants` (the parser calls and the invariants) are also
//   compiled into the libFuzzer binaries: fuzz/run.sh builds this file with `-D FUZZ_BUILD` together
//   with the parser sources, so a fuzz target and this test can never check different things;
// - `FuzzCorpusTests` (below, not in FUZZ_BUILD) replays the corpus with Swift Testing.

#if FUZZ_BUILD
import Foundation
#else
import Foundation
import Testing

@testable import CalibKit
import CalibTestSupport
@testable import CalibDerivation
@testable import CalibFormats
@testable import CalibModel
@testable import CalibReaders
@testable import CalibSupport
#endif

#if canImport(Glibc)
import Glibc
#endif

// MARK: - Targets and harness (shared with fuzz/targets/*.swift)

/// One fuzz target: a parser that takes file bytes. Raw values are the corpus folder names.
enum FuzzTarget: String, CaseIterable, Sendable {
    case safetensors
    case npy
    case npz
    case stdinFrames = "stdin-frames"
    case aimet
    case onnxruntimeJSON = "onnxruntime-json"
    case onnxruntimeFlatbuffers = "onnxruntime-flatbuffers"
    case onnxruntimeCache = "onnxruntime-cache"
    case tensorrt
    case config
}

/// What one input did.
struct FuzzResult {
    /// True when the parser accepted the input (for stdin-frames: the stream ended cleanly).
    var accepted: Bool
    /// Tensors, table entries, config rules or frames the parser returned.
    var items: Int
    /// The parser's own error (InputError, FormatError, SchemeError), when it rejected the input.
    var rejection: String?
    /// Broken invariants, an unexpected error type included: each one is a bug. The fuzz targets trap on them.
    var violations: [String]
    /// Results that keep the contract but look wrong (e.g. an infinite scale): reported, not fatal.
    /// Each is `kind: detail`; the fuzz targets save the first input of each kind under fuzz/build/findings/.
    var findings: [String]
}

/// Collects broken invariants while a result is checked.
///
/// `require` checks are always violations. `note` checks have a kind: a violation too, unless the kind
/// is listed in `knownIssues` (an open, reported issue, or behaviour the sources chose on purpose), in
/// which case it is a finding: the fuzz targets then keep going and save the first input of each kind.
/// Remove a kind from `knownIssues` once the sources handle it, and it is enforced again.
struct FuzzChecker {
    static let knownIssues: Set<String> = {
        // Empty: every kind found so far is handled by the sources (fuzz/crashes/README.md).
        var kinds: Set<String> = []
        #if FUZZ_BUILD
        // fuzz/run.sh can add kinds for one run without a rebuild: FUZZ_KNOWN_ISSUES=kind,kind
        for kind in (ProcessInfo.processInfo.environment["FUZZ_KNOWN_ISSUES"] ?? "").split(separator: ",") {
            kinds.insert(String(kind))
        }
        #endif
        return kinds
    }()

    var violations: [String] = []
    var findings: [String] = []

    mutating func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
        if !condition() { violations.append(message()) }
    }

    mutating func note(_ condition: @autoclosure () -> Bool, _ kind: String, _ detail: @autoclosure () -> String) {
        guard !condition() else { return }
        if Self.knownIssues.contains(kind) {
            findings.append("\(kind): \(detail())")
        } else {
            violations.append("[\(kind)] \(detail())")
        }
    }
}

/// The owner of an in-memory input, standing in for the `MappedFile` a real run passes as storage.
final class FuzzInputStorage {}

enum FuzzHarness {
    /// The file name parsers put into their errors.
    static let fileName = "fuzz-input"
    /// Tensors up to this many elements are also decoded with `floatValues()` (reads every byte).
    static let decodeLimit = 1 << 16

    /// Runs `input` through `target`'s parser and checks the result.
    static func run(_ target: FuzzTarget, _ input: UnsafeRawBufferPointer) -> FuzzResult {
        var check = FuzzChecker()
        do {
            let items: Int
            switch target {
            case .safetensors: items = try safetensors(input, &check)
            case .npy: items = try npy(input, &check)
            case .npz: items = try npz(input, &check)
            case .stdinFrames: items = try stdinFrames(input, &check)
            case .aimet: items = try aimet(Data(input), &check)
            case .onnxruntimeJSON: items = try onnxruntimeJSON(Data(input), &check)
            case .onnxruntimeFlatbuffers: items = try onnxruntimeValues(Data(input), flatbuffers: true, &check)
            case .onnxruntimeCache: items = try onnxruntimeValues(Data(input), flatbuffers: false, &check)
            case .tensorrt: items = try tensorrt(Data(input), &check)
            case .config: items = try config(Data(input), &check)
            }
            return FuzzResult(
                accepted: true, items: items, rejection: nil, violations: check.violations, findings: check.findings)
        } catch {
            if !isParserError(error, target: target) {
                check.violations.append("unexpected error type \(type(of: error)): \(error)")
            }
            return FuzzResult(
                accepted: false, items: 0, rejection: "\(error)", violations: check.violations, findings: check.findings)
        }
    }

    /// The error types a parser documents; anything else (or a trap) is a bug.
    static func isParserError(_ error: Error, target: FuzzTarget) -> Bool {
        switch target {
        case .safetensors, .npy, .npz, .stdinFrames: return error is InputError
        case .aimet, .onnxruntimeJSON, .onnxruntimeFlatbuffers, .onnxruntimeCache, .tensorrt: return error is FormatError
        // JSONValue.parse throws FormatError for bad JSON; the settings themselves throw SchemeError.
        case .config: return error is SchemeError || error is FormatError
        }
    }

    // MARK: Readers

    static func safetensors(_ input: UnsafeRawBufferPointer, _ check: inout FuzzChecker) throws -> Int {
        let storage = FuzzInputStorage()
        let tensors = try SafetensorsParser.tensors(in: input, storage: storage, file: fileName)
        FuzzInvariants.safetensors(tensors, input: input, storage: storage, &check)
        return tensors.count
    }

    static func npy(_ input: UnsafeRawBufferPointer, _ check: inout FuzzChecker) throws -> Int {
        let storage = FuzzInputStorage()
        let tensor = try NpyParser.tensor(in: input, name: "t", storage: storage, file: fileName, tensor: nil)
        FuzzInvariants.npy(tensor, name: "t", input: input, storage: storage, &check)
        return 1
    }

    static func npz(_ input: UnsafeRawBufferPointer, _ check: inout FuzzChecker) throws -> Int {
        let storage = FuzzInputStorage()
        let tensors = try NpzArchive.tensors(in: input, storage: storage, file: fileName)
        FuzzInvariants.npz(tensors, input: input, storage: storage, &check)
        return tensors.count
    }

    /// The input is written to a pipe and read back frame by frame, as `calib run -` reads standard
    /// input; an input larger than the pipe can hold goes through a temporary file instead.
    static func stdinFrames(_ input: UnsafeRawBufferPointer, _ check: inout FuzzChecker) throws -> Int {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { fatalError("pipe: errno \(errno)") }
        // F_GETPIPE_SZ / F_SETPIPE_SZ (Linux, _GNU_SOURCE only, so not imported).
        let (getPipeSize, setPipeSize): (Int32, Int32) = (1032, 1031)
        if fcntl(fds[1], getPipeSize) >= input.count || fcntl(fds[1], setPipeSize, Int32(clamping: input.count)) >= input.count {
            writeAll(input, to: fds[1])
            close(fds[1])
            defer { close(fds[0]) }
            return try readFrames(fds[0], input: input, &check)
        }
        close(fds[0])
        close(fds[1])
        guard let file = tmpfile() else { fatalError("tmpfile: errno \(errno)") }
        defer { fclose(file) }
        writeAll(input, to: fileno(file))
        lseek(fileno(file), 0, SEEK_SET)
        return try readFrames(fileno(file), input: input, &check)
    }

    private static func writeAll(_ bytes: UnsafeRawBufferPointer, to fd: Int32) {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 && errno == EINTR { continue }
            precondition(n > 0, "write: errno \(errno)")
            offset += n
        }
    }

    private static func readFrames(_ fd: Int32, input: UnsafeRawBufferPointer, _ check: inout FuzzChecker) throws -> Int {
        let stream = SafetensorsFrameStream(fileDescriptor: fd)
        var offset = 0
        var frames = 0
        do {
            while let batch = try stream.next(hash: .current) {
                FuzzInvariants.frame(batch, index: frames, offset: offset, input: input, &check)
                offset += batch.byteCount
                frames += 1
            }
        } catch {
            check.require((try? stream.next(hash: .current)) == nil, "the stream reported a frame after an error")
            throw error
        }
        check.require(offset == input.count, "the stream ended after \(offset) of \(input.count) bytes without an error")
        check.require((try? stream.next(hash: .current)) == nil, "the stream reported a frame after its end")
        return frames
    }

    // MARK: Importers

    /// The schemes ONNX Runtime tables are imported under: ONNX Runtime's default and a few others
    /// a user can ask for with `calib import --format onnxruntime` flags, every one valid.
    static let onnxruntimeSchemes: [QuantScheme] = [
        QuantScheme(convention: .onnxruntime, bitwidth: 8, symmetric: false, signed: false),
        QuantScheme(convention: .onnxruntime, bitwidth: 8, symmetric: true, signed: true),
        QuantScheme(convention: .onnxruntime, bitwidth: 16, symmetric: false, signed: false, reduceRange: true),
        QuantScheme(convention: .onnxruntime, bitwidth: 4, symmetric: true, signed: true, reduceRange: true),
        QuantScheme(convention: .aimet, bitwidth: 32, symmetric: false, signed: false),
        QuantScheme(convention: .aimet, bitwidth: 2, symmetric: true, signed: true),
        QuantScheme(convention: .aimetLegacy, bitwidth: 16, symmetric: true, signed: true),
        QuantScheme(convention: .pytorch, bitwidth: 8, symmetric: false, signed: false, reduceRange: true),
        QuantScheme(convention: .pytorch, bitwidth: 16, symmetric: true, signed: false),
        QuantScheme(convention: .tensorrt, bitwidth: 8, symmetric: true, signed: true),
    ]

    static func aimet(_ data: Data, _ check: inout FuzzChecker) throws -> Int {
        let table = try AimetEncodings.parse(data)
        FuzzInvariants.table(table, &check)
        FuzzInvariants.aimet(table, &check)
        FuzzInvariants.jsonRoundTrip(data, allowNonFinite: false, &check)
        // quantizer_args is optional and read separately; it must not fail on a file parse accepted.
        do {
            _ = try AimetEncodings.parseQuantizerArgs(data)
        } catch let error as FormatError {
            _ = error  // a malformed quantizer_args is the caller's error to report
        }
        return table.entries.count
    }

    static func onnxruntimeJSON(_ data: Data, _ check: inout FuzzChecker) throws -> Int {
        var count = 0
        for (i, scheme) in onnxruntimeSchemes.enumerated() {
            let table = try OnnxRuntimeCalibration.parseCalibrationJSON(data, derive: Derivation.encoder(scheme))
            FuzzInvariants.table(table, &check)
            FuzzInvariants.onnxruntime(table, scheme: scheme, &check)
            if i == 0 {
                count = table.entries.count
                FuzzInvariants.onnxruntimeJSONRoundTrip(table, scheme: scheme, &check)
                FuzzInvariants.jsonRoundTrip(data, allowNonFinite: true, &check)
            } else {
                check.require(table.entries.count == count, "the entry count depends on the scheme")
            }
        }
        return count
    }

    static func onnxruntimeValues(_ data: Data, flatbuffers: Bool, _ check: inout FuzzChecker) throws -> Int {
        var count = 0
        for (i, scheme) in onnxruntimeSchemes.enumerated() {
            let table =
                flatbuffers
                ? try OnnxRuntimeCalibration.parseFlatbuffers(data, derive: Derivation.encoder(scheme))
                : try OnnxRuntimeCalibration.parseCache(data, derive: Derivation.encoder(scheme))
            FuzzInvariants.table(table, &check)
            FuzzInvariants.onnxruntime(table, scheme: scheme, &check)
            FuzzInvariants.onnxruntimeValues(table, &check)
            if i == 0 {
                count = table.entries.count
                FuzzInvariants.onnxruntimeValuesRoundTrip(table, scheme: scheme, flatbuffers: flatbuffers, &check)
            } else {
                check.require(table.entries.count == count, "the entry count depends on the scheme")
            }
        }
        return count
    }

    static func tensorrt(_ data: Data, _ check: inout FuzzChecker) throws -> Int {
        let table = try TensorRTCache.parse(data)
        FuzzInvariants.table(table, &check)
        FuzzInvariants.tensorrt(table, data: data, &check)
        return table.entries.count
    }

    static func config(_ data: Data, _ check: inout FuzzChecker) throws -> Int {
        let config = try CalibrationConfig.parse(data)
        FuzzInvariants.config(config, data: data, &check)
        FuzzInvariants.jsonRoundTrip(data, allowNonFinite: false, &check)
        return config.rules.count
    }
}

// MARK: - Invariants (shared with fuzz/targets/*.swift)

enum FuzzInvariants {
    static func address(_ p: UnsafeRawPointer?) -> Int { p.map { Int(bitPattern: $0) } ?? 0 }

    /// True when `inner` lies within `outer` (an empty buffer anywhere counts as inside).
    static func lies(_ inner: UnsafeRawBufferPointer, within outer: UnsafeRawBufferPointer) -> Bool {
        if inner.isEmpty { return true }
        let start = address(inner.baseAddress), outerStart = address(outer.baseAddress)
        return outerStart != 0 && start >= outerStart && start + inner.count <= outerStart + outer.count
    }

    /// Checks shared by every tensor a reader returns.
    static func tensor(_ t: TensorData, _ check: inout FuzzChecker) {
        check.require(t.shape.allSatisfy { $0 >= 0 }, "'\(t.name)': negative dimension in \(t.shape)")
        let elements = TensorLayout.elementCount(t.shape)
        check.require(elements != nil, "'\(t.name)': the element count of \(t.shape) overflows")
        guard let elements else { return }
        check.require(elements > 0, "'\(t.name)': an empty tensor was accepted (shape \(t.shape))")
        let bytes = TensorLayout.byteCount(elements: elements, dtype: t.dtype)
        check.require(
            bytes == t.bytes.count,
            "'\(t.name)': \(t.bytes.count) bytes for \(elements) elements of \(t.dtype.rawValue) (\(t.dtype.size) bytes each)")
        check.require(t.bytes.count == 0 || t.bytes.baseAddress != nil, "'\(t.name)': bytes without an address")
        if t.dtype.size == 1 { check.require(t.byteOrder == .little, "'\(t.name)': a 1-byte dtype marked big-endian") }
        check.require(t.memoryShape.count == t.shape.count, "'\(t.name)': memory shape rank differs")
        // Read every element (ASan in the fuzz build catches a read outside the tensor's memory).
        if bytes == t.bytes.count, elements <= FuzzHarness.decodeLimit {
            check.require(t.floatValues().count == elements, "'\(t.name)': floatValues() count differs from the element count")
        }
    }

    static func uniqueNames(_ names: [String], _ check: inout FuzzChecker) {
        check.require(Set(names).count == names.count, "duplicate names accepted: \(names)")
    }

    static func safetensors(
        _ tensors: [TensorData], input: UnsafeRawBufferPointer, storage: AnyObject, _ check: inout FuzzChecker
    ) {
        check.require(!tensors.isEmpty, "a file without tensors was accepted")
        uniqueNames(tensors.map(\.name), &check)
        check.require(!tensors.contains { $0.name == "__metadata__" }, "__metadata__ returned as a tensor")
        guard input.count >= 8 else { return check.require(false, "accepted a \(input.count)-byte file") }
        let headerLength = Int(UInt64(littleEndian: input.loadUnaligned(as: UInt64.self)))
        check.require(headerLength <= input.count - 8, "header length \(headerLength) exceeds the file")
        guard headerLength <= input.count - 8 else { return }
        let data = UnsafeRawBufferPointer(rebasing: input[(8 + headerLength)...])
        var ranges: [(Int, Int, String)] = []
        for t in tensors {
            tensor(t, &check)
            check.require(t.storage === storage, "'\(t.name)': not owned by the input")
            check.require(t.byteOrder == .little && !t.fortranOrder, "'\(t.name)': safetensors is little-endian C order")
            check.require(lies(t.bytes, within: data), "'\(t.name)': bytes outside the data area after the header")
            let start = address(t.bytes.baseAddress) - address(data.baseAddress)
            ranges.append((start, start + t.bytes.count, t.name))
        }
        ranges.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        for (a, b) in zip(ranges, ranges.dropFirst()) {
            check.require(b.0 >= a.1, "tensors '\(a.2)' and '\(b.2)' overlap")
        }
        check.require(
            (ranges.map(\.1).max() ?? 0) == data.count, "the data area has bytes after the last tensor (or ends early)")
    }

    static func npy(
        _ t: TensorData, name: String, input: UnsafeRawBufferPointer, storage: AnyObject, _ check: inout FuzzChecker
    ) {
        tensor(t, &check)
        check.require(t.name == name, "tensor named '\(t.name)', not '\(name)'")
        check.require(t.storage === storage, "not owned by the input")
        check.require(lies(t.bytes, within: input), "bytes outside the input")
        check.require(
            address(t.bytes.baseAddress) + t.bytes.count == address(input.baseAddress) + input.count,
            "the data does not end where the file ends")
        check.require(input.count >= 10 && input.prefix(6).elementsEqual(NpyParser.magic), "accepted without the npy magic")
    }

    static func npz(
        _ tensors: [TensorData], input: UnsafeRawBufferPointer, storage: AnyObject, _ check: inout FuzzChecker
    ) {
        check.require(!tensors.isEmpty, "an archive without tensors was accepted")
        uniqueNames(tensors.map(\.name), &check)
        if let members = try? NpzArchive.centralDirectory(of: input, file: FuzzHarness.fileName) {
            check.require(members.count == tensors.count, "\(tensors.count) tensors from \(members.count) members")
            check.require(
                zip(members, tensors).allSatisfy { $0.tensorName == $1.name }, "tensor names differ from the member names")
        } else {
            check.require(false, "the central directory no longer parses")
        }
        for t in tensors {
            tensor(t, &check)
            check.require(!t.name.isEmpty, "a tensor with an empty name")
            if let owned = t.storage as? OwnedBytes {
                check.require(lies(t.bytes, within: owned.bytes), "'\(t.name)': bytes outside its inflated buffer")
            } else {
                check.require(t.storage === storage, "'\(t.name)': owned by neither the input nor an inflated buffer")
                check.require(lies(t.bytes, within: input), "'\(t.name)': stored member bytes outside the input")
            }
        }
    }

    /// A frame of the stdin stream: its bytes are exactly the next `byteCount` bytes of the input, and
    /// the file parser accepts that slice as a safetensors file with the same tensors.
    static func frame(_ batch: Batch, index: Int, offset: Int, input: UnsafeRawBufferPointer, _ check: inout FuzzChecker) {
        check.require(batch.source == "stdin#\(index)", "frame \(index) named '\(batch.source)'")
        check.require(batch.byteCount > 8 && offset + batch.byteCount <= input.count, "frame \(index) larger than the input left")
        guard batch.byteCount > 8, offset + batch.byteCount <= input.count else { return }
        let slice = UnsafeRawBufferPointer(rebasing: input[offset..<(offset + batch.byteCount)])
        check.require(
            batch.contentHash == ContentHasher.hash(slice, .current), "frame \(index): hash differs from the input bytes'")
        var frameStorage: OwnedBytes?
        for t in batch.tensors {
            tensor(t, &check)
            guard let owned = t.storage as? OwnedBytes else {
                return check.require(false, "'\(t.name)': frame tensor not in an OwnedBytes")
            }
            if frameStorage == nil { frameStorage = owned }
            check.require(owned === frameStorage, "the tensors of one frame have different storage")
            check.require(lies(t.bytes, within: owned.bytes), "'\(t.name)': bytes outside the frame buffer")
        }
        let fileStorage = FuzzInputStorage()
        do {
            let file = try SafetensorsParser.tensors(in: slice, storage: fileStorage, file: FuzzHarness.fileName)
            check.require(
                file.count == batch.tensors.count, "frame \(index): \(batch.tensors.count) tensors, the file parser \(file.count)"
            )
            for (a, b) in zip(batch.tensors, file) {
                check.require(
                    a.name == b.name && a.dtype == b.dtype && a.shape == b.shape && a.bytes.elementsEqual(b.bytes),
                    "frame \(index): tensor '\(a.name)' differs from the file parser's '\(b.name)'")
            }
        } catch {
            check.require(false, "frame \(index) accepted by the stream but rejected as a file: \(error)")
        }
    }

    // MARK: Tables

    /// Checks shared by every imported table.
    static func table(_ table: EncodingTable, _ check: inout FuzzChecker) {
        uniqueNames(table.entries.map(\.name), &check)
        // EncodingTable.validated: importers return no empty table, no unnamed entry, only positive finite
        // scales and finite ranges, and no negative channel axis.
        check.note(!table.entries.isEmpty, "empty-table", "the parser accepted a file with no entries")
        for entry in table.entries {
            let e = entry.encoding, n = e.scale.count, name = entry.name
            check.note(!name.isEmpty, "empty-name", "an entry with an empty name")
            check.require(n >= 1, "'\(name)': no channel")
            check.require(
                e.offset.count == n && e.min.count == n && e.max.count == n,
                "'\(name)': \(n) scales, \(e.offset.count) offsets, \(e.min.count) mins, \(e.max.count) maxes")
            check.require(n == 1 || e.channelAxis != nil, "'\(name)': \(n) channels without a channel axis")
            check.note(
                e.channelAxis.map { $0 >= 0 } ?? true, "negative-channel-axis", "'\(name)': channel axis \(e.channelAxis!)")
            check.require((1...32).contains(e.scheme.bitwidth), "'\(name)': bitwidth \(e.scheme.bitwidth)")
            let (qmin, qmax) = e.scheme.quantRange
            check.require(qmin < qmax, "'\(name)': empty grid \(qmin)...\(qmax)")
            for c in 0..<min(n, e.offset.count, e.min.count, e.max.count) {
                check.require(e.scale[c] >= 0 && !e.scale[c].isNaN, "'\(name)': scale \(e.scale[c]) (channel \(c))")
                check.note(e.scale[c].isFinite, "infinite-scale", "'\(name)': scale \(e.scale[c]) (channel \(c))")
                check.note(e.scale[c] > 0, "zero-scale", "'\(name)': scale \(e.scale[c]) (channel \(c))")
                check.note(
                    !e.min[c].isNaN && !e.max[c].isNaN, "nan-range",
                    "'\(name)': representable range \(e.min[c]) ... \(e.max[c]) (scale \(e.scale[c]), channel \(c))")
                check.require(!(e.min[c] > e.max[c]), "'\(name)': min \(e.min[c]) > max \(e.max[c]) (channel \(c))")
                check.note(
                    e.min[c].isFinite && e.max[c].isFinite, "infinite-range",
                    "'\(name)': representable range \(e.min[c]) ... \(e.max[c]) (scale \(e.scale[c]), channel \(c))")
            }
            for observed in [entry.observedMin, entry.observedMax] {
                guard let observed else { continue }
                check.require(observed.count == n, "'\(name)': \(observed.count) observed values, \(n) channels")
                check.note(
                    observed.allSatisfy(\.isFinite), "infinite-observed-range", "'\(name)': observed range values \(observed)")
            }
        }
    }

    static func aimet(_ table: EncodingTable, _ check: inout FuzzChecker) {
        for entry in table.entries {
            let e = entry.encoding
            check.require(e.scheme.convention == .aimet && !e.scheme.reduceRange, "'\(entry.name)': scheme \(e.scheme)")
            check.require(entry.observedMin == nil && entry.observedMax == nil, "'\(entry.name)': AIMET files carry no ranges")
            let (qmin, qmax) = e.scheme.quantRange
            for c in e.scale.indices where c < e.offset.count && c < e.min.count && c < e.max.count {
                check.require(e.offset[c].magnitude <= (1 << 41), "'\(entry.name)': offset \(e.offset[c])")
                check.require(
                    e.min[c] == e.scale[c] * Float(e.offset[c] + qmin) && e.max[c] == e.scale[c] * Float(e.offset[c] + qmax),
                    "'\(entry.name)': range not recomputed from scale and offset (channel \(c))")
            }
        }
        // Round trip: tables the 1.0.0 layout can hold (signedness follows symmetry) read back the same.
        guard table.entries.allSatisfy({ $0.encoding.scheme.signed == $0.encoding.scheme.symmetric }) else { return }
        let text = AimetEncodings.export(table, version: .v1_0_0)
        do {
            let back = try AimetEncodings.parse(Data(text.utf8))
            check.require(
                back.entries.map(\.name) == table.activations.map(\.name) + table.params.map(\.name),
                "1.0.0 round trip: names or order differ")
            let original = Dictionary(table.entries.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            for b in back.entries {
                guard let a = original[b.name] else { continue }
                let (x, y) = (a.encoding, b.encoding)
                check.require(
                    a.role == b.role && x.scheme == y.scheme && x.offset == y.offset
                        && x.scale.map(\.bitPattern) == y.scale.map(\.bitPattern)
                        && (x.channelCount == 1 || (x.channelAxis != nil) == (y.channelAxis != nil)),
                    "1.0.0 round trip changes '\(a.name)': \(x) -> \(y)")
            }
        } catch {
            check.require(false, "1.0.0 round trip: the export does not parse: \(error)")
        }
    }

    static func onnxruntime(_ table: EncodingTable, scheme: QuantScheme, _ check: inout FuzzChecker) {
        for entry in table.entries {
            check.require(entry.role == .activation, "'\(entry.name)': role \(entry.role)")
            check.require(entry.encoding.scheme == scheme, "'\(entry.name)': scheme \(entry.encoding.scheme), asked \(scheme)")
            check.require(entry.observedMin != nil && entry.observedMax != nil, "'\(entry.name)': no observed range")
            let n = entry.encoding.channelCount
            check.require(
                entry.encoding.channelAxis == (n > 1 ? 1 : nil),
                "'\(entry.name)': channel axis \(String(describing: entry.encoding.channelAxis))")
        }
    }

    /// calibration.flatbuffers and calibration.cache: one value, imported as the range -|v| ... |v|.
    static func onnxruntimeValues(_ table: EncodingTable, _ check: inout FuzzChecker) {
        for entry in table.entries {
            guard let lo = entry.observedMin, let hi = entry.observedMax, lo.count == 1, hi.count == 1 else {
                check.require(false, "'\(entry.name)': not one observed value")
                continue
            }
            check.require(hi[0] >= 0 || hi[0].isNaN, "'\(entry.name)': highest \(hi[0]) is negative")
            check.require(
                (-lo[0]).bitPattern == hi[0].bitPattern, "'\(entry.name)': range \(lo[0]) ... \(hi[0]) is not symmetric")
        }
    }

    /// A per-tensor table with finite ranges comes back unchanged from calibration.json.
    static func onnxruntimeJSONRoundTrip(_ table: EncodingTable, scheme: QuantScheme, _ check: inout FuzzChecker) {
        let exact = table.entries.filter {
            $0.encoding.channelCount == 1 && ($0.observedMin! + $0.observedMax!).allSatisfy(\.isFinite)
        }
        guard !exact.isEmpty else { return }  // an empty table is no file to read back
        let text = OnnxRuntimeCalibration.calibrationJSON(EncodingTable(entries: exact))
        do {
            let back = try OnnxRuntimeCalibration.parseCalibrationJSON(Data(text.utf8), derive: Derivation.encoder(scheme))
            check.require(back.entries.map(\.name) == exact.map(\.name), "calibration.json round trip: names differ")
            for (a, b) in zip(exact, back.entries) {
                check.require(
                    a.observedMin!.map(\.bitPattern) == b.observedMin?.map(\.bitPattern)
                        && a.observedMax!.map(\.bitPattern) == b.observedMax?.map(\.bitPattern)
                        && FuzzInvariants.sameBits(a.encoding, b.encoding),
                    "calibration.json round trip changes '\(a.name)'")
            }
        } catch {
            check.require(false, "calibration.json round trip: the export does not parse: \(error)")
        }
    }

    /// Finite values come back unchanged through the same format (`str(float)` and flatbuffers strings).
    static func onnxruntimeValuesRoundTrip(
        _ table: EncodingTable, scheme: QuantScheme, flatbuffers: Bool, _ check: inout FuzzChecker
    ) {
        let exact = table.entries.filter { $0.observedMax!.allSatisfy(\.isFinite) }
        guard !exact.isEmpty else { return }
        let subset = EncodingTable(entries: exact)
        do {
            let derive = Derivation.encoder(scheme)
            let back: EncodingTable
            if flatbuffers {
                back = try OnnxRuntimeCalibration.parseFlatbuffers(OnnxRuntimeCalibration.flatbuffers(subset), derive: derive)
            } else {
                back = try OnnxRuntimeCalibration.parseCache(Data(OnnxRuntimeCalibration.cache(subset).utf8), derive: derive)
            }
            let original = Dictionary(exact.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            check.require(back.entries.count == exact.count, "round trip: \(exact.count) entries became \(back.entries.count)")
            for b in back.entries {
                guard let a = original[b.name] else {
                    check.require(false, "round trip: unknown name '\(b.name)'")
                    continue
                }
                // -0.0 is written as "-0.0" and read back as |-0.0| = 0.0: compare values, not bits.
                check.require(
                    a.observedMax! == b.observedMax! && a.observedMin! == b.observedMin!,
                    "round trip changes '\(a.name)': \(a.observedMax!) -> \(b.observedMax ?? [])")
            }
        } catch {
            check.require(false, "round trip: the export does not parse: \(error)")
        }
    }

    static func tensorrt(_ table: EncodingTable, data: Data, _ check: inout FuzzChecker) {
        // Lines by bytes (LF, an optional CR before it), blank ones (spaces and tabs) left out.
        let lines = data.split(separator: 0x0A, omittingEmptySubsequences: false).map { $0.last == 0x0D ? $0.dropLast() : $0 }
            .filter { !$0.allSatisfy { $0 == 0x20 || $0 == 0x09 } }
        check.note(
            table.entries.count == lines.count - 1, "tensorrt-line-count",
            "\(table.entries.count) entries from \(lines.count - 1) non-blank body lines")
        for entry in table.entries {
            let e = entry.encoding
            check.require(
                e.scheme == QuantScheme(convention: .tensorrt, bitwidth: 8, symmetric: true, signed: true),
                "'\(entry.name)': scheme \(e.scheme)")
            check.require(
                e.offset == [0] && e.scale.count == 1 && e.channelAxis == nil, "'\(entry.name)': not one per-tensor value")
            check.require(e.scale.allSatisfy { $0.isFinite && $0 >= 0 }, "'\(entry.name)': scale \(e.scale)")
            guard let lo = entry.observedMin, let hi = entry.observedMax, let scale = e.scale.first else {
                check.require(false, "'\(entry.name)': no observed range")
                continue
            }
            check.require(
                hi == [scale * 127] && lo == [-(scale * 127)], "'\(entry.name)': range \(lo) ... \(hi) for scale \(scale)")
            check.note(hi[0].isFinite, "infinite-observed-range", "'\(entry.name)': scale \(scale) gives amax \(hi[0])")
        }
        // Export after import: the same hex for every tensor (TensorRT reads scale * 127 back), and
        // exporting what was read back gives the same file.
        let exported = TensorRTCache.export(table)
        do {
            let back = try TensorRTCache.parse(Data(exported.utf8))
            check.require(back.entries.map(\.name) == table.entries.map(\.name), "export round trip: names differ")
            for (a, b) in zip(table.entries, back.entries) where a.observedMax!.allSatisfy(\.isFinite) {
                check.note(
                    a.encoding.scale[0].bitPattern == b.encoding.scale[0].bitPattern, "tensorrt-roundtrip-scale",
                    "'\(a.name)': scale \(TensorRTCache.hex(a.encoding.scale[0])) re-exported as \(TensorRTCache.hex(b.encoding.scale[0]))"
                )
            }
            check.require(TensorRTCache.export(back) == exported, "export round trip: the second export differs from the first")
        } catch {
            check.require(false, "export round trip: the export does not parse: \(error)")
        }
    }

    static func config(_ config: CalibrationConfig, data: Data, _ check: inout FuzzChecker) {
        // Every member of the (inner) object is one rule, in file order.
        if case .object(var members)? = try? JSONValue.parse(data) {
            if members.count == 1, members[0].0 == "tensors", case .object(let inner) = members[0].1 { members = inner }
            check.require(
                config.rules.map(\.glob) == members.map(\.0), "rules \(config.rules.map(\.glob)), members \(members.map(\.0))")
        } else {
            check.require(false, "the config was accepted but is not a JSON object")
        }
        for role in TensorRole.allCases {
            let base = TensorSettings.defaults(for: role)
            for rule in config.rules {
                let o = rule.settings
                let s = o.applied(to: base)
                let name = "'\(rule.glob)' on \(role) defaults"
                check.require(s.role == (o.role ?? base.role), "\(name): role")
                check.require(s.observer.kind == (o.observer ?? base.observer.kind), "\(name): observer")
                check.require(
                    s.observer.averagingConstant.bitPattern
                        == (o.averagingConstant ?? base.observer.averagingConstant).bitPattern,
                    "\(name): averaging constant")
                switch o.granularity {
                case .perTensor?: check.require(s.observer.channelAxis == nil, "\(name): per-tensor")
                case .axis(let a)?: check.require(s.observer.channelAxis == a, "\(name): channel axis")
                case nil: check.require(s.observer.channelAxis == base.observer.channelAxis, "\(name): channel axis kept")
                }
                check.require(s.scheme.convention == (o.convention ?? base.scheme.convention), "\(name): convention")
                let trt = o.convention == .tensorrt
                check.require(s.scheme.bitwidth == (o.bitwidth ?? (trt ? 8 : base.scheme.bitwidth)), "\(name): bitwidth")
                let symmetric = o.symmetric ?? (trt ? true : base.scheme.symmetric)
                check.require(s.scheme.symmetric == symmetric, "\(name): symmetric")
                let signed = o.signed ?? (o.symmetric ?? (trt ? true : base.scheme.signed))
                check.require(s.scheme.signed == signed, "\(name): signed")
                check.require(s.scheme.reduceRange == (o.reduceRange ?? base.scheme.reduceRange), "\(name): reduce_range")
                // parse refuses what a rule says that no run could accept: a rule naming a convention
                // is valid on that convention's own defaults, and every bitwidth and averaging constant
                // is one some run accepts.
                if let convention = o.convention {
                    let trt = convention == .tensorrt
                    let own = o.appliedScheme(to: QuantScheme(convention: convention, symmetric: trt, signed: trt))
                    check.note(
                        (try? own.validate()) != nil, "config-invalid-scheme",
                        "'\(rule.glob)': \(own) passes CalibrationConfig.parse")
                }
                if let b = o.bitwidth {
                    check.note((2...16).contains(b) || b == 32, "config-invalid-scheme", "'\(rule.glob)': bitwidth \(b)")
                }
                if let c = o.averagingConstant {
                    check.note(c > 0 && c <= 1, "config-invalid-averaging-constant", "'\(rule.glob)': averaging_constant \(c)")
                }
            }
            // A pattern without wildcards matches itself. fnmatch sees bytes: look for them in UTF-8, not in
            // Characters (a backslash followed by a combining mark is one Character, but still an escape).
            for rule in config.rules where !rule.glob.utf8.contains(where: { [0x2A, 0x3F, 0x5B, 0x5C].contains($0) }) {
                check.require(Glob.matches(rule.glob, rule.glob), "'\(rule.glob)' does not match itself")
            }
        }
    }

    /// Equal down to the bits (NaN equals NaN), unlike `==`.
    static func sameBits(_ a: Encoding, _ b: Encoding) -> Bool {
        a.scheme == b.scheme && a.channelAxis == b.channelAxis && a.offset == b.offset
            && a.scale.map(\.bitPattern) == b.scale.map(\.bitPattern) && a.min.map(\.bitPattern) == b.min.map(\.bitPattern)
            && a.max.map(\.bitPattern) == b.max.map(\.bitPattern)
    }

    /// A document parsed by `JSONValue.parse` reads back equal from its own `json.dumps` rendering.
    static func jsonRoundTrip(_ data: Data, allowNonFinite: Bool, _ check: inout FuzzChecker) {
        guard let value = try? JSONValue.parse(data, allowNonFinite: allowNonFinite) else {
            return check.require(false, "the document was accepted but JSONValue.parse now rejects it")
        }
        for indent in [nil, 2] as [Int?] {
            let text = value.pythonJSON(indent: indent)
            do {
                let back = try JSONValue.parse(Data(text.utf8), allowNonFinite: true)
                check.require(
                    back.pythonJSON(indent: indent) == text,
                    "JSON round trip (indent \(String(describing: indent))) changes the document")
            } catch {
                check.require(false, "JSON round trip: the rendering does not parse: \(error)")
            }
        }
    }
}

#if FUZZ_BUILD

// MARK: - libFuzzer entry (fuzz/targets/*.swift call this)

extension FuzzHarness {
    /// Kinds of finding already saved by this process: one input per kind is enough.
    nonisolated(unsafe) static var savedFindings: Set<String> = []
    /// Where findings are saved (fuzz/run.sh sets it to fuzz/build/findings/<target>); nil: not saved.
    static let findingsDirectory: String? = ProcessInfo.processInfo.environment["FUZZ_FINDINGS_DIR"]

    /// One libFuzzer execution: traps on a broken invariant (so libFuzzer saves the input as a crash),
    /// and saves the first input of each kind of known-issue finding.
    static func fuzzOne(_ target: FuzzTarget, _ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
        let input = UnsafeRawBufferPointer(start: data, count: size)
        let result = run(target, input)
        if !result.violations.isEmpty {
            let message = "\(target.rawValue): invariant violated: " + result.violations.prefix(5).joined(separator: "; ")
            FileHandle.standardError.write(Data((message + "\n").utf8))
            preconditionFailure(message)
        }
        for finding in result.findings {
            let kind = String(finding.prefix { $0 != ":" })
            guard savedFindings.insert(kind).inserted else { continue }
            FileHandle.standardError.write(Data("FINDING \(target.rawValue) \(finding)\n".utf8))
            if let dir = findingsDirectory {
                try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                _ = FileManager.default.createFile(atPath: "\(dir)/\(kind)", contents: Data(input))
                _ = FileManager.default.createFile(atPath: "\(dir)/\(kind).txt", contents: Data((finding + "\n").utf8))
            }
        }
        return 0
    }
}

#endif

#if !FUZZ_BUILD

// MARK: - Corpus replay

@Suite struct FuzzCorpusTests {
    static let corpusRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fuzz/corpus")

    static func files(_ target: FuzzTarget) -> [URL] {
        let dir = corpusRoot.appendingPathComponent(target.rawValue)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { dir.appendingPathComponent($0) }
    }

    @Test(arguments: FuzzTarget.allCases)
    func corpusReplays(target: FuzzTarget) throws {
        let files = Self.files(target)
        #expect(!files.isEmpty, "fuzz/corpus/\(target.rawValue) is empty or missing")
        var accepted = 0, rejected = 0
        for url in files {
            let data = try Data(contentsOf: url)
            let result = data.withUnsafeBytes { FuzzHarness.run(target, $0) }
            #expect(result.violations.isEmpty, "\(target.rawValue)/\(url.lastPathComponent): \(result.violations)")
            if result.accepted { accepted += 1 } else { rejected += 1 }
            if [.safetensors, .npy, .npz].contains(target) {
                // The same file through the memory mapping a real run uses: the same verdict.
                #expect(
                    try mapped(target, url.path) == result.accepted,
                    "\(target.rawValue)/\(url.lastPathComponent): mapped file verdict differs")
            }
        }
        #expect(accepted > 0, "no input of fuzz/corpus/\(target.rawValue) is accepted")
        #expect(rejected > 0, "no input of fuzz/corpus/\(target.rawValue) is rejected")
    }

    /// Parses the file through `MappedFile`, as `BatchReader` does: true when accepted, false for an
    /// `InputError`, and any other error fails the test.
    func mapped(_ target: FuzzTarget, _ path: String) throws -> Bool {
        do {
            let file = try MappedFile(path: path)
            switch target {
            case .safetensors: _ = try SafetensorsParser.tensors(in: file.bytes, storage: file, file: path)
            case .npy: _ = try NpyParser.tensor(in: file.bytes, name: "t", storage: file, file: path, tensor: nil)
            default: _ = try NpzArchive.tensors(in: file.bytes, storage: file, file: path)
            }
            return true
        } catch is InputError {
            return false
        }
    }

    /// The inputs saved in fuzz/crashes/<target>/ (described in fuzz/crashes/README.md) replay with no
    /// broken invariant: the issues they showed are either fixed (they are rejected now) or listed in
    /// `FuzzChecker.knownIssues`. `oom-*` inputs (libFuzzer's name for an input that exhausts memory)
    /// are left out, should one be saved with that name.
    @Test func savedCrashInputsReplay() throws {
        let crashes = Self.corpusRoot.deletingLastPathComponent().appendingPathComponent("crashes")
        for target in FuzzTarget.allCases {
            let dir = crashes.appendingPathComponent(target.rawValue)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            for name in names.sorted() where !name.hasPrefix(".") && !name.hasPrefix("oom-") && !name.hasSuffix(".md") {
                let data = try Data(contentsOf: dir.appendingPathComponent(name))
                let result = data.withUnsafeBytes { FuzzHarness.run(target, $0) }
                #expect(result.violations.isEmpty, "crashes/\(target.rawValue)/\(name): \(result.violations)")
            }
        }
    }
}

#endif
