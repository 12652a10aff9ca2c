#!/usr/bin/env bash
# Checks the system libraries calib builds against (SQLite, zlib, xxHash headers) and installs the
# missing ones with apt-get when it can (as root), in seconds, before a build that would otherwise
# fail minutes in. Where it cannot, it prints the exact command to run and exits 1.
set -euo pipefail

command -v swift >/dev/null 2>&1 || { echo "calib needs the Swift toolchain (6.1 or later): https://www.swift.org/install" >&2; exit 1; }

case "$(uname -s)" in
Darwin)
    # SQLite and zlib come with the SDK; xxHash from Homebrew.
    for dir in /opt/homebrew/include /usr/local/include; do [ -f "$dir/xxhash.h" ] && exit 0; done
    echo "calib needs xxHash: brew install xxhash" >&2
    exit 1
    ;;
esac

need=()
[ -f /usr/include/sqlite3.h ] || need+=(libsqlite3-dev)
[ -f /usr/include/zlib.h ] || need+=(zlib1g-dev)
[ -f /usr/include/xxhash.h ] || need+=(libxxhash-dev)
[ ${#need[@]} -eq 0 ] && exit 0

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing ${need[*]} (apt-get)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
    echo "calib needs ${need[*]}: sudo apt-get install -y ${need[*]}" >&2
else
    echo "calib needs the development headers of SQLite, zlib and xxHash (${need[*]} on Debian/Ubuntu)" >&2
fi
exit 1
