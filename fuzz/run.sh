#!/usr/bin/env bash
# Builds the libFuzzer targets and runs them.
#
#   fuzz/run.sh                    build every target, run each for 60 s, one after another
#   fuzz/run.sh npz 600            build and run one target for 600 s
#   fuzz/run.sh all 600            every target, 600 s each, one after another
#   fuzz/run.sh build [target]     build only
#   fuzz/run.sh replay TARGET FILE...   run inputs once (e.g. a saved crash) and print what happens
#
# Environment: JOBS=2 runs two targets at a time (default 1), NICE=10 (default) is the nice level,
# SKIP_BUILD=1 runs the binaries as built (no rebuild when a source changed meanwhile),
# FUZZ_ARGS adds libFuzzer flags (e.g. FUZZ_ARGS="-seed=1"), MERGE=1 merges new inputs into the corpus
# after a run (-merge=1 -use_counters=0: only inputs that reach new edges, so the corpus stays small).
#
# Layout: fuzz/build/ (binaries, gitignore it), fuzz/corpus/<target>/ (seeds, committed),
# fuzz/artifacts/<target>/ (libFuzzer's crash-*/oom-*/timeout-* files, gitignored; a crash worth keeping
# is copied to fuzz/crashes/<target>/), fuzz/build/findings/<target>/ (first input of each known-issue
# finding a run met), fuzz/logs/<target>.log and fuzz/logs/summary.txt (run output; gitignore fuzz/logs).
set -euo pipefail

FUZZ="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$FUZZ")"
BUILD="$FUZZ/build"
SWIFTC="${SWIFTC:-swiftc}"
NICE="${NICE:-10}"
JOBS="${JOBS:-1}"

# target name -> Swift file in fuzz/targets/ and the largest input libFuzzer generates.
declare -A FILE=(
    [safetensors]=Safetensors [npy]=Npy [npz]=Npz [stdin-frames]=StdinFrames [aimet]=Aimet
    [onnxruntime-json]=OnnxRuntimeJSON [onnxruntime-flatbuffers]=OnnxRuntimeFlatbuffers
    [onnxruntime-cache]=OnnxRuntimeCache [tensorrt]=TensorRT [config]=Config
)
declare -A MAXLEN=(
    [safetensors]=16384 [npy]=8192 [npz]=16384 [stdin-frames]=16384 [aimet]=16384
    [onnxruntime-json]=8192 [onnxruntime-flatbuffers]=4096 [onnxruntime-cache]=4096 [tensorrt]=4096 [config]=4096
)
ALL=(safetensors npy npz stdin-frames aimet onnxruntime-json onnxruntime-flatbuffers onnxruntime-cache tensorrt config)

# The fuzz library is the parsing stages' targets compiled as one module: every source of
# CalibSupport, CalibModel, CalibReaders, CalibDerivation and CalibFormats (the store, the observers'
# kernels and the CLI are not reached by any parser), less ContentHasher, which links libxxhash
# (replaced by fuzz/support/ContentHasherStub.swift). Their imports of one another are dropped from
# the staged copies, since here they are one module.
TARGETS=(CalibSupport CalibModel CalibReaders CalibDerivation CalibFormats)
SOURCES=()
for t in "${TARGETS[@]}"; do
    while IFS= read -r f; do SOURCES+=("$f"); done < <(find "$ROOT/Sources/$t" -name '*.swift' ! -name ContentHasher.swift | sort)
done
SOURCES+=("$FUZZ"/support/*.swift
    # The harness and invariants, shared with the corpus replay test.
    "$ROOT"/Tests/CalibTests/FuzzCorpusTests.swift)

# Copies SOURCES into $BUILD/src without the imports of calib's own modules.
stage_sources() {
    rm -rf "$BUILD/src"
    mkdir -p "$BUILD/src"
    local f n=0
    for f in "${SOURCES[@]}"; do
        n=$((n + 1))
        sed -E '/^(@testable )?import Calib[A-Za-z]*$/d' "$f" >"$BUILD/src/$n-$(basename "$f")"
    done
}
FLAGS=(-O -gline-tables-only -sanitize=fuzzer,address -parse-as-library -swift-version 6)

# Builds fuzz/build/libCalibFuzz.a (the sources above, one module, instrumented) when a source is newer.
build_core() {
    mkdir -p "$BUILD"
    [[ ${SKIP_BUILD:-0} == 1 && -f $BUILD/libCalibFuzz.a ]] && return 0
    local lib="$BUILD/libCalibFuzz.a" stale=0
    if [[ ! -f $lib ]]; then stale=1; else
        for f in "${SOURCES[@]}" "$0"; do [[ $f -nt $lib ]] && { stale=1; break; }; done
    fi
    ((stale)) || return 0
    echo "building fuzz/build/libCalibFuzz.a (${#SOURCES[@]} files of ${TARGETS[*]})" >&2
    stage_sources
    nice -n "$NICE" "$SWIFTC" "${FLAGS[@]}" -enable-testing -D FUZZ_BUILD -module-name CalibFuzz \
        -Xcc -fmodule-map-file="$ROOT/Sources/CZlib/module.modulemap" \
        -emit-module -emit-module-path "$BUILD/CalibFuzz.swiftmodule" \
        -emit-library -static -o "$lib" "$BUILD"/src/*.swift
}

build_target() {
    local target=$1 file=${FILE[$1]:?unknown target $1 (targets: ${ALL[*]})}
    local exe="$BUILD/$target" src="$FUZZ/targets/$file.swift"
    [[ ${SKIP_BUILD:-0} == 1 && -f $exe ]] && return 0
    if [[ -f $exe && ! $src -nt $exe && ! $BUILD/libCalibFuzz.a -nt $exe ]]; then return 0; fi
    echo "building fuzz/build/$target" >&2
    nice -n "$NICE" "$SWIFTC" "${FLAGS[@]}" -I "$BUILD" \
        -Xcc -fmodule-map-file="$ROOT/Sources/CZlib/module.modulemap" \
        "$src" "$BUILD/libCalibFuzz.a" -lz -o "$exe"
}

run_target() {
    local target=$1 seconds=$2
    local corpus="$FUZZ/corpus/$target" work="$BUILD/corpus/$target" artifacts="$FUZZ/artifacts/$target/"
    local log="$FUZZ/logs/$target.log"
    mkdir -p "$work" "$artifacts" "$FUZZ/logs"
    # libFuzzer writes new inputs into the first corpus directory: a scratch one, so the committed
    # seeds change only by an explicit merge.
    # SWIFT_BACKTRACE=enable=no: let libFuzzer's own handler see the trap (and save the input).
    env SWIFT_BACKTRACE=enable=no FUZZ_FINDINGS_DIR="$BUILD/findings/$target" \
        ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}" \
        nice -n "$NICE" "$BUILD/$target" "$work" "$corpus" \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len="${MAXLEN[$target]}" \
        -artifact_prefix="$artifacts" -print_final_stats=1 ${FUZZ_ARGS:-} >"$log" 2>&1 && status=0 || status=$?
    summarize "$target" "$log" "$status" "$seconds"
    if [[ ${MERGE:-0} == 1 ]]; then
        env SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 nice -n "$NICE" "$BUILD/$target" \
            -merge=1 -use_counters=0 -max_len="${MAXLEN[$target]}" "$corpus" "$work" >>"$log" 2>&1 || true
    fi
    return 0
}

# One line per run: executions, exec/s, coverage, features, corpus, crashes, findings.
summarize() {
    local target=$1 log=$2 status=$3 seconds=$4
    local execs rate cov ft crashes findings last
    execs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | awk '{print $2}' | tail -1)
    rate=$(grep -oE 'stat::average_exec_per_sec: +[0-9]+' "$log" | awk '{print $2}' | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | grep -E 'cov: ' | tail -1 || true)
    cov=$(grep -oE 'cov: [0-9]+' <<<"$last" | awk '{print $2}')
    ft=$(grep -oE 'ft: [0-9]+' <<<"$last" | awk '{print $2}')
    crashes=$(grep -cE 'Test unit written to .*(crash|oom|timeout|leak)-' "$log" || true)
    findings=$(grep -cE '^FINDING ' "$log" || true)
    printf '%-24s exit=%-3s seconds=%-5s execs=%-10s exec/s=%-7s cov=%-6s ft=%-6s crashes=%s findings=%s\n' \
        "$target" "$status" "$seconds" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$crashes" "$findings" \
        | tee -a "$FUZZ/logs/summary.txt"
    grep -E 'Test unit written to|^FINDING |invariant violated|SUMMARY' "$log" | head -20 || true
}

cmd=${1:-all}
case $cmd in
build)
    build_core
    for t in ${2:-${ALL[@]}}; do build_target "$t"; done
    ;;
replay)
    target=$2; shift 2
    build_core; build_target "$target"
    SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 "$BUILD/$target" -runs=1 "$@"
    ;;
*)
    seconds=${2:-60}
    if [[ $cmd == all ]]; then targets=("${ALL[@]}"); else targets=("$cmd"); fi
    build_core
    for t in "${targets[@]}"; do build_target "$t"; done
    running=0
    for t in "${targets[@]}"; do
        run_target "$t" "$seconds" &
        running=$((running + 1))
        if ((running >= JOBS)); then wait -n; running=$((running - 1)); fi
    done
    wait
    ;;
esac
