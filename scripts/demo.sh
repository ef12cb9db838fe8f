#!/bin/sh
# make demo: build a bundle from examples/hello.yaml over a busybox rootfs
# and run it with runc, printing what the container sees.
set -eu
zagent=${1:-build/zagent}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/zagent-demo.XXXXXX)
trap 'runc delete -f "zagent-demo-$$" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
"$here/scripts/mkrootfs.sh" "$work/rootfs"
echo "== zagent check"
"$zagent" check -f "$here/examples/hello.yaml" && echo "examples/hello.yaml: valid"
echo "== zagent bundle"
USER=${USER:-demo} "$zagent" bundle -f "$here/examples/hello.yaml" -b "$work/bundle" --rootfs "$work/rootfs"
ls -l "$work/bundle"
if [ "$(id -u)" != 0 ] || ! command -v runc >/dev/null; then
  echo "(not root or no runc: showing config.json instead of running it)"
  cat "$work/bundle/config.json"
  exit 0
fi
echo "== runc run (what the container sees)"
cd "$work/bundle"
runc run "zagent-demo-$$"
