#!/usr/bin/env bash
# Runs the README's first Quick start command on a fresh Debian 12 root, as a new user's machine
# would be: debootstrap's minimal system plus only what the Swift toolchain itself needs to run,
# without the SQLite, zlib and xxHash development packages calib builds against. It prints the
# transcript (the checks, the command, its output and how long it took), first as a normal user
# (requirements.sh must stop within seconds naming the command to run), then as root (it installs
# the packages and the whole command must succeed).
#
#   sudo bash scripts/fresh-machine.sh [ROOT_DIR]      (needs debootstrap, chroot, mount; a few minutes)
#
# The toolchain (and a local package mirror, if git rewrites github.com URLs to one) is bind-mounted
# read-only from this machine, since a fresh machine in the README's sense has Swift installed.
set -euo pipefail

ROOT=${1:-/tmp/calib-fresh-root}
REPO=$(cd "$(dirname "$0")/.." && pwd)
SWIFT_ROOT=$(dirname "$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")")
[ "$(id -u)" = 0 ] || { echo "run as root (debootstrap, chroot and mount need it)" >&2; exit 1; }
command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null

if [ ! -x "$ROOT/bin/bash" ]; then
    debootstrap --variant=minbase bookworm "$ROOT" http://deb.debian.org/debian >/dev/null
fi
mounted=()
bind() { mkdir -p "$ROOT$2"; mountpoint -q "$ROOT$2" || { mount --bind "$1" "$ROOT$2"; mounted+=("$ROOT$2"); }; }
cleanup() { for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[$i]}" || true; done; }
trap cleanup EXIT
bind /dev /dev
bind /dev/pts /dev/pts
bind /proc /proc
bind "$SWIFT_ROOT" "$SWIFT_ROOT"
cp /etc/resolv.conf "$ROOT/etc/"
: >"$ROOT/etc/gitconfig"
while read -r key value; do
    dir=${key#url.}
    dir=${dir%.insteadof}
    [ -d "$dir" ] && bind "$dir" "$dir"
    git config --file "$ROOT/etc/gitconfig" --add "url.$dir.insteadOf" "$value"
done < <(git config --system --get-regexp '^url\..*\.insteadof$' 2>/dev/null || true)

# The Swift toolchain's own runtime needs (swift.org's list for Debian 12, runtime libraries only:
# libpython3-dev would pull in zlib1g-dev). Then make sure the three -dev packages are absent.
chroot "$ROOT" bash -c '
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends binutils-gold gcc git libc6-dev libstdc++-12-dev \
        libicu-dev libedit-dev libncurses-dev libsqlite3-0 libpython3.11 libcurl4 libxml2 uuid-dev \
        pkg-config tzdata ca-certificates >/dev/null
    apt-get purge -y -qq libsqlite3-dev zlib1g-dev libxxhash-dev >/dev/null 2>&1 || true
    id user >/dev/null 2>&1 || useradd -m -s /bin/bash user'
rm -rf "$ROOT/home/user/calib" "$ROOT/root/calib"
git clone -q "$REPO" "$ROOT/home/user/calib"
git clone -q "$REPO" "$ROOT/root/calib"
chroot "$ROOT" chown -R user:user /home/user/calib

quickstart='bash scripts/requirements.sh && swift build -c release && .build/release/calib run --session minilm samples/minilm && .build/release/calib show minilm'
transcript() {
    cat <<EOF
set -o pipefail
export PATH=$SWIFT_ROOT/usr/bin:\$PATH
cd ~/calib
echo "\$ git log -1 --oneline"; git log -1 --oneline
echo "\$ dpkg -l libsqlite3-dev zlib1g-dev libxxhash-dev"; dpkg -l libsqlite3-dev zlib1g-dev libxxhash-dev 2>&1 | tail -3
echo "\$ $quickstart"
start=\$(date +%s.%N)
$quickstart
status=\$?
echo "[exit \$status after \$(printf '%.1f' \$(echo "\$(date +%s.%N) - \$start" | bc 2>/dev/null || echo 0)) s]"
EOF
}
chroot "$ROOT" apt-get install -y -qq bc >/dev/null
echo "## as a normal user (id $(chroot "$ROOT" id -u user))"
chroot "$ROOT" su - user -c "$(transcript)" 2>&1 || true
echo
echo "## as root"
chroot "$ROOT" bash -lc "$(transcript)" 2>&1
