#!/bin/sh
# Install the Debian packages zagent needs to build and test, when they are
# missing and we can (root on Debian).  Prints nothing when all are there.
set -eu
PKGS="build-essential pkg-config meson ninja-build libyaml-dev libjansson-dev libcmocka-dev libarchive-dev libssl-dev
python3 python3-jsonschema golang-go golang-github-container-orchestrated-devices-container-device-interface-dev
golang-github-opencontainers-specs-dev runc crun busybox-static
util-linux procps podman valgrind"
# `make fuzz` (scripts/deps.sh fuzz) also needs clang and its libFuzzer
# runtime; `make check` does not (the corpus replay builds with gcc).
FUZZ_PKGS="clang libclang-rt-14-dev"
[ "${1:-}" = fuzz ] && PKGS="$PKGS $FUZZ_PKGS"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "zagent: missing packages:$missing (install them as root with apt-get)" >&2
  exit 1
fi
echo "zagent: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1 || {
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
}
