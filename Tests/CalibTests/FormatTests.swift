import CalibTestSupport
import Foundation
import Testing

@testable import CalibDerivation
@testable import CalibFormats
@testable import CalibKit
@testable import CalibModel
@testable import CalibReaders
@testable import CalibSupport

/// Deployment formats against the reference systems' own files: AIMET encodings written by aimet-torch
/// 2.42.0 (Fixtures/golden/aimet-exports, and Fixtures/formats/aimet made by make_aimet_expected.py),
/// ONNX Runtime's calibration tables and compute_scale_zp (Fixtures/formats/onnxruntime, made by
/// make_onnxruntime_reference.py with onnxruntime itself), TensorRT caches, CSV, and malformed input.
@Suite struct FormatTests {
    // MARK: - Fixtures

    static func data(_ relative: String) throws -> Data { try Data(contentsOf: Fixtures.url(relative)) }

    static let aimetCases: [String] = {
        let root = Fixtures.url("golden/cases")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.filter { $0.hasPrefix("aimet_") }.sorted()
    }()

    /// The tensor names of a case's first batch, in file order: how a calib session lists them.
    static func batchOrder(_ name: String) throws -> [String] {
        let bytes = try data("golden/cases/\(name)/batches/000.safetensors")
        var length = 0
        for (k, byte) in bytes.prefix(8).enumerated() { length |= Int(byte) << (8 * k) }
        let header = try JSONValue.parse(bytes.dropFirst(8).prefix(length))
        return try #require(header.objectValue).map(\.0).filter { $0 != "__metadata__" }
    }

    /// A golden case's encodings as a table of activations, values exactly as expected.json has them,
    /// tensors in the order of the case's batches (as make_aimet_expected.py writes them).
    static func goldenTable(_ name: String) throws -> EncodingTable {
        let doc = try JSONValue.parse(data("golden/cases/\(name)/expected.json"))
        let config = try #require(doc.member("config"))
        let scheme = QuantScheme(
            convention: .aimet, bitwidth: try #require(config.member("bitwidth")?.intValue),
            symmetric: try Self.flag(config.member("symmetric")), signed: try Self.flag(config.member("signed")))
        let axis = config.member("per_channel_axis")?.intValue
        func floats(_ v: JSONValue?) throws -> [Float] {
            try #require(v?.arrayValue).map { try Self.need($0.floatValue, "a float") }
        }
        let tensors = try #require(doc.member("tensors"))
        return EncodingTable(
            entries: try batchOrder(name).map { tensor in
                let t = try Self.need(tensors.member(tensor), "tensor \(tensor)")
                let encoding = Encoding(
                    scheme: scheme, channelAxis: axis, scale: try floats(t.member("scale")),
                    offset: try #require(t.member("offset")?.arrayValue).map { try Self.need($0.intValue, "an integer offset") },
                    min: try floats(t.member("min")), max: try floats(t.member("max")))
                return EncodingTable.Entry(
                    name: tensor, role: .activation, encoding: encoding,
                    observedMin: try floats(t.member("observed_min")), observedMax: try floats(t.member("observed_max")))
            })
    }

    /// The value, or a thrown error naming what was missing from a fixture.
    static func need<T>(_ v: T?, _ what: String) throws -> T {
        guard let v else { throw FormatError(format: "fixture", "missing \(what)") }
        return v
    }

    /// A JSON boolean, or a thrown error.
    static func flag(_ v: JSONValue?) throws -> Bool {
        guard case .bool(let b)? = v else {
            throw FormatError(format: "fixture", "expected a boolean, found \(v?.kind ?? "nothing")")
        }
        return b
    }

    /// Asserts that `body` throws a `FormatError` whose message contains `fragment`.
    static func rejects(
        _ what: String, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Any
    ) {
        do {
            _ = try body()
            Issue.record("\(what): accepted", sourceLocation: sourceLocation)
        } catch let e as FormatError {
            #expect(e.message.contains(fragment), "\(what): \(e.description)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(what): threw \(error) instead of a FormatError", sourceLocation: sourceLocation)
        }
    }

    // MARK: - AIMET

    /// Every golden aimet case, exported in each version, is byte for byte what aimet-torch writes.
    @Test(arguments: aimetCases, AimetVersion.allCases)
    func aimetExportMatchesReference(caseName: String, version: AimetVersion) throws {
        let table = try Self.goldenTable(caseName)
        let expected = try String(decoding: Self.data("formats/aimet/\(caseName)/\(version.rawValue).encodings"), as: UTF8.self)
        #expect(AimetEncodings.export(table, version: version) == expected)
    }

    /// The quantizer_args rule of make_aimet_expected.py, derived from a table.
    @Test func aimetQuantizerArgsFromTable() throws {
        let args = AimetQuantizerArgs(table: try Self.goldenTable("aimet_perchannel_sym_signed_8"))
        #expect(
            args == AimetQuantizerArgs(activationBitwidth: 8, paramBitwidth: 8, isSymmetric: true, perChannelQuantization: true))
        let args16 = AimetQuantizerArgs(table: try Self.goldenTable("aimet_multibatch_asym_unsigned_16"))
        #expect(args16 == AimetQuantizerArgs(activationBitwidth: 16, isSymmetric: false, perChannelQuantization: false))
        #expect(AimetQuantizerArgs(table: EncodingTable(entries: [])).isSymmetric == false)
    }

    /// aimet-torch's own files parse and are written back byte for byte.
    @Test(arguments: AimetVersion.allCases)
    func aimetRealFilesRoundTrip(version: AimetVersion) throws {
        let bytes = try Self.data("golden/aimet-exports/onnx_export_\(version.rawValue).encodings")
        let table = try AimetEncodings.parse(bytes)
        let args = try AimetEncodings.parseQuantizerArgs(bytes)
        #expect((args == nil) == (version == .v2_0_0))
        #expect(AimetEncodings.export(table, version: version, quantizerArgs: args) == String(decoding: bytes, as: UTF8.self))
        if version != .v2_0_0 {
            // The derived quantizer_args are the ones aimet-torch wrote.
            #expect(AimetEncodings.export(table, version: version) == String(decoding: bytes, as: UTF8.self))
        }

        let input = try #require(table.entries.first { $0.name == "input" })
        #expect(input.role == .activation)
        #expect(input.encoding.scheme == QuantScheme(convention: .aimet, bitwidth: 8, symmetric: false, signed: false))
        #expect(input.encoding.channelAxis == nil)
        #expect(input.encoding.scale == [0.014831412583589554])
        #expect(input.encoding.offset == [-176])
        #expect(input.encoding.min == [-2.6103286743164062])
        #expect(input.encoding.max == [1.1716816425323486])

        let weight = try #require(table.entries.first { $0.name == "conv.weight" })
        #expect(weight.role == .param)
        #expect(weight.encoding.scheme == QuantScheme(convention: .aimet, bitwidth: 8, symmetric: true, signed: true))
        #expect(weight.encoding.channelAxis == 0)
        #expect(weight.encoding.scale == [0.0017592015210539103, 0.001724605797789991, 0.001845034770667553])
        #expect(weight.encoding.offset == [0, 0, 0])
        #expect(weight.encoding.min == [-0.2251777946949005, -0.22074954211711884, -0.23616445064544678])
        #expect(weight.encoding.max == [0.22341859340667725, 0.21902494132518768, 0.23431941866874695])

        if version == .v2_0_0 {
            let bias = try #require(table.entries.first { $0.name == "conv.bias" })
            #expect(bias.role == .param)
            #expect(bias.encoding.scheme == QuantScheme(convention: .aimet, bitwidth: 32, symmetric: true, signed: true))
            #expect(
                table.entries.map(\.name) == [
                    "conv.weight", "conv.bias", "input", "/relu/Relu_output_0", "fc.weight", "fc.bias", "output",
                    "/Flatten_output_0",
                ])
        } else {
            #expect(table.activations.map(\.name) == ["input", "/relu/Relu_output_0", "output", "/Flatten_output_0"])
            #expect(table.params.map(\.name) == ["conv.weight", "fc.weight"])
        }
    }

    /// 0.6.1's min/max, recomputed from scale and offset in float32, are the file's.
    @Test func aimetRecomputedRangeIsTheFiles() throws {
        let bytes = try Self.data("golden/aimet-exports/onnx_export_0.6.1.encodings")
        let doc = try JSONValue.parse(bytes)
        let table = try AimetEncodings.parse(bytes)
        for entry in table.entries {
            let section = entry.role == .activation ? "activation_encodings" : "param_encodings"
            let channels = try #require(doc.member(section)?.member(entry.name)?.arrayValue)
            #expect(entry.encoding.min == channels.map { $0.member("min")?.floatValue ?? .nan }, "\(entry.name)")
            #expect(entry.encoding.max == channels.map { $0.member("max")?.floatValue ?? .nan }, "\(entry.name)")
        }
    }

    /// The three versions aimet-torch wrote for one model hold the same encodings.
    @Test func aimetVersionsAgree() throws {
        let tables = try AimetVersion.allCases.map {
            try AimetEncodings.parse(Self.data("golden/aimet-exports/onnx_export_\($0.rawValue).encodings"))
        }
        for entry in tables[0].entries {
            for other in tables.dropFirst() {
                let e = try #require(other.entries.first { $0.name == entry.name })
                #expect(e.encoding.scale == entry.encoding.scale)
                #expect(e.encoding.min == entry.encoding.min)
                #expect(e.encoding.max == entry.encoding.max)
                #expect(e.role == entry.role)
            }
        }
        #expect(tables[0].entries == tables[1].entries)
    }

    /// The module-keyed `_torch.encodings` variant (4-space indent, sorted keys).
    @Test func aimetTorchKeyedVariant() throws {
        let table = try AimetEncodings.parse(Self.data("golden/aimet-exports/sim_export_torch_keys.encodings"))
        #expect(table.activations.map(\.name) == ["conv.input.0", "fc.output.0", "relu.output.0"])
        let reference = try AimetEncodings.parse(Self.data("golden/aimet-exports/onnx_export_0.6.1.encodings"))
        #expect(table.params == reference.params)
        #expect(table.activations[0].encoding == reference.entries.first { $0.name == "input" }?.encoding)
        #expect(table.activations[2].encoding == reference.entries.first { $0.name == "/relu/Relu_output_0" }?.encoding)
        let args = try AimetEncodings.parseQuantizerArgs(Self.data("golden/aimet-exports/sim_export_torch_keys.encodings"))
        #expect(args == AimetQuantizerArgs())
    }

    /// `aimet-torch` writes aimet-torch's own `_torch.encodings` back byte for byte, and refuses the
    /// tensors its module-keyed layout cannot hold.
    @Test func aimetTorchExportIsByteIdentical() throws {
        let bytes = try Self.data("golden/aimet-exports/sim_export_torch_keys.encodings")
        let table = try AimetEncodings.parse(bytes)
        let args = try AimetEncodings.parseQuantizerArgs(bytes)
        #expect(try AimetEncodings.exportTorch(table, quantizerArgs: args) == String(decoding: bytes, as: UTF8.self))
        #expect(try AimetEncodings.parse(Data(try AimetEncodings.exportTorch(table).utf8)) == table)
        var bad = table
        bad.entries[0].name = "conv_input"
        #expect(throws: FormatError.self) { try AimetEncodings.exportTorch(bad) }
        bad.entries[0].name = "conv.input.x"
        #expect(throws: FormatError.self) { try AimetEncodings.exportTorch(bad) }
        bad.entries[0].name = "fc.output.0"
        #expect(throws: FormatError.self) { try AimetEncodings.exportTorch(bad) }
    }

    /// Export then parse keeps every encoding's scale and representable range (signedness is what the
    /// layouts keep of it: 0.6.1/1.0.0 take symmetric as signed, 2.0.0 writes activations unsigned).
    @Test(arguments: aimetCases, AimetVersion.allCases)
    func aimetExportParseRoundTrip(caseName: String, version: AimetVersion) throws {
        let table = try Self.goldenTable(caseName)
        let back = try AimetEncodings.parse(Data(AimetEncodings.export(table, version: version).utf8))
        #expect(back.entries.map(\.name) == table.entries.map(\.name))
        for (a, b) in zip(table.entries, back.entries) {
            #expect(b.encoding.scale == a.encoding.scale)
            #expect(b.encoding.min == a.encoding.min)
            #expect(b.encoding.max == a.encoding.max)
            #expect(b.encoding.scheme.bitwidth == a.encoding.scheme.bitwidth)
            #expect(
                b.encoding.channelAxis == (a.encoding.channelAxis == nil ? nil : version == .v2_0_0 ? a.encoding.channelAxis : 0))
            if version != .v2_0_0 {
                #expect(b.encoding.scheme.symmetric == a.encoding.scheme.symmetric)
                #expect(b.role == .activation)
            }
        }
    }

    /// Params in 2.0.0 keep their grid; activations are written unsigned; entries keep table order.
    @Test func aimetV2SignedParamsAndUnsignedActivations() throws {
        let scheme = QuantScheme(convention: .aimet, bitwidth: 8, symmetric: false, signed: true)
        let act = Encoding(observedMin: [-1], observedMax: [3], scheme: scheme, channelAxis: nil)
        let w = Encoding(
            observedMin: [-1, -2], observedMax: [1, 2], scheme: QuantScheme(bitwidth: 4, symmetric: true), channelAxis: 0)
        let table = EncodingTable(entries: [
            .init(name: "x", role: .activation, encoding: act),
            .init(name: "lin.weight", role: .param, encoding: w),
        ])
        let text = AimetEncodings.export(table, version: .v2_0_0)
        #expect(text.contains("\"output_dtype\": \"uint8\""))
        #expect(text.contains("\"y_zero_point\": \(128 - act.offset[0])"))
        #expect(text.contains("\"output_dtype\": \"int4\""))
        let back = try AimetEncodings.parse(Data(text.utf8))
        #expect(back.entries.map(\.role) == [.activation, .param])
        #expect(back.entries[1].encoding == w)
        #expect(back.entries[0].encoding.min == act.min && back.entries[0].encoding.max == act.max)
    }

    /// Names are escaped as Python's json.dump (ensure_ascii) escapes them.
    @Test func aimetEscapesNamesLikePython() {
        let e = Encoding(observedMin: [0], observedMax: [1], scheme: QuantScheme(), channelAxis: nil)
        let table = EncodingTable(entries: [.init(name: "a\"b\\c\u{8}\u{c}\u{7f}é😀", role: .activation, encoding: e)])
        let text = AimetEncodings.export(table, version: .v1_0_0)
        #expect(text.contains(#""name": "a\"b\\c\b\f\u007f\u00e9\ud83d\ude00""#))
    }

    @Test func aimetRejectsMalformedFiles() {
        let parse = { (s: String) in try AimetEncodings.parse(Data(s.utf8)) }
        let entry = #""min": 0.0, "max": 1.0, "bitwidth": 8, "dtype": "int", "is_symmetric": "False""#
        Self.rejects("empty", "invalid JSON: line 1, column 1") { try parse("") }
        Self.rejects("truncated", "invalid JSON: line 2") { try parse("{\n \"version\": \"1.0.0\", \"activation_encodings\": [") }
        Self.rejects("not an object", "must be a JSON object") { try parse("[]") }
        Self.rejects("no sections", "no activation_encodings") { try parse(#"{"version": "1.0.0"}"#) }
        Self.rejects("bad version", "unsupported version '3.0.0'") { try parse(#"{"version": "3.0.0", "encodings": []}"#) }
        Self.rejects("section type", "activation_encodings must be an object or a list") {
            try parse(#"{"activation_encodings": 3}"#)
        }
        Self.rejects("missing scale", "tensor 'x' (activation_encodings): missing scale") {
            try parse(#"{"activation_encodings": {"x": [{\#(entry), "offset": 0}]}}"#)
        }
        Self.rejects("scale type", "scale must be a number, found a string") {
            try parse(#"{"activation_encodings": {"x": [{\#(entry), "offset": 0, "scale": "1"}]}}"#)
        }
        Self.rejects("negative scale", "scale -1.0 is not a finite non-negative number") {
            try parse(#"{"activation_encodings": {"x": [{\#(entry), "offset": 0, "scale": -1.0}]}}"#)
        }
        Self.rejects("overflowing scale", "number '1e39' is beyond the float32 range") {
            try parse(#"{"activation_encodings": {"x": [{\#(entry), "offset": 0, "scale": 1e39}]}}"#)
        }
        Self.rejects("fractional offset", "offset must be an integer") {
            try parse(#"{"activation_encodings": {"x": [{\#(entry), "offset": 0.5, "scale": 1.0}]}}"#)
        }
        Self.rejects("huge offset", "offset 9223372036854775807 is out of range") {
            try parse(#"{"activation_encodings": {"x": [{\#(entry), "offset": 9223372036854775807, "scale": 1.0}]}}"#)
        }
        Self.rejects("bitwidth", "bitwidth 0 is outside 2...16 and 32") {
            try parse(#"{"param_encodings": {"w": [{"bitwidth": 0, "is_symmetric": "True", "offset": 0, "scale": 1.0}]}}"#)
        }
        Self.rejects("is_symmetric", "is_symmetric must be") {
            try parse(#"{"param_encodings": {"w": [{"bitwidth": 8, "is_symmetric": "yes", "offset": 0, "scale": 1.0}]}}"#)
        }
        Self.rejects("float dtype", "dtype 'float' is not supported") {
            try parse(#"{"activation_encodings": {"x": [{"bitwidth": 16, "dtype": "float"}]}}"#)
        }
        Self.rejects("channels disagree", "channels disagree") {
            try parse(
                #"{"param_encodings": {"w": [{"bitwidth": 8, "offset": 0, "scale": 1.0}, {"bitwidth": 4, "offset": 0, "scale": 1.0}]}}"#
            )
        }
        Self.rejects("no channel", "has no encoding") { try parse(#"{"param_encodings": {"w": []}}"#) }
        let v1 = #""dtype": "INT", "bw": 8, "is_sym": false"#
        Self.rejects("v1 name", "activation_encodings[0]: missing name") {
            try parse(#"{"activation_encodings": [{\#(v1), "scale": [1.0], "offset": [0]}]}"#)
        }
        Self.rejects("v1 counts", "2 scales but 1 offsets") {
            try parse(
                #"{"activation_encodings": [{"name": "x", \#(v1), "scale": [1.0, 2.0], "offset": [0], "enc_type": "PER_CHANNEL"}]}"#
            )
        }
        Self.rejects("v1 per block", "enc_type 'PER_BLOCK' is not supported") {
            try parse(
                #"{"param_encodings": [{"name": "w", \#(v1), "scale": [1.0, 2.0], "offset": [0, 0], "enc_type": "PER_BLOCK", "block_size": 2}]}"#
            )
        }
        Self.rejects("v1 per tensor", "PER_TENSOR with 2 scales") {
            try parse(
                #"{"param_encodings": [{"name": "w", \#(v1), "scale": [1.0, 2.0], "offset": [0, 0], "enc_type": "PER_TENSOR"}]}"#)
        }
        Self.rejects("v1 duplicate", "tensor 'x' appears twice") {
            try parse(
                #"{"activation_encodings": [{"name": "x", \#(v1), "scale": [1.0], "offset": [0]}], "param_encodings": [{"name": "x", \#(v1), "scale": [1.0], "offset": [0]}]}"#
            )
        }
        Self.rejects("v1 float", "dtype 'FLOAT' is not supported") {
            try parse(#"{"activation_encodings": [{"name": "x", "dtype": "FLOAT", "bw": 16}]}"#)
        }
        Self.rejects("v2 list", "encodings must be a list") { try parse(#"{"version": "2.0.0", "encodings": {}}"#) }
        for dtype in ["float16", "int", "uint-3", "int+8", "int99", "int0"] {
            Self.rejects(
                "v2 dtype \(dtype)",
                dtype == "int99" || dtype == "int0" ? "is outside 2...16 and 32" : "output_dtype '\(dtype)' is not supported"
            ) {
                try parse(#"{"version": "2.0.0", "encodings": [{"name": "x", "output_dtype": "\#(dtype)", "y_scale": 1.0}]}"#)
            }
        }
        Self.rejects("v2 zero point", "out of range") {
            try parse(
                #"{"version": "2.0.0", "encodings": [{"name": "x", "output_dtype": "int8", "y_scale": 1.0, "y_zero_point": -9223372036854775808}]}"#
            )
        }
        Self.rejects("v2 counts", "2 y_scale values but 3 y_zero_point values") {
            try parse(
                #"{"version": "2.0.0", "encodings": [{"name": "x", "output_dtype": "int8", "y_scale": [1.0, 2.0], "y_zero_point": [1, 2, 3], "axis": 0}]}"#
            )
        }
        Self.rejects("v2 block", "block encodings (block_size) are not supported") {
            try parse(
                #"{"version": "2.0.0", "encodings": [{"name": "x", "output_dtype": "int4", "y_scale": [1.0, 2.0], "axis": 1, "block_size": 32}]}"#
            )
        }
        Self.rejects("v2 empty scale", "y_scale is empty") {
            try parse(#"{"version": "2.0.0", "encodings": [{"name": "x", "output_dtype": "int4", "y_scale": []}]}"#)
        }
    }

    // MARK: - ONNX Runtime

    static let ortReference: JSONValue = try! JSONValue.parse(FormatTests.data("formats/onnxruntime/reference.json"))

    static func ortScheme(qtype: String, symmetric: Bool, reduceRange: Bool) -> QuantScheme {
        let signed = !qtype.hasPrefix("U")
        let bits = Int(qtype.drop { !$0.isNumber })!
        return QuantScheme(
            convention: .onnxruntime, bitwidth: bits, symmetric: symmetric, signed: signed, reduceRange: reduceRange)
    }

    /// `get_qmin_qmax_for_qType`: QuantScheme's grid for convention onnxruntime.
    @Test func ortQuantRanges() throws {
        let rows = try #require(Self.ortReference.member("qmin_qmax")?.arrayValue)
        #expect(rows.count == 24)
        var mismatches: [String] = []
        for row in rows {
            let qtype = try #require(row.member("qtype")?.stringValue)
            let symmetric = try Self.flag(row.member("symmetric"))
            let reduceRange = try Self.flag(row.member("reduce_range"))
            let expected = (try #require(row.member("qmin")?.intValue), try #require(row.member("qmax")?.intValue))
            let got = Self.ortScheme(qtype: qtype, symmetric: symmetric, reduceRange: reduceRange).quantRange
            if got != expected {
                mismatches.append("\(qtype) symmetric=\(symmetric) reduce_range=\(reduceRange): ORT \(expected), calib \(got)")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }

    /// `compute_scale_zp` for 40 ranges x 6 qtypes x symmetric x reduce_range, bit for bit.
    @Test func ortComputeScaleZeroPoint() throws {
        let rows = try #require(Self.ortReference.member("compute_scale_zp")?.arrayValue)
        #expect(rows.count == 960)
        var mismatches: [String] = []
        for row in rows {
            func bits(_ key: String) throws -> UInt32 {
                try Self.need(UInt32(try Self.need(row.member(key)?.stringValue, key), radix: 16), key)
            }
            let rmin = Float(bitPattern: try bits("rmin_bits")), rmax = Float(bitPattern: try bits("rmax_bits"))
            let qtype = try #require(row.member("qtype")?.stringValue)
            let scheme = Self.ortScheme(
                qtype: qtype, symmetric: try Self.flag(row.member("symmetric")),
                reduceRange: try Self.flag(row.member("reduce_range")))
            let scale = Float(bitPattern: try bits("scale_bits"))
            let zeroPoint = try #require(row.member("zero_point")?.intValue)
            let got = EncodingMath.scaleOffset(min: rmin, max: rmax, scheme: scheme)
            if got.scale.bitPattern != scale.bitPattern || -got.offset != zeroPoint {
                mismatches.append(
                    "rmin \(rmin) rmax \(rmax) \(qtype) sym=\(scheme.symmetric) rr=\(scheme.reduceRange): "
                        + "ORT \(scale) zp \(zeroPoint), calib \(got.scale) zp \(-got.offset)")
            }
        }
        #expect(
            mismatches.isEmpty, "\(mismatches.count) of \(rows.count) differ:\n\(mismatches.prefix(20).joined(separator: "\n"))")
    }

    /// The tensors make_onnxruntime_reference.py gave write_calibration_table.
    static func ortTable() throws -> EncodingTable {
        let tensors = try #require(ortReference.member("write_calibration_table")?.member("tensors")?.arrayValue)
        return EncodingTable(
            entries: try tensors.map { t in
                let lo = try #require(t.member("lowest")?.floatValue), hi = try #require(t.member("highest")?.floatValue)
                let scheme = QuantScheme(convention: .onnxruntime, symmetric: false, signed: false)
                return EncodingTable.Entry(
                    name: try #require(t.member("name")?.stringValue), role: .activation,
                    encoding: Encoding(observedMin: [lo], observedMax: [hi], scheme: scheme, channelAxis: nil),
                    observedMin: [lo], observedMax: [hi])
            })
    }

    @Test func ortFilesAreByteIdentical() throws {
        let table = try Self.ortTable()
        #expect(
            OnnxRuntimeCalibration.calibrationJSON(table)
                == String(decoding: try Self.data("formats/onnxruntime/calibration.json"), as: UTF8.self))
        #expect(
            OnnxRuntimeCalibration.cache(table)
                == String(decoding: try Self.data("formats/onnxruntime/calibration.cache"), as: UTF8.self))
        #expect(OnnxRuntimeCalibration.flatbuffers(table) == (try Self.data("formats/onnxruntime/calibration.flatbuffers")))
        #expect(
            OnnxRuntimeCalibration.quantizeStaticCache(table)
                == String(decoding: try Self.data("formats/onnxruntime/quantize_static_cache.json"), as: UTF8.self))
    }

    /// Both flatbuffers tables decode to what onnxruntime's generated reader read from its own file.
    @Test func ortFlatbuffersDecode() throws {
        let decoded = try #require(Self.ortReference.member("write_calibration_table")?.member("flatbuffers_decoded")?.arrayValue)
        let pairs = try decoded.map {
            (try #require($0.member("key")?.stringValue), try #require($0.member("value")?.stringValue))
        }
        let scheme = QuantScheme(convention: .onnxruntime, symmetric: true, signed: true)
        for bytes in [
            try Self.data("formats/onnxruntime/calibration.flatbuffers"), OnnxRuntimeCalibration.flatbuffers(try Self.ortTable()),
        ] {
            let table = try OnnxRuntimeCalibration.parseFlatbuffers(bytes, derive: Derivation.encoder(scheme))
            // The file lists pairs in reverse sorted order; the import sorts them.
            #expect(table.entries.map(\.name) == Array(pairs.map(\.0).reversed()))
            for (name, value) in pairs {
                let amax = abs(Float(Double(value)!))
                let entry = try #require(table.entries.first { $0.name == name })
                #expect(entry.observedMin == [-amax] && entry.observedMax == [amax])
                #expect(entry.encoding == Encoding(observedMin: [-amax], observedMax: [amax], scheme: scheme, channelAxis: nil))
            }
        }
    }

    @Test func ortImports() throws {
        let scheme = QuantScheme(convention: .onnxruntime, symmetric: false, signed: false)
        let reference = try Self.ortTable()
        for file in ["calibration.json", "quantize_static_cache.json"] {
            let table = try OnnxRuntimeCalibration.parseCalibrationJSON(
                Self.data("formats/onnxruntime/\(file)"), derive: Derivation.encoder(scheme))
            #expect(table == reference, "\(file)")
        }
        let cache = try OnnxRuntimeCalibration.parseCache(
            Self.data("formats/onnxruntime/calibration.cache"), derive: Derivation.encoder(scheme))
        #expect(cache.entries.map(\.name) == ["/conv/Conv_output_0", "input", "neg_only", "relu_é_out"])
        #expect(cache.entries.map(\.observedMax) == [[6.3359375], [1.237657904624939], [1e-05], [0.30000001192092896]])
        #expect(cache.entries.map(\.observedMin) == [[-6.3359375], [-1.237657904624939], [-1e-05], [-0.30000001192092896]])

        // Other layouts ONNX Runtime has written: a bare {NAME: TensorData}, [lowest, highest] pairs,
        // plain numbers, per-channel arrays, Python's NaN/Infinity.
        let bare =
            #"{"a": {"lowest": -1.5, "highest": 2.0, "CLS": "TensorData"}, "b": [-1.0, 1.0], "#
            + #""c": {"lowest": {"data": [-1.0, -2.0], "dtype": "float32", "CLS": "numpy.array"}, "highest": {"data": [1.0, 2.0]}, "hist": [1, 2]}}"#
        let t = try OnnxRuntimeCalibration.parseCalibrationJSON(Data(bare.utf8), derive: Derivation.encoder(scheme))
        #expect(t.entries.map(\.name) == ["a", "b", "c"])
        #expect(t.entries[0].observedMin == [-1.5] && t.entries[0].observedMax == [2])
        #expect(t.entries[1].observedMin == [-1] && t.entries[1].observedMax == [1])
        #expect(t.entries[2].encoding.channelAxis == 1 && t.entries[2].encoding.channelCount == 2)
        // Python's NaN/Infinity parse, but a non-finite range never reaches a session.
        Self.rejects("json non-finite", "tensor 'd': the calibrated range is not finite") {
            try OnnxRuntimeCalibration.parseCalibrationJSON(
                Data(#"{"d": {"lowest": NaN, "highest": Infinity}}"#.utf8), derive: Derivation.encoder(scheme))
        }
    }

    /// Ranges written for entries without an observed range, per-channel entries and non-finite values.
    @Test func ortRanges() {
        let scheme = QuantScheme()
        let perChannel = Encoding(observedMin: [-1, -3], observedMax: [2, 1], scheme: scheme, channelAxis: 1)
        let table = EncodingTable(entries: [
            .init(name: "pc", role: .activation, encoding: perChannel, observedMin: [-1, -3], observedMax: [2, 1]),
            .init(name: "enc", role: .param, encoding: perChannel),
            .init(
                name: "never", role: .activation, encoding: perChannel, observedMin: [.infinity, .nan],
                observedMax: [-.infinity, .nan]),
        ])
        #expect(OnnxRuntimeCalibration.range(table.entries[0]) == (-3, 2))
        #expect(OnnxRuntimeCalibration.range(table.entries[1]) == (perChannel.min.min()!, perChannel.max.max()!))
        #expect(OnnxRuntimeCalibration.range(table.entries[2]) == (0, 0))
        #expect(OnnxRuntimeCalibration.cache(table) == "enc \(JSONValue.format(perChannel.max.max()!))\nnever 0.0\npc 2.0\n")
    }

    @Test func ortRejectsMalformedFiles() throws {
        let scheme = QuantScheme(convention: .onnxruntime)
        let json = { (s: String) in
            try OnnxRuntimeCalibration.parseCalibrationJSON(Data(s.utf8), derive: Derivation.encoder(scheme))
        }
        Self.rejects("json syntax", "invalid JSON: line 1, column 9") { try json(#"{"a": 1,}"#) }
        Self.rejects("json array", "must be a JSON object") { try json("[1]") }
        Self.rejects("json CLS", "CLS must be \"TensorsData\"") { try json(#"{"CLS": "Other", "data": {}}"#) }
        Self.rejects("json data", "data must be an object") { try json(#"{"CLS": "TensorsData", "data": 3}"#) }
        Self.rejects("json range", "tensor 'x' has no lowest/highest range") { try json(#"{"x": {"lowest": 1.0}}"#) }
        Self.rejects("json lowest", "tensor 'x': lowest must be") { try json(#"{"x": {"lowest": "1", "highest": 2.0}}"#) }
        Self.rejects("json counts", "1 lowest values but 2 highest values") {
            try json(#"{"x": {"lowest": {"data": [1.0]}, "highest": {"data": [1.0, 2.0]}}}"#)
        }
        Self.rejects("json empty", "0 lowest values") { try json(#"{"x": {"lowest": {"data": []}, "highest": {"data": []}}}"#) }
        Self.rejects("json pair", "[lowest, highest] pair") { try json(#"{"x": [1.0]}"#) }
        Self.rejects("json duplicate", "tensor 'x' appears twice") { try json(#"{"x": [0, 1], "x": [0, 2]}"#) }
        Self.rejects("json value", "must be a TensorData object, found a string") { try json(#"{"x": "y"}"#) }

        let cache = { (s: String) in try OnnxRuntimeCalibration.parseCache(Data(s.utf8), derive: Derivation.encoder(scheme)) }
        Self.rejects("cache no value", "line 2: expected 'NAME VALUE'") { try cache("a 1.0\nb\n") }
        Self.rejects("cache value", "tensor 'a': value 'x1' is not a number") { try cache("a x1\n") }
        Self.rejects("cache duplicate", "tensor 'a' appears twice") { try cache("a 1\na 2\n") }
        Self.rejects("cache utf8", "not UTF-8") {
            try OnnxRuntimeCalibration.parseCache(Data([0x61, 0x20, 0xFF]), derive: Derivation.encoder(scheme))
        }
        Self.rejects("cache empty", "holds no encodings") { try cache("") }
        #expect(try cache("with space 1.5\r\n\n").entries.map(\.name) == ["with space"])

        let fb = try Self.data("formats/onnxruntime/calibration.flatbuffers")
        let flat = { (d: Data) in try OnnxRuntimeCalibration.parseFlatbuffers(d, derive: Derivation.encoder(scheme)) }
        Self.rejects("fb empty", "too short") { try flat(Data()) }
        Self.rejects("fb root", "points past the end") { try flat(Data([0xFF, 0, 0, 0, 0, 0, 0, 0])) }
        Self.rejects("fb truncated", "byte") { try flat(fb.prefix(200)) }
        var badLength = [UInt8](fb)
        badLength[0x34] = 0xFF  // the length of the first value string ("0.30000001192092896" at 0x38)
        Self.rejects("fb string length", "at byte 52 claims 255 bytes, more than the buffer holds") { try flat(Data(badLength)) }
        var badText = [UInt8](fb)
        badText[0x38] = 0xFF
        Self.rejects("fb string UTF-8", "TrtTable.dict[0].value at byte 52 is not valid UTF-8") { try flat(Data(badText)) }
        var badVtable = [UInt8](fb)
        badVtable[0x0C] = 0x7F  // the root table's vtable offset
        Self.rejects("fb vtable", "vtable") { try flat(Data(badVtable)) }
    }

    // MARK: - TensorRT

    @Test func tensorRTCache() throws {
        let scheme = QuantScheme(convention: .tensorrt, bitwidth: 8, symmetric: true, signed: true)
        let one = Encoding(observedMin: [-0.5], observedMax: [1], scheme: scheme, channelAxis: nil)
        let wide = Encoding(observedMin: [-2.5], observedMax: [1], scheme: scheme, channelAxis: nil)
        // Entries under another convention: the scale comes from the observed range, else the encoding's range.
        let aimet = Encoding(observedMin: [-0.25], observedMax: [3], scheme: QuantScheme(), channelAxis: nil)
        let table = EncodingTable(entries: [
            .init(name: "input", role: .activation, encoding: one, observedMin: [-0.5], observedMax: [1]),
            .init(name: "name: with colon", role: .activation, encoding: wide, observedMin: [-2.5], observedMax: [1]),
            .init(name: "enc", role: .param, encoding: one),
            .init(name: "observed", role: .activation, encoding: aimet, observedMin: [-0.25], observedMax: [3]),
            .init(name: "aimet", role: .activation, encoding: aimet),
        ])
        let text = TensorRTCache.export(table)
        #expect(
            text == """
                TRT-100300-MinMaxCalibration
                input: 3c010204
                name: with colon: \(TensorRTCache.hex(2.5 / 127))
                enc: 3c010204
                observed: \(TensorRTCache.hex(3 / 127))
                aimet: \(TensorRTCache.hex(aimet.max[0] / 127))

                """)
        #expect(aimet.max[0] != 3)
        #expect(
            TensorRTCache.export(table, version: "8601", algorithm: "EntropyCalibration2").hasPrefix(
                "TRT-8601-EntropyCalibration2\n"))
        #expect(try TensorRTCache.header(Data(text.utf8)) == ("100300", "MinMaxCalibration"))

        let back = try TensorRTCache.parse(Data(text.utf8))
        #expect(back.entries.map(\.name) == ["input", "name: with colon", "enc", "observed", "aimet"])
        #expect(
            back.entries[0].encoding
                == Encoding(
                    scheme: scheme, channelAxis: nil, scale: [1 / 127], offset: [0], min: [-(1 / 127) * 127],
                    max: [(1 / 127) * 127]))
        #expect(back.entries[0].encoding == Encoding(observedMin: [-1], observedMax: [1], scheme: scheme, channelAxis: nil))
        #expect(back.entries[1].encoding.scale == [2.5 / 127])
        #expect(back.entries[0].observedMax == [(1 / Float(127)) * 127])
        #expect(try TensorRTCache.parse(Data(text.replacingOccurrences(of: "\n", with: "\r\n").utf8)) == back)
    }

    /// A cache read and written again is the same file: the scale read is written back as it was,
    /// not recomputed as `(scale * 127) / 127`, which differs by an ulp for about 0.75 % of scales
    /// (fuzz/crashes/tensorrt/finding-tensorrt-roundtrip-scale).
    @Test func tensorRTCacheRoundTripsByteForByte() throws {
        let text = "TRT-100300-MinMaxCalibration\na: 30eb3c40\nb: 3c010204\nc: 00800000\n"
        let table = try TensorRTCache.parse(Data(text.utf8))
        #expect(TensorRTCache.hex((table.entries[0].observedMax![0]) / 127) == "30eb3c41")  // why the scale is kept
        #expect(TensorRTCache.export(table) == text)
    }

    @Test func configRulesAreValidatedWhenTheFileIsRead() {
        let cases: [(String, String)] = [
            (#"{"a*": {"bitwidth": 1000}}"#, "'a*': bitwidth 1000 is not supported by any convention"),
            (#"{"a*": {"bitwidth": 1}}"#, "bitwidth 1 is not supported"),
            (#"{"a*": {"averaging_constant": 0}}"#, "'a*': averaging_constant must be in (0, 1], got 0.0"),
            (#"{"a*": {"averaging_constant": 1.5}}"#, "averaging_constant must be in (0, 1]"),
            (#"{"a*": {"averaging_constant": 1e39}}"#, "beyond the float32 range"),
            (#"{"a*": {"convention": "aimet", "reduce_range": true}}"#, "--reduce-range only applies"),
            (#"{"a*": {"convention": "onnxruntime", "bitwidth": 6}}"#, "bitwidth 6 is not supported by convention 'onnxruntime'"),
            (#"{"a*": {"convention": "tensorrt", "symmetric": false}}"#, "symmetric and signed only"),
            (
                #"{"a*": {"convention": "aimet-legacy", "bitwidth": 32}}"#,
                "bitwidth 32 is not supported by convention 'aimet-legacy'"
            ),
        ]
        for (text, fragment) in cases {
            do {
                _ = try CalibrationConfig.parse(Data(text.utf8))
                Issue.record("\(text): accepted")
            } catch {
                #expect("\(error)".contains(fragment), "\(text): \(error)")
            }
        }
        // What depends on the flags a rule meets is left to the run: reduce_range alone may meet --convention pytorch.
        #expect(throws: Never.self) {
            try CalibrationConfig.parse(
                Data(
                    #"{"a*": {"reduce_range": true, "bitwidth": 32}, "b": {"convention": "pytorch", "reduce_range": true}}"#.utf8)
            )
        }
    }

    @Test func tensorRTRejectsMalformedCaches() {
        let parse = { (s: String) in try TensorRTCache.parse(Data(s.utf8)) }
        Self.rejects("empty", "missing the 'TRT-<version>-<algorithm>' header") { try parse("") }
        Self.rejects("blank first line", "missing the") { try parse("\nTRT-8601-X\n") }
        Self.rejects("header", "line 1: expected 'TRT-<version>-<algorithm>'") { try parse("TRT-abc-MinMax\n") }
        Self.rejects("header algorithm", "line 1") { try parse("TRT-8601-\n") }
        Self.rejects("no colon", "line 2: expected 'NAME: HEX'") { try parse("TRT-8601-X\ninput 3c010204\n") }
        Self.rejects("short hex", "'3c01020' is not 8 hex digits") { try parse("TRT-8601-X\ninput: 3c01020\n") }
        Self.rejects("bad hex", "is not 8 hex digits") { try parse("TRT-8601-X\ninput: 3c01020g\n") }
        Self.rejects("NaN", "7fc00000 is not a finite non-negative scale") { try parse("TRT-8601-X\ninput: 7fc00000\n") }
        Self.rejects("negative", "bf800000 is not a finite") { try parse("TRT-8601-X\ninput: bf800000\n") }
        Self.rejects("zero", "line 2: 00000000 is a zero or subnormal scale") { try parse("TRT-8601-X\ninput: 00000000\n") }
        Self.rejects("subnormal", "007fffff is a zero or subnormal") { try parse("TRT-8601-X\ninput: 007fffff\n") }
        Self.rejects("duplicate", "line 3: tensor 'a' appears twice") { try parse("TRT-8601-X\na: 3c010204\na: 3c010204\n") }
        Self.rejects("utf8", "not UTF-8") { try TensorRTCache.parse(Data([0x54, 0xFF])) }
    }

    // MARK: - CSV

    @Test func csvRows() {
        let perTensor = Encoding(
            scheme: QuantScheme(), channelAxis: nil, scale: [0.026129426434636116], offset: [-105],
            min: [-2.7435898780822754], max: [3.9194140434265137])
        let perChannel = Encoding(
            scheme: QuantScheme(bitwidth: 4, symmetric: true), channelAxis: 0, scale: [0.5, 0.25], offset: [0, 0],
            min: [-4, -2], max: [3.5, 1.75])
        let table = EncodingTable(entries: [
            .init(
                name: "layer1.out", role: .activation, encoding: perTensor, observedMin: [-2.7330002784729004],
                observedMax: [3.9300038814544678]),
            .init(
                name: "conv,\"w\"", role: .param, encoding: perChannel, observedMin: [.infinity, -1e-05],
                observedMax: [-.infinity, 1]),
            .init(name: "plain", role: .param, encoding: perTensor),
        ])
        #expect(
            CSVEncodings.export(table) == #"""
                tensor,role,channel,bitwidth,symmetric,signed,scale,offset,zero_point,min,max,observed_min,observed_max
                layer1.out,activation,,8,false,false,0.026129426434636116,-105,105,-2.7435898780822754,3.9194140434265137,-2.7330002784729004,3.9300038814544678
                "conv,""w""",param,0,4,true,true,0.5,0,0,-4.0,3.5,,
                "conv,""w""",param,1,4,true,true,0.25,0,0,-2.0,1.75,-9.999999747378752e-06,1.0
                plain,param,,8,false,false,0.026129426434636116,-105,105,-2.7435898780822754,3.9194140434265137,,

                """#)
        #expect(CSVEncodings.quote("a\nb") == "\"a\nb\"")
        #expect(CSVEncodings.quote("a\rb") == "\"a\rb\"")
    }

    // MARK: - JSON

    @Test func jsonParseKeepsOrderAndTypes() throws {
        let v = try JSONValue.parse(
            Data(#"{"z": 1, "a": [1.5, -0, 1e2, 12345678901234567890, true, null], "m": "\u00e9\ud83d\ude00\n\/", "z": 2}"#.utf8))
        guard case .object(let members) = v else {
            Issue.record("not an object")
            return
        }
        #expect(members.map(\.0) == ["z", "a", "m", "z"])
        #expect(v.member("z") == .int(2))
        #expect(v.member("a") == .array([.float(1.5), .int(0), .float(100), .float(1.2345679e19), .bool(true), .null]))
        #expect(v.member("m")?.stringValue == "é😀\n/")
        #expect(try JSONValue.parse(Data("\u{FEFF} [] ".utf8)) == .array([]))
        #expect(try JSONValue.parse(Data("NaN".utf8), allowNonFinite: true).floatValue?.isNaN == true)
        #expect(try JSONValue.parse(Data("[-Infinity]".utf8), allowNonFinite: true) == .array([.float(-.infinity)]))
        // Python's json.dumps layout.
        #expect(
            v.pythonJSON(indent: nil)
                == #"{"z": 1, "a": [1.5, 0, 100.0, 1.2345679395506094e+19, true, null], "m": "\u00e9\ud83d\ude00\n/", "z": 2}"#)
        #expect(
            JSONValue.array([.float(.nan), .float(.infinity), .object([])]).pythonJSON(indent: 1)
                == "[\n NaN,\n Infinity,\n {}\n]")
    }

    @Test func jsonRejectsInvalidDocuments() {
        let cases: [(String, String)] = [
            ("", "line 1, column 1 (byte 0): empty document"),
            ("   ", "expected a value, found end of input"),
            ("{\"a\": 1,}", "line 1, column 9 (byte 8): expected a string key, found '}'"),
            ("[1 2]", "column 4 (byte 3): expected ',' or ']' in array, found '2'"),
            ("{\"a\" 1}", "expected ':' after key"),
            ("[1,\n  01]", "line 2, column 3 (byte 6): leading zero"),
            ("1.", "expected a digit after '.'"),
            ("1e+", "expected a digit in exponent"),
            ("-", "expected a digit in number"),
            ("\"a\\x\"", "invalid escape '\\x'"),
            ("\"a\u{01}\"", "control character 0x1 in string"),
            ("\"\\ud800\"", "unpaired high surrogate"),
            ("\"\\udc00\"", "unpaired low surrogate"),
            ("\"\\u12g4\"", "invalid hex digit 'g'"),
            ("\"abc", "unterminated string"),
            ("tru", "invalid literal (expected 'true')"),
            ("NaN", "expected a value, found 'N'"),
            ("{} x", "unexpected 'x' after the document"),
            ("[", "expected a value, found end of input"),
            ("{\"a\": [1, {\"b\": 2}", "unterminated array"),
            ("[1e39]", "line 1, column 2 (byte 1): number '1e39' is beyond the float32 range"),
            ("[-4e38]", "number '-4e38' is beyond the float32 range"),
        ]
        for (text, fragment) in cases {
            Self.rejects(text, fragment) { try JSONValue.parse(Data(text.utf8)) }
        }
        Self.rejects("invalid UTF-8", "not valid UTF-8") { try JSONValue.parse(Data([0x22, 0xC3, 0x28, 0x22])) }
        let limit = JSONValue.maximumDepth
        #expect(throws: Never.self) {
            try JSONValue.parse(Data((String(repeating: "[", count: limit) + String(repeating: "]", count: limit)).utf8))
        }
        Self.rejects("too deep", "nesting deeper than 512 levels") {
            try JSONValue.parse(Data((String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)).utf8))
        }
        Self.rejects("very deep", "nesting deeper") {
            try JSONValue.parse(Data(String(repeating: "{\"a\":", count: 100_000).utf8))
        }
    }

    // MARK: - Garbage

    /// Mutated and truncated versions of every fixture: each parser returns or throws a FormatError,
    /// never traps.
    @Test func parsersSurviveMutations() throws {
        let files = [
            "golden/aimet-exports/onnx_export_0.6.1.encodings", "golden/aimet-exports/onnx_export_1.0.0.encodings",
            "golden/aimet-exports/onnx_export_2.0.0.encodings", "golden/aimet-exports/sim_export_torch_keys.encodings",
            "formats/onnxruntime/calibration.json", "formats/onnxruntime/calibration.flatbuffers",
            "formats/onnxruntime/calibration.cache",
        ]
        let trt = Data(TensorRTCache.export(try Self.goldenTable("aimet_multibatch_sym_signed_8")).utf8)
        let inputs = try files.map(Self.data) + [trt]
        let scheme = QuantScheme(convention: .pytorch)
        let parsers: [(Data) throws -> Any] = [
            { try AimetEncodings.parse($0) }, { try AimetEncodings.parseQuantizerArgs($0) as Any },
            { try OnnxRuntimeCalibration.parseCalibrationJSON($0, derive: Derivation.encoder(scheme)) },
            { try OnnxRuntimeCalibration.parseFlatbuffers($0, derive: Derivation.encoder(scheme)) },
            { try OnnxRuntimeCalibration.parseCache($0, derive: Derivation.encoder(scheme)) }, { try TensorRTCache.parse($0) },
        ]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        let interesting: [UInt8] = [
            0, 0xFF, 0x7F, 0x80, UInt8(ascii: "\""), UInt8(ascii: "{"), UInt8(ascii: "]"), UInt8(ascii: "-"), UInt8(ascii: "9"),
            UInt8(ascii: "e"),
        ]
        for input in inputs {
            for round in 0..<300 {
                var bytes = [UInt8](input)
                switch round % 3 {
                case 0: bytes = Array(bytes.prefix(next(bytes.count + 1)))
                case 1: for _ in 0...next(4) { bytes[next(bytes.count)] = interesting[next(interesting.count)] }
                default: for _ in 0...next(4) { bytes[next(bytes.count)] = UInt8(next(256)) }
                }
                for parse in parsers {
                    do {
                        _ = try parse(Data(bytes))
                    } catch is FormatError {
                    } catch {
                        Issue.record("threw \(error) instead of a FormatError")
                    }
                }
            }
        }
    }
}
