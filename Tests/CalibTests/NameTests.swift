import CalibTestSupport
import Foundation
import Testing

@testable import CalibFormats
@testable import CalibKit
@testable import CalibModel
@testable import CalibReaders

/// Names are kept byte for byte (issue 13, finding 13): Swift's `String ==` compares canonically, so
/// the places that key on tensor names use `ExactName`/`NameMap`; names no target format can hold
/// are refused.
@Suite struct NameTests {
    static let nfc = "caf\u{E9}", nfd = "cafe\u{301}"

    @Test func exactNamesCompareBytes() {
        #expect(Self.nfc == Self.nfd)  // what Swift does
        #expect(ExactName(Self.nfc) != ExactName(Self.nfd))
        #expect(Set([ExactName(Self.nfc), ExactName(Self.nfd), ExactName(Self.nfc)]).count == 2)
        var map: NameMap<Int> = [:]
        map[Self.nfc] = 1
        map[Self.nfd, default: 10] += 1
        #expect(map[Self.nfc] == 1 && map[Self.nfd] == 11 && map.count == 2)
        #expect(Set(map.map { Array($0.0.utf8) }) == [Array(Self.nfc.utf8), Array(Self.nfd.utf8)])
    }

    @Test func problemsOfNames() {
        #expect(Names.tensorProblem("conv1/Relu:0") == nil)
        #expect(Names.tensorProblem("a: b") == nil)
        #expect(Names.tensorProblem(Self.nfd) == nil)
        #expect(Names.tensorProblem("")?.contains("empty") == true)
        #expect(Names.tensorProblem("a\0b")?.contains("NUL") == true)
        #expect(Names.tensorProblem("a\nb")?.contains("U+000A") == true)
        #expect(Names.tensorProblem("a\u{85}b")?.contains("U+0085") == true)
        #expect(Names.tensorProblem("a\u{7F}")?.contains("U+007F") == true)
        #expect(Names.sessionProblem("a:b") != nil && Names.sessionProblem("") != nil && Names.sessionProblem("a b") == nil)
        #expect(Names.labelProblem("default") != nil && Names.labelProblem("w\t4") != nil && Names.labelProblem("w4") == nil)
        #expect(Names.printable("x\ny\0") == "x\\u{a}y\\u{0}")
    }

    @Test func readersAndImportersKeepBothSpellings() throws {
        let cache = "TRT-8601-X\n\(Self.nfc): 3c010204\n\(Self.nfd): 3d4ccccd\n"
        let table = try TensorRTCache.parse(Data(cache.utf8))
        #expect(table.entries.map { Array($0.name.utf8) } == [Array(Self.nfc.utf8), Array(Self.nfd.utf8)])
        let file = TensorFiles.safetensors([(Self.nfc, [1], [1]), (Self.nfd, [1], [2])])
        let parsed = try file.withUnsafeBytes { try SafetensorsParser.tensors(in: $0, storage: file as NSData, file: "x") }
        #expect(parsed.map { Array($0.name.utf8) } == [Array(Self.nfc.utf8), Array(Self.nfd.utf8)])
        // An importer refuses a name the store and the other formats cannot hold.
        #expect(throws: FormatError.self) { try TensorRTCache.parse(Data("TRT-8601-X\na\u{1}: 3c010204\n".utf8)) }
    }
}
