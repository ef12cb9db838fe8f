#!/bin/sh
# Install the Debian packages zagent needs, by purpose, when they are
# missing and we can (root on Debian).  Prints nothing when all are there.
#
#   scripts/deps.sh build   compile libzagent, zagent, zagent-runtime, man pages
#   scripts/deps.sh run     what the programs use at run time (make demo)
#   scripts/deps.sh test    what make check runs against (plus build and run)
#   scripts/deps.sh fuzz    clang and libFuzzer for make fuzz (plus build)
# Several purposes may be given; none means build.
#   scripts/deps.sh --list PURPOSE...   print the packages, install nothing
set -eu

# Compiler, build system, the -dev packages of every library libzagent
# links or dlopens (libarchive and libcrypto: headers only), scdoc for the
# man pages.
BUILD_PKGS="build-essential pkg-config meson ninja-build python3
libyaml-dev libjansson-dev libarchive-dev libssl-dev libcurl4-openssl-dev scdoc"
# Shared libraries (libarchive13 and libssl3 are dlopen'ed when an image is
# unpacked, so nothing links them), an OCI runtime, newuidmap/newgidmap for
# rootless sub-id ranges, busybox for the demo's root filesystem, and the
# demo's local registry (docker-registry, skopeo to push, curl to wait).
RUN_PKGS="libyaml-0-2 libjansson4 libarchive13 libssl3 libcurl4 runc uidmap busybox-static
docker-registry skopeo curl"
# The real parts the tests run against: cmocka, the Go CDI reference
# library (the differential oracle), a second runtime, engines (podman,
# containerd), a registry and its tools, CNI plugins, valgrind, man and
# the OCI schema validator's python module.
TEST_PKGS="libcmocka-dev python3-jsonschema golang-go
golang-github-container-orchestrated-devices-container-device-interface-dev
golang-github-opencontainers-specs-dev crun conmon podman containerd
docker-registry skopeo umoci apache2-utils containernetworking-plugins slirp4netns
valgrind zstd util-linux procps man-db"
# clang and its libFuzzer runtime (make check replays corpora with gcc);
# cmocka because the fuzz targets live in the tests tree.
FUZZ_PKGS="clang libclang-rt-14-dev libcmocka-dev"

list=0
[ "${1:-}" = --list ] && { list=1; shift; }
[ $# -eq 0 ] && set -- build
PKGS=""
for purpose in "$@"; do
  case $purpose in
    build) PKGS="$PKGS $BUILD_PKGS" ;;
    run) PKGS="$PKGS $RUN_PKGS" ;;
    test) PKGS="$PKGS $BUILD_PKGS $RUN_PKGS $TEST_PKGS" ;;
    fuzz) PKGS="$PKGS $BUILD_PKGS $FUZZ_PKGS" ;;
    *) echo "usage: $0 [--list] [build|run|test|fuzz]..." >&2; exit 2 ;;
  esac
done
PKGS=$(printf '%s\n' $PKGS | sort -u)
if [ $list = 1 ]; then
  printf '%s\n' $PKGS
  exit 0
fi
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
