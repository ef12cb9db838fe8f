#!/bin/sh
# make demo: run examples/hello.yaml as a container — zagent builds the
# bundle over a busybox rootfs and runs it with runc, printing what the
# container sees (hostname, env, capabilities, cgroup mount).
set -eu
zagent=${1:-build/zagent}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/zagent-demo.XXXXXX)
export ZLAYER_DATA_DIR="$work/data"
trap 'rm -rf "$work"' EXIT
"$here/scripts/mkrootfs.sh" "$work/rootfs"
echo "== zagent check -f examples/hello.yaml"
"$zagent" check -f "$here/examples/hello.yaml" && echo "valid"
if [ "$(id -u)" != 0 ] || ! command -v runc >/dev/null; then
  echo "(not root or no runc: showing the config.json zagent would run)"
  USER=${USER:-demo} "$zagent" spec -f "$here/examples/hello.yaml" --rootfs "$work/rootfs"
  exit 0
fi
echo "== zagent run -f examples/hello.yaml --rootfs <busybox>"
USER=${USER:-demo} "$zagent" run -f "$here/examples/hello.yaml" --rootfs "$work/rootfs"
