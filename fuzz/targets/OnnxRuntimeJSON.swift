// libFuzzer target: an ONNX Runtime calibration.json / quantize_static cache, OnnxRuntimeCalibration.parseCalibrationJSON under several schemes.
// The parser call and the invariants are FuzzHarness / FuzzInvariants in
// Tests/CalibTests/FuzzCorpusTests.swift (built with -D FUZZ_BUILD); fuzz/run.sh builds and runs this.
@testable import CalibFuzz

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzHarness.fuzzOne(.onnxruntimeJSON, data, size)
}
