import CalibTestSupport
import Foundation
import Testing

@testable import CalibKit
@testable import CalibModel
@testable import CalibObservers
@testable import CalibReaders
@testable import CalibSupport

#if canImport(Glibc)
import Glibc
#endif

/// The tensor file readers: values decoded from files numpy wrote (Fixtures/readers, made by
/// make_fixtures.py, with the expected values in expected.json), batch expansion and identity,
/// standard-input frames, and every rejection with the file and tensor it must name.
@Suite struct ReaderTests {
    // MARK: - Decoding the fixtures

    @Test func safetensorsDecodesEveryDtypeInHeaderOrder() throws {
        let batch = try only(Reader.fixture("safetensors/mixed.safetensors"))
        try Expected.check(batch, against: "safetensors/mixed.safetensors")
        #expect(batch.tensors.map(\.name) == ["layer.f32", "layer.f16", "layer.bf16", "layer.f64", "layer.i32"])
        #expect(batch.tensors.map(\.dtype) == [.float32, .float16, .bfloat16, .float64, .int32])
        #expect(batch.tensors[2].floatValues() == [1.5, -2.25, 0.15625, 300])
    }

    @Test func safetensorsTensorsPointIntoTheMapping() throws {
        let batch = try only(Reader.fixture("safetensors/mixed.safetensors"))
        for tensor in batch.tensors {
            let file = try #require(tensor.storage as? MappedFile)
            let mapping = try #require(file.bytes.baseAddress)
            let start = try #require(tensor.bytes.baseAddress)
            #expect(start >= mapping && start + tensor.bytes.count <= mapping + file.bytes.count)
        }
    }

    @Test(arguments: ["v1", "v2", "v3", "be_f4", "be_f8", "fortran", "f2", "i4", "u1", "i8", "b1", "scalar"])
    func npyFileDecodes(name: String) throws {
        let batch = try only(Reader.fixture("npy/\(name).npy"))
        try Expected.check(batch, against: "npy/\(name).npy")
        #expect(batch.tensors[0].storage is MappedFile)
    }

    @Test func npyDetailsAreKept() throws {
        let fortran = try only(Reader.fixture("npy/fortran.npy")).tensors[0]
        #expect(fortran.fortranOrder && fortran.shape == [2, 3, 4] && fortran.memoryShape == [4, 3, 2])
        // Logical C order element [1][2][3] is 23 * 0.5; in Fortran memory it sits at 1 + 2*2 + 3*6.
        #expect(fortran.floatValues()[23] == 11.5)
        let bigEndian = try only(Reader.fixture("npy/be_f8.npy")).tensors[0]
        #expect(bigEndian.byteOrder == .big && bigEndian.dtype == .float64)
        let scalar = try only(Reader.fixture("npy/scalar.npy")).tensors[0]
        #expect(scalar.shape == [] && scalar.elementCount == 1 && scalar.floatValues() == [3.25])
        let bytes = try only(Reader.fixture("npy/u1.npy")).tensors[0]
        #expect(bytes.dtype == .uint8 && bytes.byteOrder == .little)
    }

    /// Batch identity under both algorithms, against hashlib and the xxhash package (expected.json):
    /// sessions from before schema 3 keep SHA-256, new ones use XXH3-128.
    @Test(arguments: ["safetensors/mixed.safetensors", "npy/v1.npy", "npy", "npz/deflated.npz"])
    func contentHashesMatchTheReferenceImplementations(source: String) throws {
        let entry = Expected.entry(source)
        let path = Fixtures.path("readers/\(source)")
        #expect(try only(Reader.read([path])).contentHash == entry["xxh3_128"] as? String)
        #expect(try only(Reader.read([path], hash: .sha256)).contentHash == entry["sha256"] as? String)
        #expect(ContentHashAlgorithm.current == .xxh3_128)
        // The empty input: XXH3-128's published value (xxhsum -H2 /dev/null).
        #expect(ContentHasher.hash(UnsafeRawBufferPointer(start: nil, count: 0), .xxh3_128) == "99aa06d3014798d86001c324468d497f")
    }

    /// The one-pass read: a pending batch hashed piece by piece gives the same identity as
    /// `next(hash:)` (`xxh128sum FILE`), and visits every piece end in order; batches hashed as they
    /// are read (npz, npy directories) are visited once, with nil.
    @Test(arguments: ["safetensors/mixed.safetensors", "npy/v1.npy", "npy", "npz/deflated.npz"])
    func pendingBatchesHashAsTheReferenceImplementations(source: String) throws {
        let entry = Expected.entry(source)
        let path = Fixtures.path("readers/\(source)")
        for piece in [1, 5, 64, 1 << 20] {
            let reader = try BatchReader(inputs: [path])
            let pending = try #require(try reader.nextPending())
            var ends: [UnsafeRawPointer?] = []
            let batch = try pending.hash(pieceBytes: piece) { ends.append($0) }
            #expect(batch.contentHash == entry["xxh3_128"] as? String, "\(source) in pieces of \(piece)")
            #expect(batch.tensors.map(\.name) == pending.tensors.map(\.name))
            #expect(try reader.nextPending() == nil)
            if let file = batch.tensors.first?.storage as? MappedFile,
                source.hasSuffix(".safetensors") || source.hasSuffix(".npy")
            {
                let base = try #require(file.bytes.baseAddress)
                let want = stride(from: piece, through: file.bytes.count + piece - 1, by: piece).map {
                    base + min($0, file.bytes.count)
                }
                #expect(ends == want.map { Optional($0) })
            } else {
                #expect(ends.count == 1 && ends[0] == nil)
            }
        }
    }

    @Test func npyDirectoryIsOneBatchInNameOrder() throws {
        let batch = try only(Reader.fixture("npy"))
        #expect(batch.source == Fixtures.path("readers/npy"))
        try Expected.check(batch, against: "npy")
        #expect(batch.tensors.map(\.name) == Expected.entry("npy")["order"] as? [String])
    }

    @Test(arguments: ["npz/stored.npz", "npz/deflated.npz"])
    func npzDecodes(path: String) throws {
        let batch = try only(Reader.fixture(path))
        try Expected.check(batch, against: path)
        #expect(batch.tensors.map(\.name) == ["weights", "counts", "half", "zeros"])
        for tensor in batch.tensors {
            if path.contains("stored") {
                #expect(tensor.storage is MappedFile, "stored members are read in place")
            } else {
                #expect(tensor.storage is OwnedBytes, "deflated members are inflated")
            }
        }
    }

    @Test func directoryExpandsInByteOrderSkippingHiddenAndOtherFiles() throws {
        let batches = try Reader.fixture("tree")
        let order = try #require(Expected.entry("tree")["order"] as? [String])
        #expect(batches.map(\.source) == order.map { Fixtures.path("readers/\($0)") })
        #expect(batches.map { $0.tensors.map(\.name) } == [["t"], ["x", "y"], ["m"], ["e"], ["t"]])
        #expect(batches.map { $0.tensors.flatMap { $0.floatValues() } } == [[1, 2], [1, 2, 2, 4], [3, 6], [4, 8], [5, 10]])
    }

    @Test func symbolicLinksBackUpTheTreeAreNotFollowed() throws {
        let dir = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.path("root/sub"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: Fixtures.path("readers/tree/a.safetensors"), toPath: dir.path("root/sub/a.safetensors"))
        try FileManager.default.createSymbolicLink(atPath: dir.path("root/sub/up"), withDestinationPath: "..")
        try FileManager.default.createSymbolicLink(atPath: dir.path("root/self"), withDestinationPath: ".")
        let batches = try Reader.read([dir.path("root")])
        #expect(batches.map(\.source) == [dir.path("root/sub/a.safetensors")])
    }

    @Test func inputsAreReadInTheGivenOrder() throws {
        let batches = try Reader.read([
            Fixtures.path("readers/npy/i4.npy"), Fixtures.path("readers/tree/b"), Fixtures.path("readers/npy/f2.npy"),
        ])
        #expect(batches.map { $0.tensors.map(\.name) } == [["i4"], ["x", "y"], ["f2"]])
    }

    @Test func filesAreReadOnlyWhenTheirTurnComes() throws {
        let dir = TemporaryDirectory()
        for name in ["1.npy", "2.npy", "3.npy"] {
            try FileManager.default.copyItem(atPath: Fixtures.path("readers/npy/i4.npy"), toPath: dir.path(name))
        }
        let reader = try BatchReader(inputs: [dir.path("1.npy"), dir.path("2.npy"), dir.path("3.npy")])
        // Corrupting the second file after listing is seen only when it is reached, and the
        // reader then moves on to the third.
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: dir.path("2.npy")))
        #expect(try reader.next()?.tensors[0].floatValues() == [-7, 0, 123456, -2147483648])
        let error = try #require(inputError { _ = try reader.next() })
        #expect(error.file == dir.path("2.npy"))
        #expect(try reader.next()?.source == dir.path("3.npy"))
        #expect(try reader.next() == nil)
    }

    @Test func identicalBytesHaveIdenticalHashes() throws {
        let dir = TemporaryDirectory()
        try FileManager.default.copyItem(atPath: Fixtures.path("readers/npz/stored.npz"), toPath: dir.path("copy.npz"))
        let batches = try Reader.read([Fixtures.path("readers/npz/stored.npz"), dir.path("copy.npz")])
        #expect(batches[0].contentHash == batches[1].contentHash)
        #expect(batches[0].source != batches[1].source)
    }

    // MARK: - Standard input frames

    @Test func stdinReadsConcatenatedFrames() throws {
        let first = Safetensors.file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: floats([1.5, -2]))
        let second = Safetensors.file(
            #"{"__metadata__":{"k":"v"},"b":{"dtype":"I32","shape":[1],"data_offsets":[0,4]},"c":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
            data: [7, 0, 0, 0] + floats([0.25]))
        let batches = try Reader.stdin(first + second)
        #expect(batches.map(\.source) == ["stdin#0", "stdin#1"])
        #expect(batches.map(\.byteCount) == [first.count, second.count])
        #expect(batches.map(\.contentHash) == [xxh3(first), xxh3(second)])
        #expect(batches[0].tensors[0].floatValues() == [1.5, -2])
        #expect(batches[1].tensors.map(\.name) == ["b", "c"])
        #expect(batches[1].tensors.map { $0.floatValues() } == [[7], [0.25]])
        #expect(batches[1].tensors[0].storage is OwnedBytes)
    }

    @Test func stdinMatchesTheFileHash() throws {
        let bytes = try [UInt8](Data(contentsOf: Fixtures.url("readers/safetensors/mixed.safetensors")))
        let fromStdin = try only(Reader.stdin(bytes))
        let fromFile = try only(Reader.fixture("safetensors/mixed.safetensors"))
        #expect(fromStdin.contentHash == fromFile.contentHash)
        #expect(fromStdin.tensors.map { $0.floatValues() } == fromFile.tensors.map { $0.floatValues() })
    }

    @Test func emptyStdinHasNoBatches() throws {
        #expect(try Reader.stdin([]).isEmpty)
    }

    @Test(arguments: [3, 8, 20, 75])
    func stdinCutMidFrameNamesTheFrame(keep: Int) throws {
        let frame = Safetensors.file(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: floats([1, 2, 3, 4]))
        #expect(frame.count == 8 + 55 + 16)
        let error = try #require(inputError { _ = try Reader.stdin(frame + frame.prefix(keep)) })
        #expect(error.file == "stdin#1")
        #expect(error.reason.hasPrefix("stream ends mid-frame"))
    }

    @Test func stdinRefusesAFrameLargerThanMemory() throws {
        let huge = Safetensors.file(#"{"a":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,4398046511104]}}"#, data: [])
        let error = try #require(inputError { _ = try Reader.stdin(huge) })
        #expect(error.file == "stdin#0")
        #expect(error.reason.hasPrefix("frame of 4398046511190 bytes is larger than this machine's memory"))
    }

    /// The header buffer grows as bytes arrive too: 8 bytes declaring a 100 MB header cost one chunk.
    @Test func stdinHeaderLengthWithoutAHeaderEndsMidFrame() throws {
        let prefix = withUnsafeBytes(of: UInt64(100_000_000).littleEndian) { [UInt8]($0) }
        let error = try #require(inputError { _ = try Reader.stdin(prefix + Array("{\"a\":".utf8)) })
        #expect(error.file == "stdin#0")
        #expect(error.reason == "stream ends mid-frame: 5 of the 100000000 header bytes arrived")
    }

    @Test func stdinRejectsABadFrame() throws {
        let bad = Safetensors.file(
            #"{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8))
        let error = try #require(inputError { _ = try Reader.stdin(bad) })
        #expect(error == InputError(file: "stdin#0", tensor: "a", error.reason))
        #expect(error.reason.hasPrefix("unknown dtype 'C64'"))
    }

    // MARK: - Inputs that are not batches

    @Test func missingPathsUnknownExtensionsAndEmptyDirectoriesAreRejected() throws {
        let dir = TemporaryDirectory()
        try Data("x".utf8).write(to: dir.url.appendingPathComponent("notes.txt"))
        try FileManager.default.createDirectory(atPath: dir.path("empty/sub"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir.path("other"), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: dir.url.appendingPathComponent("other/readme.md"))
        try Data("x".utf8).write(to: dir.url.appendingPathComponent("other/.hidden.npy"))

        let cases: [(String, String)] = [
            (dir.path("missing.npy"), "no such file or directory"),
            (dir.path("notes.txt"), "unknown input type"),
            (dir.path("empty"), "the directory holds no tensors"),
            (dir.path("other"), "the directory holds no tensors"),
        ]
        for (path, reason) in cases {
            let error = try #require(inputError { _ = try BatchReader(inputs: [Fixtures.path("readers/npy/v1.npy"), path]) })
            #expect(error.file == path)
            #expect(error.tensor == nil)
            #expect(error.reason.hasPrefix(reason), "\(error)")
        }
    }

    // MARK: - safetensors rejections

    @Test(arguments: SafetensorsCase.all)
    func safetensorsRejection(_ bad: SafetensorsCase) throws {
        let dir = TemporaryDirectory()
        let path = dir.path("bad.safetensors")
        try Data(bad.bytes).write(to: URL(fileURLWithPath: path))
        let error = try #require(inputError { _ = try Reader.read([path]) })
        #expect(error.file == path)
        #expect(error.tensor == bad.tensor)
        #expect(error.reason.contains(bad.reason), "\(error)")
    }

    struct SafetensorsCase: CustomTestStringConvertible, Sendable {
        let label: String
        let bytes: [UInt8]
        let tensor: String?
        let reason: String
        var testDescription: String { label }

        static let all: [SafetensorsCase] = {
            let f32x3 = floats([1, 2, 3])
            func header(_ json: String, _ data: [UInt8] = f32x3) -> [UInt8] { Safetensors.file(json, data: data) }
            let valid = header(#"{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}"#)
            return [
                .init(
                    label: "empty file", bytes: [], tensor: nil, reason: "file is 0 bytes, shorter than the 8-byte header length"),
                .init(label: "5 bytes", bytes: [1, 0, 0, 0, 0], tensor: nil, reason: "shorter than the 8-byte header length"),
                .init(
                    label: "truncated header", bytes: Array(valid.prefix(30)), tensor: nil,
                    reason: "header length 55 runs past the end of the file (22 bytes follow the length): truncated"),
                .init(
                    label: "absurd header length", bytes: le64(1 << 40) + Array("{}".utf8), tensor: nil,
                    reason: "header length 1099511627776 is absurd (over 100 MB)"),
                .init(label: "not UTF-8", bytes: le64(3) + [0x7B, 0xFF, 0x7D], tensor: nil, reason: "header is not valid UTF-8"),
                .init(label: "not JSON", bytes: header("{\"t\": nope}", []), tensor: nil, reason: "header is not valid JSON"),
                .init(label: "not an object", bytes: header("[1, 2]", []), tensor: nil, reason: "header is not a JSON object"),
                .init(
                    label: "entry not an object", bytes: header(#"{"t": 3}"#, []), tensor: "t",
                    reason: "entry is not a JSON object"),
                .init(
                    label: "missing dtype", bytes: header(#"{"t":{"shape":[3],"data_offsets":[0,12]}}"#), tensor: "t",
                    reason: "missing 'dtype'"),
                .init(
                    label: "missing shape", bytes: header(#"{"t":{"dtype":"F32","data_offsets":[0,12]}}"#), tensor: "t",
                    reason: "missing 'shape'"),
                .init(
                    label: "missing offsets", bytes: header(#"{"t":{"dtype":"F32","shape":[3]}}"#), tensor: "t",
                    reason: "missing 'data_offsets'"),
                .init(
                    label: "unknown dtype", bytes: header(#"{"t":{"dtype":"C64","shape":[3],"data_offsets":[0,12]}}"#),
                    tensor: "t",
                    reason: "unknown dtype 'C64' (supported: F16, BF16, F32, F64, I8, U8, I16, U16, I32, U32, I64, U64, BOOL)"),
                .init(
                    label: "dtype not a string", bytes: header(#"{"t":{"dtype":4,"shape":[3],"data_offsets":[0,12]}}"#),
                    tensor: "t",
                    reason: "'dtype' must be a string, got 4"),
                .init(
                    label: "fractional dim", bytes: header(#"{"t":{"dtype":"F32","shape":[1.5],"data_offsets":[0,12]}}"#),
                    tensor: "t",
                    reason: "'shape' must be an array of integers, got [1.5]"),
                .init(
                    label: "negative dim", bytes: header(#"{"t":{"dtype":"F32","shape":[-3],"data_offsets":[0,12]}}"#),
                    tensor: "t",
                    reason: "negative dimension -3 in shape [-3]"),
                .init(
                    label: "one offset", bytes: header(#"{"t":{"dtype":"F32","shape":[3],"data_offsets":[12]}}"#), tensor: "t",
                    reason: "'data_offsets' must be [begin, end]"),
                .init(
                    label: "begin after end", bytes: header(#"{"t":{"dtype":"F32","shape":[3],"data_offsets":[12,0]}}"#),
                    tensor: "t",
                    reason: "data_offsets [12, 0]: begin is after end"),
                .init(
                    label: "huge offsets",
                    bytes: header(#"{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,1180591620717411303424]}}"#),
                    tensor: "t", reason: "two non-negative 64-bit integers"),
                .init(
                    label: "shape overflow",
                    bytes: header(#"{"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,12]}}"#),
                    tensor: "t", reason: "is too large: its element count overflows"),
                .init(
                    label: "byte size overflow",
                    bytes: header(#"{"t":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,12]}}"#),
                    tensor: "t", reason: "is too large: its byte size overflows"),
                .init(
                    label: "offsets outside the data", bytes: header(#"{"t":{"dtype":"F32","shape":[3],"data_offsets":[4,16]}}"#),
                    tensor: "t", reason: "data_offsets [4, 16] lie outside the data area (12 bytes after the header)"),
                .init(
                    label: "size mismatch", bytes: header(#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,12]}}"#),
                    tensor: "t",
                    reason: "data_offsets [0, 12] hold 12 bytes but shape [2] of F32 needs 8"),
                .init(
                    label: "overlap",
                    bytes: header(
                        #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
                    ),
                    tensor: "b", reason: "data_offsets [4, 12] overlap tensor 'a' [0, 8]"),
                .init(
                    label: "duplicate name",
                    bytes: header(
                        #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
                    ),
                    tensor: "a", reason: "duplicate tensor name in the header"),
                .init(
                    label: "field twice",
                    bytes: header(#"{"t":{"dtype":"F32","shape":[3],"dtype":"F16","data_offsets":[0,12]}}"#), tensor: "t",
                    reason: "'dtype' appears 2 times in the entry"),
                .init(
                    label: "number beyond float32 in the header",
                    bytes: header(#"{"t":{"dtype":"F32","shape":[1e39],"data_offsets":[0,12]}}"#),
                    tensor: nil,
                    reason: "header is not valid JSON: line 1, column 30 (byte 29): number '1e39' is beyond the float32 range"),
                .init(
                    label: "empty tensor", bytes: header(#"{"t":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]}}"#, []),
                    tensor: "t",
                    reason: "empty tensor: shape [0, 3] has no elements"),
                .init(
                    label: "no tensors", bytes: header(#"{"__metadata__":{"a":"b"}}"#, []), tensor: nil,
                    reason: "the file contains no tensors"),
                .init(
                    label: "trailing bytes", bytes: valid + [0, 0], tensor: nil,
                    reason: "2 trailing bytes after the last tensor's data"),
            ]
        }()
    }

    @Test func safetensorsHeaderToleratesWhitespaceEscapesAndUnalignedData() throws {
        // Padded header (as writers align it), a \u escape in a name, and 1-byte-aligned F32 data.
        let json =
            #"{ "caf\u00e9" : { "data_offsets" : [1, 5], "shape" : [ ], "dtype" : "F32" }, "u" : {"dtype":"U8","shape":[1],"data_offsets":[0,1]} }   "#
        let batch = try only(Reader.stdin(Safetensors.file(json, data: [9] + floats([-0.5]))))
        #expect(batch.tensors.map(\.name) == ["café", "u"])
        #expect(batch.tensors.map { $0.floatValues() } == [[-0.5], [9]])
        #expect(batch.tensors[0].shape == [])
    }

    // MARK: - npy rejections and header tolerance

    @Test(arguments: NpyCase.all)
    func npyRejection(_ bad: NpyCase) throws {
        let dir = TemporaryDirectory()
        let path = dir.path("x.npy")
        try Data(bad.bytes).write(to: URL(fileURLWithPath: path))
        let error = try #require(inputError { _ = try Reader.read([path]) })
        #expect(error == InputError(file: path, tensor: bad.tensor, error.reason))
        #expect(error.reason.contains(bad.reason), "\(error)")
    }

    struct NpyCase: CustomTestStringConvertible, Sendable {
        let label: String
        let bytes: [UInt8]
        let reason: String
        /// Preamble errors are about the file; header and data errors name the tensor (the stem).
        var tensor: String? = "x"
        var testDescription: String { label }

        static let all: [NpyCase] = {
            func npy(_ descr: String, _ shape: String = "(2,)", data: [UInt8] = floats([1, 2])) -> [UInt8] {
                Npy.file("{'descr': \(descr), 'fortran_order': False, 'shape': \(shape), }", data: data)
            }
            return [
                .init(label: "empty file", bytes: [], reason: "not an npy file", tensor: nil),
                .init(
                    label: "not npy", bytes: Array("PK\u{3}\u{4} this is a zip, not an array".utf8), reason: "not an npy file",
                    tensor: nil),
                .init(
                    label: "version 4.0",
                    bytes: Npy.file(
                        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", version: 4, data: floats([1, 2])),
                    reason: "unsupported npy version 4.0 (supported: 1.0, 2.0, 3.0)", tensor: nil),
                .init(
                    label: "preamble cut", bytes: Array(npy("'<f4'").prefix(9)),
                    reason: "truncated: the file ends inside the npy preamble", tensor: nil),
                .init(
                    label: "header past end", bytes: Array(npy("'<f4'").prefix(40)),
                    reason: "header length 118 runs past the end of the file (30 bytes follow): truncated", tensor: nil),
                .init(
                    label: "complex64", bytes: npy("'<c8'", data: floats([1, 2, 3, 4])),
                    reason: "complex dtype '<c8' is not supported"),
                .init(
                    label: "complex128", bytes: npy("'<c16'", data: floats([1, 2, 3, 4, 5, 6, 7, 8])),
                    reason: "complex dtype '<c16' is not supported"),
                .init(label: "object", bytes: npy("'|O'"), reason: "object dtype '|O' is not supported"),
                .init(label: "unicode", bytes: npy("'<U2'"), reason: "string dtype '<U2' is not supported"),
                .init(label: "bytes", bytes: npy("'|S4'"), reason: "string dtype '|S4' is not supported"),
                .init(
                    label: "structured", bytes: npy("[('x', '<f4'), ('y', '<f4')]"),
                    reason: "structured dtype (descr is a list of fields) is not supported"),
                .init(label: "void", bytes: npy("'|V2'"), reason: "bfloat16 has no npy type"),
                .init(label: "float128", bytes: npy("'<f16'"), reason: "unsupported dtype '<f16'"),
                .init(
                    label: "truncated data", bytes: Array(npy("'<f4'", "(3,)").dropLast(4)),
                    reason: "truncated: shape (3,) of '<f4' needs 12 data bytes but only 4 follow the header"),
                .init(
                    label: "trailing bytes", bytes: npy("'<f4'", "(1,)"),
                    reason: "4 trailing bytes after the data of shape (1,) of '<f4'"),
                .init(
                    label: "empty array", bytes: npy("'<f4'", "(0, 2)", data: []),
                    reason: "empty tensor: shape (0, 2) has no elements"),
                .init(label: "negative dim", bytes: npy("'<f4'", "(-2,)"), reason: "negative dimension -2 in 'shape'"),
                .init(
                    label: "missing shape", bytes: Npy.file("{'descr': '<f4', 'fortran_order': False}", data: floats([1])),
                    reason: "header lacks 'shape'"),
                .init(
                    label: "not a dict", bytes: Npy.file("descr=<f4", data: floats([1])),
                    reason: "header is not a Python dict literal"),
                .init(
                    label: "bad fortran_order",
                    bytes: Npy.file("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", data: floats([1])),
                    reason: "'fortran_order' must be True or False"),
                .init(
                    label: "bad utf-8 in 3.0",
                    bytes: Npy.file(
                        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", version: 3, data: floats([1]),
                        corruptHeader: true),
                    reason: "npy 3.0 header is not valid UTF-8"),
            ]
        }()
    }

    @Test func npyHeaderToleratesSpacingQuotesKeyOrderAndTrailingCommas() throws {
        let headers = [
            "{'descr':'<f4','fortran_order':False,'shape':(2,)}",
            "{ \"shape\" : ( 2 , ) , \"descr\" : \"<f4\" , \"fortran_order\" : False , }",
            "{'fortran_order': False, 'shape': (2L,), 'descr': '=f4'}\n",
            "{'descr': '|f4', 'fortran_order': False, 'shape': (2,), 'extra': None, }",
        ]
        for (index, header) in headers.enumerated() {
            let dir = TemporaryDirectory()
            let path = dir.path("h\(index).npy")
            try Data(Npy.file(header, version: index % 2 == 0 ? 1 : 2, data: floats([0.5, -8]))).write(
                to: URL(fileURLWithPath: path))
            let tensor = try only(Reader.read([path])).tensors[0]
            #expect(tensor.name == "h\(index)" && tensor.shape == [2] && tensor.byteOrder == .little, "\(header)")
            #expect(tensor.floatValues() == [0.5, -8], "\(header)")
        }
    }

    @Test func npyInADirectoryBatchIsNamedByItsOwnPath() throws {
        let dir = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.path("batch"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Fixtures.path("readers/npy/i4.npy"), toPath: dir.path("batch/a.npy"))
        try Data(Npy.file("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", data: floats([1, 2])))
            .write(to: URL(fileURLWithPath: dir.path("batch/b.npy")))
        let error = try #require(inputError { _ = try Reader.read([dir.path("batch")]) })
        #expect(error.file == dir.path("batch/b.npy"))
        #expect(error.tensor == "b")
        #expect(error.reason.hasPrefix("complex dtype '<c8'"))
    }

    // MARK: - npz rejections

    @Test func npzCorruptedCRCNamesTheMember() throws {
        let error = try #require(
            inputError {
                try npzVariant("npz/stored.npz") { zip in zip.patchCentral(member: 1, at: 16, le32(0xDEAD_BEEF)) }
            })
        #expect(error.tensor == "counts")
        #expect(error.reason.hasPrefix("CRC-32 mismatch (archive says 0xdeadbeef, data gives 0x"))
    }

    @Test func npzCorruptedStoredDataFailsTheCRC() throws {
        let error = try #require(
            inputError {
                try npzVariant("npz/stored.npz") { zip in
                    let member = zip.dataRange(member: 0)
                    zip.bytes[member.upperBound - 1] ^= 0x40
                }
            })
        #expect(error.tensor == "weights")
        #expect(error.reason.hasPrefix("CRC-32 mismatch"))
    }

    @Test func npzCorruptedDeflateStreamIsRejected() throws {
        let error = try #require(
            inputError {
                try npzVariant("npz/deflated.npz") { zip in
                    let member = zip.dataRange(member: 0)
                    for i in member.lowerBound..<(member.lowerBound + 6) { zip.bytes[i] = 0xFF }
                }
            })
        #expect(error.tensor == "weights")
        #expect(
            error.reason.hasPrefix("deflate data is corrupt") || error.reason.hasPrefix("deflate data ends early"), "\(error)")
    }

    @Test(arguments: NpzCase.all)
    func npzRejection(_ bad: NpzCase) throws {
        let error = try #require(inputError { try npzVariant(bad.fixture, bad.patch) })
        #expect(error.tensor == bad.tensor)
        #expect(error.reason.hasPrefix(bad.reason), "\(error)")
    }

    struct NpzCase: CustomTestStringConvertible, Sendable {
        let label: String
        let fixture: String
        let tensor: String?
        let reason: String
        let patch: @Sendable (inout Zip) -> Void
        var testDescription: String { label }

        static let all: [NpzCase] = [
            .init(
                label: "size disagrees", fixture: "npz/deflated.npz", tensor: "half",
                reason: "inflates to 132 bytes but the archive declares 133"
            ) { $0.patchCentral(member: 2, at: 24, le32(133)) },
            .init(
                label: "inflates to more", fixture: "npz/deflated.npz", tensor: "half",
                reason: "inflates to more than the 131 bytes the archive declares"
            ) { $0.patchCentral(member: 2, at: 24, le32(131)) },
            .init(
                label: "zip bomb ratio", fixture: "npz/deflated.npz", tensor: "zeros",
                reason: "refusing: looks like a zip bomb (72 compressed bytes declared to inflate to 79201)"
            ) {
                $0.patchCentral(member: 3, at: 24, le32(79201))  // 1100:1 + 1
            },
            .init(
                label: "encrypted", fixture: "npz/stored.npz", tensor: "weights",
                reason: "the member is encrypted"
            ) { $0.patchCentral(member: 0, at: 8, le16(1)) },
            .init(
                label: "method 12", fixture: "npz/stored.npz", tensor: "counts",
                reason: "compression method 12 is not supported (only 0 stored and 8 deflate)"
            ) { $0.patchCentral(member: 1, at: 10, le16(12)) },
            .init(
                label: "stored sizes differ", fixture: "npz/stored.npz", tensor: "counts",
                reason: "stored member declares 151 compressed bytes but 152 uncompressed"
            ) { $0.patchCentral(member: 1, at: 20, le32(151)) },
            .init(
                label: "local header outside", fixture: "npz/stored.npz", tensor: "half",
                reason: "local header offset 1000000 lies outside the file"
            ) { $0.patchCentral(member: 2, at: 42, le32(1_000_000)) },
            .init(
                label: "no local header", fixture: "npz/stored.npz", tensor: "half",
                reason: "no local file header at offset 3"
            ) { $0.patchCentral(member: 2, at: 42, le32(3)) },
            .init(
                label: "data outside", fixture: "npz/stored.npz", tensor: "zeros",
                reason: "member data ["
            ) { zip in
                zip.patchCentral(member: 3, at: 20, le32(100_000))
                zip.patchCentral(member: 3, at: 24, le32(100_000))
            },
            .init(
                label: "not npy", fixture: "npz/stored.npz", tensor: "zeros.txt",
                reason: "member 'zeros.txt' is not a .npy file"
            ) { $0.renameCentral(member: 3, to: "zeros.txt") },
            .init(
                label: "directory outside", fixture: "npz/stored.npz", tensor: nil,
                reason: "the central directory ["
            ) { zip in
                let end = zip.bytes.count - 22
                zip.patch(at: end + 16, le32(0x7FFF_0000))
            },
            .init(
                label: "no end record", fixture: "npz/stored.npz", tensor: nil,
                reason: "not a zip archive (no end of central directory record)"
            ) { zip in
                zip.bytes.removeLast(22)
            },
        ]
    }

    @Test func npzDuplicateMembersAreRejected() throws {
        let member = Npy.file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", data: floats([1]))
        let zip = Zip.build([("a.npy", member), ("b.npy", member), ("a.npy", member)])
        let error = try #require(inputError { _ = try writeAndRead(zip, name: "dup.npz") })
        #expect(error.tensor == "a")
        #expect(error.reason == "duplicate member 'a.npy' in the archive")
    }

    @Test func npzMemberErrorsNameTheArchiveAndTensor() throws {
        let good = Npy.file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", data: floats([1]))
        let complex = Npy.file("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", data: floats([1, 2]))
        let dir = TemporaryDirectory()
        let path = dir.path("acts.npz")
        try Data(Zip.build([("ok.npy", good), ("bad.npy", complex)])).write(to: URL(fileURLWithPath: path))
        let error = try #require(inputError { _ = try Reader.read([path]) })
        #expect(error.file == path)
        #expect(error.tensor == "bad")
        #expect(error.reason.hasPrefix("complex dtype '<c8'"))
    }

    @Test func npzWithZip64RecordsIsRead() throws {
        let a = Npy.file("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", data: floats([1, -1]))
        let b = Npy.file("{'descr': '>i2', 'fortran_order': False, 'shape': (3,), }", data: [0xFF, 0xFE, 0, 5, 1, 0])
        let batch = try writeAndRead(Zip.build([("a.npy", a), ("dir/b.npy", b)], zip64: true), name: "z64.npz")
        #expect(batch.tensors.map(\.name) == ["a", "dir/b"])
        #expect(batch.tensors.map { $0.floatValues() } == [[1, -1], [-2, 5, 256]])
    }

    @Test func npzDeclaringOver16GiBIsRefusedBeforeInflating() throws {
        let zip = Zip.build(
            [("big.npy", [UInt8](repeating: 0, count: 20_000_000))], zip64: true, method: 8, declaredSize: 17 << 30)
        let error = try #require(inputError { _ = try writeAndRead(zip, name: "big.npz") })
        #expect(error.tensor == "big")
        #expect(error.reason == "refusing: looks like a zip bomb (20000000 compressed bytes declared to inflate to 18253611008)")
    }

    @Test func npzWithoutMembersIsRejected() throws {
        let error = try #require(inputError { _ = try writeAndRead(Zip.build([]), name: "none.npz") })
        #expect(error.reason == "the archive contains no tensors")
    }

    // MARK: - floatValues

    @Test func floatValuesConvertsEveryDtypeAndByteOrder() {
        func values(
            _ dtype: DType, _ bytes: [UInt8], order: ByteOrder = .little, shape: [Int]? = nil, fortran: Bool = false
        ) -> [Float] {
            bytes.withUnsafeBytes { raw in
                TensorData(
                    name: "t", dtype: dtype, shape: shape ?? [bytes.count / dtype.size], byteOrder: order,
                    fortranOrder: fortran, bytes: raw, storage: nil
                ).floatValues()
            }
        }
        #expect(values(.float16, [0x00, 0x3C, 0x00, 0xC0]) == [1, -2])
        #expect(values(.float16, [0x3C, 0x00], order: .big) == [1])
        #expect(values(.bfloat16, [0xC0, 0x3F, 0x80, 0xBF]) == [1.5, -1])
        #expect(values(.float64, [0, 0, 0, 0, 0, 0, 0xF0, 0x3F]) == [1])
        #expect(values(.int8, [0xFF, 0x7F]) == [-1, 127])
        #expect(values(.uint8, [0xFF]) == [255])
        #expect(values(.int16, [0xFF, 0xFE], order: .big) == [-2])
        #expect(values(.uint16, [0xFF, 0xFE]) == [65279])
        #expect(values(.int32, [0xFE, 0xFF, 0xFF, 0xFF]) == [-2])
        #expect(values(.uint32, [0, 0, 0, 0x80]) == [2_147_483_648])
        #expect(values(.int64, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]) == [-1])
        #expect(values(.uint64, [0, 0, 0, 0, 0, 0, 0, 0x01]) == [72_057_594_037_927_936])
        #expect(values(.bool, [0, 1, 2]) == [0, 1, 1])
        // Fortran 2x3: memory holds columns [1,4], [2,5], [3,6]; logical C order reads rows.
        #expect(values(.uint8, [1, 4, 2, 5, 3, 6], shape: [2, 3], fortran: true) == [1, 2, 3, 4, 5, 6])
    }
}

// MARK: - Helpers

/// Reads every batch of `inputs`.
private enum Reader {
    static func read(_ inputs: [String], standardInput: Int32 = 0, hash: ContentHashAlgorithm = .current) throws -> [Batch] {
        let reader = try BatchReader(inputs: inputs, standardInput: standardInput)
        var batches: [Batch] = []
        while let batch = try reader.next(hash: hash) { batches.append(batch) }
        return batches
    }

    static func fixture(_ relative: String) throws -> [Batch] { try read([Fixtures.path("readers/\(relative)")]) }

    /// Feeds `bytes` through a pipe as standard input (small enough for the pipe buffer).
    static func stdin(_ bytes: [UInt8]) throws -> [Batch] {
        precondition(bytes.count < 60_000)
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw POSIXError(.EIO) }
        defer { close(fds[0]) }
        let written = bytes.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
        close(fds[1])
        precondition(written == bytes.count || bytes.isEmpty)
        return try read(["-"], standardInput: fds[0])
    }
}

/// The tensors expected.json says a batch source holds.
private enum Expected {
    nonisolated(unsafe) static let document: [String: Any] = {
        let data = try! Data(contentsOf: Fixtures.url("readers/expected.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    static func entry(_ key: String) -> [String: Any] { document[key] as! [String: Any] }

    static func check(_ batch: Batch, against key: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let entry = entry(key)
        #expect(batch.source == Fixtures.path("readers/\(key)"), sourceLocation: sourceLocation)
        #expect(batch.contentHash == entry["xxh3_128"] as? String, sourceLocation: sourceLocation)
        #expect(batch.byteCount == entry["bytes"] as? Int, sourceLocation: sourceLocation)
        let tensors = try #require(entry["tensors"] as? [String: [String: Any]], sourceLocation: sourceLocation)
        #expect(Set(batch.tensors.map(\.name)) == Set(tensors.keys), sourceLocation: sourceLocation)
        for tensor in batch.tensors {
            let want = try #require(tensors[tensor.name], sourceLocation: sourceLocation)
            #expect(tensor.dtype.rawValue == want["dtype"] as? String, "\(tensor.name)", sourceLocation: sourceLocation)
            #expect(tensor.shape == want["shape"] as? [Int], "\(tensor.name)", sourceLocation: sourceLocation)
            #expect(
                (tensor.byteOrder == .big ? "big" : "little") == want["byte_order"] as? String, sourceLocation: sourceLocation)
            #expect(tensor.fortranOrder == want["fortran"] as? Bool, "\(tensor.name)", sourceLocation: sourceLocation)
            let values = try #require(want["values"] as? [Double], sourceLocation: sourceLocation)
            #expect(tensor.floatValues() == values.map { Float($0) }, "\(tensor.name)", sourceLocation: sourceLocation)
        }
    }
}

/// Safetensors bytes from a header text and raw data.
private enum Safetensors {
    static func file(_ header: String, data: [UInt8]) -> [UInt8] {
        let json = Array(header.utf8)
        return le64(UInt64(json.count)) + json + data
    }
}

/// .npy bytes from a header dict text, padded the way numpy pads it.
private enum Npy {
    static func file(_ header: String, version: UInt8 = 1, data: [UInt8], corruptHeader: Bool = false) -> [UInt8] {
        let prefix = version == 1 ? 10 : 12
        var text = Array(header.utf8)
        if corruptHeader { text.insert(0xFF, at: 1) }
        let total = (prefix + text.count + 1 + 63) / 64 * 64
        text += [UInt8](repeating: 0x20, count: total - prefix - text.count - 1) + [0x0A]
        let length = version == 1 ? le16(UInt16(text.count)) : le32(UInt32(text.count))
        return [0x93] + Array("NUMPY".utf8) + [version, 0] + length + text + data
    }
}

/// A zip archive's bytes, with helpers to build one (stored members) and to patch central
/// directory fields of an existing one.
struct Zip: Sendable {
    var bytes: [UInt8]

    /// Stored members; `zip64` writes saturated sizes and offsets with zip64 extra fields and end records.
    static func build(
        _ members: [(String, [UInt8])], zip64: Bool = false, method: UInt16 = 0, declaredSize: UInt64? = nil
    ) -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        for (name, data) in members {
            let offset = out.count
            let crc = data.withUnsafeBytes { NpzArchive.crc32(of: $0) }
            let nameBytes = Array(name.utf8)
            let size32 = zip64 ? 0xFFFF_FFFF : UInt32(data.count)
            let uncompressed = declaredSize ?? UInt64(data.count)
            let localExtra = zip64 ? le16(1) + le16(16) + le64(uncompressed) + le64(UInt64(data.count)) : []
            out += le32(0x0403_4b50) + le16(45) + le16(0) + le16(method) + le32(0) + le32(crc) + le32(size32) + le32(size32)
            out += le16(UInt16(nameBytes.count)) + le16(UInt16(localExtra.count)) + nameBytes + localExtra + data
            let centralExtra =
                zip64 ? le16(1) + le16(24) + le64(uncompressed) + le64(UInt64(data.count)) + le64(UInt64(offset)) : []
            central += le32(0x0201_4b50) + le16(45) + le16(45) + le16(0) + le16(method) + le32(0) + le32(crc)
            central += le32(size32) + le32(size32) + le16(UInt16(nameBytes.count)) + le16(UInt16(centralExtra.count)) + le16(0)
            central += le16(0) + le16(0) + le32(0) + le32(zip64 ? 0xFFFF_FFFF : UInt32(offset)) + nameBytes + centralExtra
        }
        let centralOffset = out.count
        out += central
        if zip64 {
            let record = out.count
            out += le32(0x0606_4b50) + le64(44) + le16(45) + le16(45) + le32(0) + le32(0)
            out +=
                le64(UInt64(members.count)) + le64(UInt64(members.count)) + le64(UInt64(central.count))
                + le64(UInt64(centralOffset))
            out += le32(0x0706_4b50) + le32(0) + le64(UInt64(record)) + le32(1)
            out +=
                le32(0x0605_4b50) + le16(0) + le16(0) + le16(0xFFFF) + le16(0xFFFF) + le32(0xFFFF_FFFF) + le32(0xFFFF_FFFF)
                + le16(0)
        } else {
            let count = le16(UInt16(members.count))
            out +=
                le32(0x0605_4b50) + le16(0) + le16(0) + count + count + le32(UInt32(central.count)) + le32(UInt32(centralOffset))
                + le16(0)
        }
        return out
    }

    /// Offsets of the central directory entries (plain zip, as numpy writes it).
    var centralEntries: [Int] {
        let end = bytes.count - 22
        var position = Int(u32(end + 16))
        var entries: [Int] = []
        for _ in 0..<Int(u16(end + 10)) {
            entries.append(position)
            position += 46 + Int(u16(position + 28)) + Int(u16(position + 30)) + Int(u16(position + 32))
        }
        return entries
    }

    /// Where a member's (compressed) data lies, from its local header.
    func dataRange(member: Int) -> Range<Int> {
        let entry = centralEntries[member]
        let local = Int(u32(entry + 42))
        let start = local + 30 + Int(u16(local + 26)) + Int(u16(local + 28))
        return start..<(start + Int(u32(entry + 20)))
    }

    mutating func patch(at offset: Int, _ value: [UInt8]) {
        bytes.replaceSubrange(offset..<(offset + value.count), with: value)
    }

    mutating func patchCentral(member: Int, at field: Int, _ value: [UInt8]) {
        patch(at: centralEntries[member] + field, value)
    }

    /// Renames a member in the central directory to a name of the same length.
    mutating func renameCentral(member: Int, to name: String) {
        let entry = centralEntries[member]
        precondition(Int(u16(entry + 28)) == name.utf8.count)
        patch(at: entry + 46, Array(name.utf8))
    }

    func u16(_ offset: Int) -> UInt16 { UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8 }
    func u32(_ offset: Int) -> UInt32 { UInt32(u16(offset)) | UInt32(u16(offset + 2)) << 16 }
}

/// Copies a fixture archive, patches it, and reads it; the error must name the copy.
private func npzVariant(_ fixture: String, _ patch: (inout Zip) -> Void) throws {
    var zip = Zip(bytes: try [UInt8](Data(contentsOf: Fixtures.url("readers/\(fixture)"))))
    patch(&zip)
    do {
        try writeAndRead(zip.bytes, name: "variant.npz")
    } catch let error as InputError {
        #expect(error.file.hasSuffix("/variant.npz"))
        throw error
    }
}

@discardableResult
private func writeAndRead(_ bytes: [UInt8], name: String) throws -> Batch {
    let dir = TemporaryDirectory()
    let path = dir.path(name)
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return try only(Reader.read([path]))
}

/// The thrown `InputError`, or nil (recording an issue) when the body succeeds or throws another error.
private func inputError(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) -> InputError? {
    do {
        try body()
        Issue.record("expected an InputError", sourceLocation: sourceLocation)
    } catch let error as InputError {
        return error
    } catch {
        Issue.record("expected an InputError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

private func only(_ batches: [Batch], sourceLocation: SourceLocation = #_sourceLocation) throws -> Batch {
    #expect(batches.count == 1, sourceLocation: sourceLocation)
    return try #require(batches.first, sourceLocation: sourceLocation)
}

private func xxh3(_ bytes: [UInt8]) -> String { bytes.withUnsafeBytes { ContentHasher.hash($0, .xxh3_128) } }
private func floats(_ values: [Float]) -> [UInt8] { values.flatMap { le32($0.bitPattern) } }
private func le16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
private func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
private func le64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
