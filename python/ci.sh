#!/usr/bin/env bash
# The calib-capture package's numpy-only tests, for CI after `swift test`:
#
#     CALIB=.build/debug/calib bash python/ci.sh
#
# Installs numpy with pip when `import numpy` fails, runs python/tests with unittest (no pytest
# needed) against $CALIB (else ../.build/debug/calib, ../.build/release/calib, then calib on PATH),
# and ends with 'python: N passed, M failed, K skipped'. Tests of the torch, AIMET and ONNX Runtime
# modules run only where those packages import; elsewhere they are skipped, with the reason.
# Exit status: 0 when nothing failed and something passed.
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py="${PYTHON:-python3}"

if ! command -v "$py" >/dev/null 2>&1; then
    echo "python/ci.sh: '$py' not found: install Python 3.9+ (apt-get install python3 python3-pip) or set PYTHON" >&2
    exit 1
fi
if ! "$py" -c 'import numpy' >/dev/null 2>&1; then
    echo "python/ci.sh: numpy is missing; installing it with pip"
    "$py" -m pip install --quiet numpy \
        || "$py" -m pip install --quiet --break-system-packages numpy \
        || { echo "python/ci.sh: 'pip install numpy' failed" >&2; exit 1; }
fi
if [ -n "${CALIB:-}" ]; then
    case "$CALIB" in /*) ;; *) CALIB="$PWD/$CALIB" ;; esac
    if [ ! -x "$CALIB" ]; then
        echo "python/ci.sh: \$CALIB=$CALIB is not an executable file: build calib first (swift build)" >&2
        exit 1
    fi
    export CALIB
fi
echo "python/ci.sh: $("$py" --version 2>&1), numpy $("$py" -c 'import numpy; print(numpy.__version__)'), calib ${CALIB:-(searched: ../.build/debug, ../.build/release, PATH)}"
PYTHONDONTWRITEBYTECODE=1 "$py" "$here/tests/_run.py" "$@"
