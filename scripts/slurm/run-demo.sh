#!/usr/bin/env bash
# End to end on this machine: a one-machine Slurm, a 4-task job array calibrating the sample
# samples/minilm one shard per task, a merge job after it (afterok), then one single calib run over
# all batches, and the checks: calib diff merged vs single reports 0 changed (and no tensor on one
# side only), and calib export of both is byte-identical (cmp) in every format of DEMO_FORMATS.
# Exits non-zero when any step or check fails. Must run as root (it starts Slurm).
#
# Environment:
#   DEMO_DIR            working directory (default REPO/.build/slurm-demo; emptied of old results)
#   DEMO_SHARDS         array size N (default 4: the sample has 4 batches)
#   DEMO_FLAGS          calib run flags for shards and single run (default none: the Quick start's)
#   DEMO_SESSION        session name (default minilm)
#   DEMO_FORMATS        export formats to compare; "default" means no --format
#                       (default: "default json aimet aimet-0.6.1 aimet-2.0.0 csv onnxruntime-cache tensorrt")
#   DEMO_TIMEOUT        seconds to wait for the jobs (default 600)
#   DEMO_RECORD_DIR     if set, the transcript, job outputs and diff are copied there (no .sqlite);
#                       relative to the current directory
#   CALIB               calib binary; default REPO/.build/$CALIB_CONFIGURATION/calib, built if missing
#   CALIB_CONFIGURATION release (default) or debug
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

shards=${DEMO_SHARDS:-4}
session=${DEMO_SESSION:-minilm}
flags_str=${DEMO_FLAGS:-}
formats_str=${DEMO_FORMATS:-default json aimet aimet-0.6.1 aimet-2.0.0 csv onnxruntime-cache tensorrt}
timeout=${DEMO_TIMEOUT:-600}
config=${CALIB_CONFIGURATION:-release}
demo=${DEMO_DIR:-$repo/.build/slurm-demo}
inputs=$repo/samples/minilm

mkdir -p "$demo"
demo=$(cd "$demo" && pwd)
record=""
if [[ -n ${DEMO_RECORD_DIR:-} ]]; then
    mkdir -p "$DEMO_RECORD_DIR"
    record=$(cd "$DEMO_RECORD_DIR" && pwd)
fi
transcript=$demo/transcript.txt
: >"$transcript"
# Everything (stdout and stderr) goes to the terminal's stderr and to the transcript.
exec > >(tee -a "$transcript" >&2) 2>&1

say() { printf '\n== %s\n' "$*"; }
run() { printf '$ %s\n' "$*" >&2; "$@"; }
fail() { printf 'run-demo: FAIL: %s\n' "$*"; failures=$((failures + 1)); }
die() { printf 'run-demo: error: %s\n' "$*"; exit 1; }
failures=0

say "run-demo $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname -s): $(nproc) CPUs, repo $(basename "$repo") at $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')"

read -r -a flags <<<"$flags_str"
read -r -a formats <<<"$formats_str"

# --- calib -----------------------------------------------------------------------------------
calib=${CALIB:-$repo/.build/$config/calib}
if [[ ! -x $calib ]]; then
    [[ -z ${CALIB:-} ]] || die "CALIB=$CALIB is not an executable"
    say "building calib ($config)"
    (cd "$repo" && run swift build -c "$config" --product calib)
fi
calib=$(cd "$(dirname "$calib")" && pwd)/$(basename "$calib")
run "$calib" --version

# --- Slurm -----------------------------------------------------------------------------------
say "starting the local Slurm"
run "$here/start-local-slurm.sh"
run sinfo --version

# --- the jobs --------------------------------------------------------------------------------
say "cleaning $demo"
rm -f "$demo"/shard-*.sqlite "$demo"/merged.sqlite "$demo"/single.sqlite "$demo"/*.sqlite-wal \
    "$demo"/*.sqlite-shm "$demo"/calib-*.out "$demo"/diff.txt
rm -rf "$demo/export"

export CALIB=$calib CALIB_SESSION=$session CALIB_INPUTS=$inputs CALIB_FLAGS=$flags_str \
    CALIB_OUT_DIR=$demo CALIB_SHARDS=$shards
say "submitting: a $shards-task array, then the merge after it (afterok)"
array_job=$(run sbatch --parsable --chdir="$demo" --array="0-$((shards - 1))" "$here/calibrate-array.sbatch")
array_job=${array_job##*$'\n'}
array_job=${array_job%%;*}
echo "array job $array_job"
merge_job=$(run sbatch --parsable --chdir="$demo" --dependency="afterok:$array_job" "$here/merge.sbatch")
merge_job=${merge_job##*$'\n'}
merge_job=${merge_job%%;*}
echo "merge job $merge_job"
run squeue -j "$array_job,$merge_job"

say "waiting for jobs $array_job and $merge_job (up to ${timeout}s)"
start=$SECONDS
last=""
while :; do
    q=$(squeue -h -j "$array_job,$merge_job" -o '%i %j %T %r' 2>/dev/null || true)
    if [[ $q != "$last" ]]; then
        printf '[%3ds] squeue:\n%s\n' $((SECONDS - start)) "${q:-  (empty: all jobs left the queue)}"
        last=$q
    fi
    [[ -n $q ]] || break
    if grep -q DependencyNeverSatisfied <<<"$q"; then
        fail "the merge's dependency can never be satisfied (an array task failed); cancelling it"
        run scancel "$merge_job"
        break
    fi
    if (( SECONDS - start > timeout )); then
        fail "jobs still queued after ${timeout}s; cancelling them"
        run scancel "$array_job" "$merge_job"
        break
    fi
    sleep 1
done
printf 'jobs finished in %ds\n' $((SECONDS - start))

say "job states (scontrol: this cluster has no accounting database, so no sacct)"
field() { grep -o " $1=[^ ]*" <<<"$2" | head -n 1 | cut -d= -f2-; }
for job in $(seq -f "${array_job}_%g" 0 $((shards - 1))) "$merge_job"; do
    line=$(scontrol show job -o "$job" 2>/dev/null || true)
    state=$(field JobState "$line")
    printf '%-6s %-12s JobState=%-10s ExitCode=%-4s NodeList=%-4s StartTime=%s EndTime=%s RunTime=%s\n' \
        "$job" "$(field JobName "$line")" "${state:-UNKNOWN}" "$(field ExitCode "$line")" \
        "$(field NodeList "$line")" "$(field StartTime "$line")" "$(field EndTime "$line")" "$(field RunTime "$line")"
    [[ $state == COMPLETED ]] || fail "job $job: ${state:-UNKNOWN}"
done

jobs_failed=$failures

say "job outputs"
for f in "$demo"/calib-shard-*.out "$demo"/calib-merge-*.out; do
    [[ -f $f ]] || continue
    printf -- '--- %s\n' "$(basename "$f")"
    cat "$f"
done

say "shard batch counts"
total=0
for task in $(seq 0 $((shards - 1))); do
    out=$demo/calib-shard-${array_job}_$task.out
    summary=$(grep -h "^session '$session': " "$out" 2>/dev/null | tail -n 1 || true)
    n=$(sed -n 's/.*: \([0-9]*\) batch\(es\)\{0,1\} added.*/\1/p' <<<"$summary")
    printf 'shard %s/%s: %s batches  (%s)\n' "$task" "$shards" "${n:-?}" "${summary:-no summary line}"
    [[ -n $n ]] || { fail "shard $task printed no summary"; continue; }
    total=$((total + n))
done
printf 'shards together: %d batches\n' "$total"
if command -v sqlite3 >/dev/null && (( jobs_failed == 0 )); then
    echo "batches per shard (sqlite3, table batches):"
    for task in $(seq 0 $((shards - 1))); do
        printf 'shard-%s.sqlite: %s\n' "$task" \
            "$(sqlite3 "$demo/shard-$task.sqlite" "SELECT group_concat(replace(source, '$inputs/', ''), ' ') FROM (SELECT source FROM batches ORDER BY seq)")"
    done
    echo "merged.sqlite: seq, batch, origin"
    sqlite3 -separator '  ' "$demo/merged.sqlite" \
        "SELECT seq, replace(source, '$inputs/', ''), replace(origin, '$demo/', '') FROM batches ORDER BY seq"
fi

(( jobs_failed == 0 )) || die "the Slurm jobs did not all complete ($jobs_failed problem(s) above); no checks run"
[[ -s $demo/merged.sqlite ]] || die "no merged.sqlite: $failures failure(s) above"

# --- one single run over all batches ---------------------------------------------------------
say "one single run over all batches"
cd "$demo"
run "$calib" run --db single.sqlite --session "$session" "${flags[@]}" "$inputs"
run "$calib" sessions --db merged.sqlite
run "$calib" sessions --db single.sqlite

# --- checks ----------------------------------------------------------------------------------
say "check 1: calib diff merged.sqlite:$session single.sqlite:$session"
set +e
"$calib" diff --db single.sqlite "merged.sqlite:$session" "single.sqlite:$session" >diff.txt 2>&1
rc=$?
set -e
printf '$ calib diff --db single.sqlite merged.sqlite:%s single.sqlite:%s   (exit %d)\n' "$session" "$session" "$rc"
cat diff.txt
summary=$(tail -n 1 diff.txt)
if [[ $rc -eq 0 && $summary =~ ^([0-9]+)\ tensors\ compared,\ 0\ changed,.*\ 0\ only\ in\ A,\ 0\ only\ in\ B$ ]]; then
    echo "check 1 PASS: ${BASH_REMATCH[1]} tensors compared, 0 changed, none on one side only"
else
    fail "check 1: diff did not report 0 changed with no tensor on one side only"
fi
if [[ $total -ne 4 ]]; then
    fail "the shards hold $total batches together, the sample has 4"
fi

say "check 2: calib export of both, byte for byte"
mkdir -p export
for fmt in "${formats[@]}"; do
    fopt=()
    [[ $fmt == default ]] || fopt=(--format "$fmt")
    for side in merged single; do
        "$calib" export --db "$side.sqlite" "$session" "${fopt[@]}" -o "export/$side.$fmt" \
            || fail "export $fmt of $side failed"
    done
    if cmp "export/merged.$fmt" "export/single.$fmt"; then
        printf 'cmp %-18s identical  (%s bytes, sha256 %s)\n' "$fmt" "$(wc -c <"export/merged.$fmt")" \
            "$(sha256sum "export/merged.$fmt" | cut -c1-16)"
    else
        fail "export $fmt differs between merged and single"
    fi
done

say "calib check of both databases"
run "$calib" check --db merged.sqlite || fail "calib check merged.sqlite"
run "$calib" check --db single.sqlite || fail "calib check single.sqlite"

say "result"
if (( failures == 0 )); then
    echo "PASS: $shards shards via Slurm jobs $array_job (array) + $merge_job (merge); diff 0 changed; exports byte-identical in: ${formats[*]}"
else
    echo "FAIL: $failures check(s) failed"
fi

if [[ -n $record ]]; then
    rm -f "$record"/calib-*.out "$record/diff.txt" "$record/transcript.txt"
    cp "$demo"/calib-*.out "$demo/diff.txt" "$record"/ 2>/dev/null || true
    echo "recorded in $record (transcript.txt, job outputs, diff.txt)"
    sleep 0.2
    cp "$transcript" "$record/transcript.txt"
fi
(( failures == 0 ))
