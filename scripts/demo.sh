#!/bin/sh
# make demo: run examples/hello.yaml as a container — zagent builds the
# bundle over a busybox rootfs and runs it with runc, printing what the
# container sees (hostname, env, capabilities, cgroup mount).
set -eu
zagent=${1:-build/zagent}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/zagent-demo.XXXXXX)
export ZLAYER_DATA_DIR="$work/data"
regpid=
trap '[ -n "$regpid" ] && kill "$regpid" 2>/dev/null; rm -rf "$work"' EXIT
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

# ---- issue 11: the same busybox, pulled from a local registry ---------------
if ! command -v docker-registry >/dev/null || ! command -v skopeo >/dev/null; then
  echo "(no docker-registry or skopeo: skipping the registry part)"
  exit 0
fi
echo "== a local registry with a busybox image (Debian's busybox-static)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'version: 0.1\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: 127.0.0.1:%s}\nlog: {level: error}\n' \
  "$work/registry" "$port" > "$work/registry.yml"
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
regpid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
ENTRYPOINT='["/bin/sh"]' python3 "$here/tests/e2e/mklayout.py" "$work/layout" "$work/rootfs" 1 >/dev/null
skopeo copy -q "oci:$work/layout:1" "docker://127.0.0.1:$port/demo/busybox:1" --dest-tls-verify=false
echo "pushed 127.0.0.1:$port/demo/busybox:1"
sed "s/127.0.0.1:5000/127.0.0.1:$port/" "$here/examples/registry.yaml" > "$work/registry.yaml"
echo "== zagent run -f examples/registry.yaml   (image.name 127.0.0.1:$port/demo/busybox:1, plain HTTP)"
"$zagent" run -f "$work/registry.yaml" --tls-verify=false
echo "== zagent images"
"$zagent" images
