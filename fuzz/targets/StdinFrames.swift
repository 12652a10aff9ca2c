// libFuzzer target: concatenated safetensors frames written to a pipe and read by SafetensorsFrameStream, as `calib run -` reads stdin.
// The parser call and the invariants are FuzzHarness / FuzzInvariants in
// Tests/CalibTests/FuzzCorpusTests.swift (built with -D FUZZ_BUILD); fuzz/run.sh builds and runs this.
@testable import CalibFuzz

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzHarness.fuzzOne(.stdinFrames, data, size)
}
