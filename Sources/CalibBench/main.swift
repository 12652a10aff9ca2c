import CalibKit
import Foundation

// calib-bench: observer throughput against the machine's read bandwidth and numpy/torch, the
// end-to-end runner, and the store at model scale. See bench/README.md.

let usage = """
    usage: calib-bench [--quick] [--section N]... [--reps R] [--python PATH] [--no-baseline]

      --quick         small inputs (a smoke run of every section in well under a minute)
      --section N     run only section N (1 observers, 2 end to end, 3 store, 4 histograms); repeatable
      --reps R        repetitions per measurement, the best is kept (default 7, 3 with --quick)
      --python PATH   interpreter for bench/baseline.py (default $CALIB_BENCH_PYTHON or python3)
      --no-baseline   skip the numpy/torch baselines
    """

var quick = false
var sections: Set<Int> = []
var reps: Int? = nil
var python = ProcessInfo.processInfo.environment["CALIB_BENCH_PYTHON"] ?? "python3"
var withBaseline = true
var args = CommandLine.arguments.dropFirst()
while let arg = args.popFirst() {
    switch arg {
    case "--quick": quick = true
    case "--no-baseline": withBaseline = false
    case "--section":
        guard let v = args.popFirst().flatMap(Int.init), (1...4).contains(v) else {
            print(usage)
            exit(64)
        }
        sections.insert(v)
    case "--reps":
        guard let v = args.popFirst().flatMap(Int.init), v > 0 else {
            print(usage)
            exit(64)
        }
        reps = v
    case "--python":
        guard let v = args.popFirst() else {
            print(usage)
            exit(64)
        }
        python = v
    case "-h", "--help":
        print(usage)
        exit(0)
    default:
        print("calib-bench: unknown argument \(arg)\n\(usage)")
        exit(64)
    }
}
if sections.isEmpty { sections = [1, 2, 3, 4] }
let repetitions = reps ?? (quick ? 3 : 7)

#if DEBUG
print("warning: a debug build; run with -c release for meaningful figures")
#endif
print("calib-bench\(quick ? " --quick" : "") (\(repetitions) repetitions)")
print(machineLine())

do {
    if sections.contains(1) {
        // The baselines first, while this process holds no large buffer.
        let baseline = withBaseline ? Baseline.run(python: python, quick: quick, reps: repetitions) : nil
        ObserverBench.run(quick: quick, reps: repetitions, baseline: baseline)
    }
    if sections.contains(2) { try EndToEndBench.run(quick: quick, reps: repetitions, python: python, withBaseline: withBaseline) }
    if sections.contains(3) { try StoreBench.run(quick: quick, reps: repetitions) }
    if sections.contains(4) { try HistogramBench.run(quick: quick, reps: repetitions, python: withBaseline ? python : nil) }
} catch {
    print("calib-bench: error: \(error)")
    exit(1)
}
