#!/usr/bin/env bash
# docs/report.png: the shipped sample calibrated with onnxruntime's histograms, reported against a
# one-batch run, rendered by headless Chromium (Debian's `chromium`, installed when missing as
# root). Also checks the page loads: the DOM chromium builds holds every tensor's section.
#
#   bash scripts/report-screenshot.sh            # CALIB=.build/debug/calib to skip the release build
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
CALIB=${CALIB:-$root/.build/release/calib}
[[ $CALIB = /* ]] || CALIB=$root/$CALIB
[[ -x $CALIB ]] || (cd "$root" && swift build -c release --product calib) >&2
if ! command -v chromium >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >&2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db=$work/r.sqlite
"$CALIB" run --db "$db" --session minilm --observer histogram --convention onnxruntime --bins 2048 \
    "$root/samples/minilm" >&2
"$CALIB" run --db "$db" --session one-batch --convention onnxruntime "$root/samples/minilm/batch_000.safetensors" >&2
"$CALIB" report --db "$db" minilm --against one-batch -o "$work/report.html"
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars "--user-data-dir=$work/profile")
sections=$(chromium "${flags[@]}" --dump-dom "file://$work/report.html" 2>/dev/null | grep -c '<section id=')
echo "report: $(wc -c <"$work/report.html") bytes, $sections tensor sections in chromium's DOM" >&2
[[ $sections -eq 15 ]] || { echo "report-screenshot.sh: expected 15 sections in the DOM" >&2; exit 1; }
mkdir -p "$root/docs"
chromium "${flags[@]}" --window-size=1200,1700 --screenshot="$root/docs/report.png" "file://$work/report.html" 2>/dev/null
echo "wrote docs/report.png ($(wc -c <"$root/docs/report.png") bytes)" >&2
