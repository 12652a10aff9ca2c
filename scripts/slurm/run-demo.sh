#!/usr/bin/env bash
# The scale-out recipe end to end on this machine: a one-machine Slurm (start-local-slurm.sh), the
# shipped MiniLM sample calibrated per channel as a 4-task job array, a dependent merge job, then
# one single run over all the batches, and the checks: `calib diff` of the merged session against
# the single run reports 0 changed, and the exports (json, aimet, csv) are byte-identical.
# Exits non-zero when a check fails. Writes the transcript to $CALIB_WORKDIR/transcript.txt.
#
#   sudo bash scripts/slurm/run-demo.sh                 # builds calib (release) when missing
#   CALIB=.build/debug/calib bash scripts/slurm/run-demo.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export CALIB=${CALIB:-$root/.build/release/calib}
export CALIB_WORKDIR=${CALIB_WORKDIR:-$root/.build/slurm-demo}
export CALIB_INPUTS=${CALIB_INPUTS:-$root/samples/minilm}
export CALIB_SESSION=${CALIB_SESSION:-minilm}
export CALIB_FLAGS=${CALIB_FLAGS:---per-channel-axis -1}
shards=${SHARDS:-4}
[[ $CALIB = /* ]] || CALIB=$root/$CALIB

if [[ ! -x $CALIB ]]; then
    (cd "$root" && swift build -c release --product calib) >&2
fi
mkdir -p "$CALIB_WORKDIR"
rm -f "$CALIB_WORKDIR"/*.sqlite* "$CALIB_WORKDIR"/*.out "$CALIB_WORKDIR"/export-*
log=$CALIB_WORKDIR/transcript.txt
exec > >(tee "$log") 2>&1

step() { printf '\n$ %s\n' "$*"; }
show() { step "$@"; "$@"; }

bash "$here/start-local-slurm.sh"
show "$CALIB" --version
show sinfo -N
cd "$CALIB_WORKDIR"
step sbatch --parsable --array=0-$((shards - 1)) --output="$CALIB_WORKDIR/shard-%a.out" calibrate-array.sbatch
array=$(sbatch --parsable --array=0-$((shards - 1)) --output="$CALIB_WORKDIR/shard-%a.out" "$here/calibrate-array.sbatch")
echo "$array"
step sbatch --parsable --dependency=afterok:"$array" --output="$CALIB_WORKDIR/merge.out" merge.sbatch
merge=$(sbatch --parsable --dependency=afterok:"$array" --output="$CALIB_WORKDIR/merge.out" "$here/merge.sbatch")
echo "$merge"
show squeue
for _ in $(seq 1 600); do
    [[ -z $(squeue -h -j "$array,$merge" 2>/dev/null) ]] && break
    sleep 1
done
show scontrol show job "$merge" | grep -E 'JobState|ExitCode|Dependency' || true
for f in "$CALIB_WORKDIR"/shard-*.out "$CALIB_WORKDIR"/merge.out; do
    step cat "$(basename "$f")"
    cat "$f"
done
[[ -s $CALIB_WORKDIR/merged.sqlite ]] || { echo "run-demo.sh: the merge job wrote no merged.sqlite" >&2; exit 1; }

# shellcheck disable=SC2086 # CALIB_FLAGS and CALIB_INPUTS are word lists
show "$CALIB" run --db single.sqlite --session "$CALIB_SESSION" $CALIB_FLAGS $CALIB_INPUTS
for i in $(seq 0 $((shards - 1))); do
    show "$CALIB" sessions --db "shard-$i.sqlite"
done
show "$CALIB" sessions --db merged.sqlite
status=0
show "$CALIB" diff "merged.sqlite:$CALIB_SESSION" "single.sqlite:$CALIB_SESSION"
"$CALIB" diff "merged.sqlite:$CALIB_SESSION" "single.sqlite:$CALIB_SESSION" --json >diff.json
changed=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["changed"])' diff.json)
echo "diff --json summary: changed $changed"
[[ $changed == 0 ]] || status=1
for format in json aimet csv; do
    "$CALIB" export --db merged.sqlite "$CALIB_SESSION" --format "$format" -o "export-merged.$format"
    "$CALIB" export --db single.sqlite "$CALIB_SESSION" --format "$format" -o "export-single.$format"
    step cmp "export-merged.$format" "export-single.$format"
    if cmp "export-merged.$format" "export-single.$format"; then
        echo "identical ($(wc -c <"export-merged.$format") bytes, sha256 $(sha256sum "export-merged.$format" | cut -c1-16))"
    else
        status=1
    fi
done
show "$CALIB" check --db merged.sqlite
echo
[[ $status == 0 ]] && echo "run-demo.sh: merged == single run (0 changed, exports byte-identical)" \
    || echo "run-demo.sh: MISMATCH between the merged shards and the single run"
exit "$status"
