#!/bin/bash
# libarchive and libcrypto are dlopen'ed when an image is unpacked (ldd and
# dpkg-shlibdeps cannot see them): with either library unloadable, `zagent
# run --image` fails with one line naming the Debian package to install.
# Each library is hidden by bind-mounting /dev/null over it in a private
# mount namespace.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ZAGENT=$(realpath "${1:-$root/build/zagent}")
WORK=$(mktemp -d /tmp/zagent-dlopen.XXXXXX)
export ZLAYER_DATA_DIR=$WORK/data
. "$here/lib.sh"
trap 'rm -rf "$WORK"' EXIT

if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
  skip "dlopen failure messages" "needs root and unshare (a private mount namespace)"; finish; exit
fi
printf 'version: v1\ndeployment: dlopen\nservices:\n  app:\n    image: {name: busybox}\n' >"$WORK/s.yaml"
# A real OCI layout, so that run gets as far as verifying and unpacking it.
"$(dirname "$0")/../../scripts/mkrootfs.sh" "$WORK/rootfs" >/dev/null
python3 "$(dirname "$0")/mklayout.py" "$WORK/layout" "$WORK/rootfs" 1 >/dev/null
for pair in libarchive.so.13:libarchive13 libcrypto.so.3:libssl3; do
  so=${pair%%:*} pkg=${pair#*:}
  lib=$(ldconfig -p | awk -v so="$so" '$1 == so && /x86-64|x86_64|64bit/ { print $NF; exit }')
  [ -n "$lib" ] || lib=$(ldconfig -p | awk -v so="$so" '$1 == so { print $NF; exit }')
  if [ -z "$lib" ]; then
    skip "$so missing names $pkg" "$so is not installed"; continue
  fi
  if ldd "$ZAGENT" 2>/dev/null | grep -q "^[[:space:]]*$so "; then
    skip "$so missing names $pkg" "zagent links $so (loaded at start, not dlopen'ed)"; continue
  fi
  out=$(unshare -m sh -c 'mount --bind /dev/null "$1" && exec "$2" run -f "$3" --image "$4/layout:1"' \
        _ "$lib" "$ZAGENT" "$WORK/s.yaml" "$WORK" 2>&1); rc=$?
  check "$so unloadable: run --image fails" test $rc != 0
  check "$so unloadable: the error names the package $pkg" grep -q "install the Debian package $pkg" <<<"$out"
  check "$so unloadable: one line" test "$(wc -l <<<"$out")" = 1
  [ "$(wc -l <<<"$out")" = 1 ] || sed 's/^/#   /' <<<"$out"
done
finish
