#!/bin/bash
# make bench (images, issue 11): ratios against baselines measured in the
# same run, on the same data.
#   1. unpack of a layer already fetched (blob in the store) vs `tar -xzf`
#      of the same blob;
#   2. `zagent run` of a stored image (overlay over its layers) vs
#      `zagent run --rootfs` of the same tree;
#   3. store size of two images sharing a base vs the two alone;
#   4. pull + unpack into a fresh store from a local registry vs `podman
#      pull` and vs `skopeo copy` + `umoci unpack` (needs the registry
#      client: skipped while the stub is in).
# Usage: bench/images.sh [ZAGENT]   (root, runc; BENCH_TREE=DIR for the
# layer's content, default /usr/lib/python3 and /usr/share/perl)
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
ZAGENT=$(realpath "${1:-$root/build/zagent}")
W=$(mktemp -d /tmp/zagent-bench-img.XXXXXX)
REGPID=
trap '[ -n "$REGPID" ] && kill $REGPID 2>/dev/null; for m in $(findmnt -rn -o TARGET | grep "^$W/"); do umount -l "$m"; done; rm -rf "$W"' EXIT
N=${BENCH_N:-5}
now () { date +%s.%N; }
median () { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timeit () { # timeit N CMD...: median seconds
  for _ in $(seq "$1"); do local t0; t0=$(now); "${@:2}" >/dev/null 2>&1 || echo "failed: ${*:2}" >&2; echo "$(now) - $t0" | bc; done | median
}
# pair N PREP_A A PREP_B B: runs interleaved (the machine's load drifts),
# each after its untimed PREP; sets $za and $zb to the medians
once () { "$1" >/dev/null 2>&1; sync; local t0; t0=$(now); "$2" >/dev/null 2>&1 || echo "failed: $2" >&2; echo "$(now) - $t0" | bc; }
pair () {
  local a=() b=()
  for _ in $(seq "$1"); do a+=("$(once "$2" "$3")"); b+=("$(once "$4" "$5")"); done
  za=$(printf '%s\n' "${a[@]}" | median); zb=$(printf '%s\n' "${b[@]}" | median)
}
ratio () { echo "scale=2; $1 / $2" | bc; }

# ---- data: a big layer ----------------------------------------------------------
"$root/scripts/mkrootfs.sh" "$W/rootfs"
mkdir -p "$W/rootfs/usr"
for d in ${BENCH_TREE:-/usr/lib/python3 /usr/share/perl}; do cp -a "$d" "$W/rootfs/usr/" 2>/dev/null; done
files=$(find "$W/rootfs" | wc -l)
python3 "$root/tests/e2e/mklayout.py" "$W/layout" "$W/rootfs" 1 >/dev/null
blob=$(python3 -c 'import json,sys; d=sys.argv[1]; i=json.load(open(d+"/index.json")); m=json.load(open(d+"/blobs/sha256/"+i["manifests"][0]["digest"][7:])); print(d+"/blobs/sha256/"+max(m["layers"],key=lambda l:l["size"])["digest"][7:])' "$W/layout")
size=$(du -m "$blob" | cut -f1)
printf '# layer: %s files, %s MB gzip\n' "$files" "$size"
printf '%-52s %10s %10s %8s\n' "measurement" "zagent" "baseline" "ratio"

# 1. unpack: the blob is in the store; drop the layers and records, pull again
export ZLAYER_DATA_DIR=$W/data
"$ZAGENT" pull "oci:$W/layout:1" >/dev/null
# each run into a fresh dir (a store with the blobs hard-linked in), and
# nothing deleted in between: ext4 makes creating inodes right after
# deleting thousands slow (recently_deleted), which would measure the
# previous run's cleanup
k=
unprep () { k=$RANDOM$RANDOM; mkdir -p "$W/u$k/images/blobs"; cp -al "$ZLAYER_DATA_DIR/images/blobs/sha256" "$W/u$k/images/blobs/"; }
unpack () { ZLAYER_DATA_DIR=$W/u$k "$ZAGENT" pull "oci:$W/layout:1"; }
untarprep () { k=$RANDOM$RANDOM; mkdir -p "$W/t$k"; }
untar () { tar -xzf "$blob" -C "$W/t$k"; }
pair "$N" unprep unpack untarprep untar; z=$za; t=$zb
rm -rf "$W"/u[0-9]* "$W"/t[0-9]*
printf '%-52s %9.3fs %9.3fs %7sx  (target <= 1.2)\n' "unpack of a fetched layer vs tar -xzf" "$z" "$t" "$(ratio "$z" "$t")"

# 2. run: overlay over the stored image vs --rootfs of the same tree
if [ "$(id -u)" = 0 ] && command -v runc >/dev/null; then
  printf 'version: v1\ndeployment: bench-img\nservices:\n  b:\n    image: {name: "localhost/b:1"}\n    command: {entrypoint: ["/bin/true"]}\n' > "$W/s.yaml"
  "$ZAGENT" pull "oci:$W/layout:1" >/dev/null
  nop () { :; }
  runimg () { "$ZAGENT" run -f "$W/s.yaml" --image "oci:$W/layout:1"; }
  runfs () { "$ZAGENT" run -f "$W/s.yaml" --rootfs "$W/rootfs"; }
  pair $((N * 2)) nop runimg nop runfs; z=$za; t=$zb
  printf '%-52s %9.3fs %9.3fs %7sx  (target <= 1.05, +5 ms)\n' "zagent run: stored image (overlay) vs --rootfs" "$z" "$t" "$(ratio "$z" "$t")"
fi

# 3. store size: a second image = the first one's layers + one more
python3 - "$W/layout" "$W/l2" <<'PY'
import gzip, hashlib, io, json, os, shutil, sys, tarfile
src, dst = sys.argv[1:3]; shutil.copytree(src, dst); b = os.path.join(dst, "blobs", "sha256")
def put(data):
    h = hashlib.sha256(data).hexdigest(); open(os.path.join(b, h), "wb").write(data)
    return {"digest": "sha256:" + h, "size": len(data)}
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    ti = tarfile.TarInfo("etc/two"); ti.size = 4; t.addfile(ti, io.BytesIO(b"two\n"))
raw = buf.getvalue(); layer = put(gzip.compress(raw, mtime=0)); layer["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
idx = json.load(open(os.path.join(dst, "index.json")))
m = json.load(open(os.path.join(b, idx["manifests"][0]["digest"][7:])))
cfg = json.load(open(os.path.join(b, m["config"]["digest"][7:])))
cfg["rootfs"]["diff_ids"].append("sha256:" + hashlib.sha256(raw).hexdigest())
m["config"].update(put(json.dumps(cfg).encode())); m["layers"].append(layer)
idx["manifests"][0].update(put(json.dumps(m).encode())); json.dump(idx, open(os.path.join(dst, "index.json"), "w"))
PY
for x in a b both; do rm -rf "$W/d-$x"; done
ZLAYER_DATA_DIR=$W/d-a "$ZAGENT" pull "oci:$W/layout:1" >/dev/null
ZLAYER_DATA_DIR=$W/d-b "$ZAGENT" pull "oci:$W/l2:1" >/dev/null
ZLAYER_DATA_DIR=$W/d-both "$ZAGENT" pull "oci:$W/layout:1" >/dev/null
ZLAYER_DATA_DIR=$W/d-both "$ZAGENT" pull "oci:$W/l2:1" >/dev/null
a=$(du -sm "$W/d-a/images" | cut -f1); b=$(du -sm "$W/d-b/images" | cut -f1)
both=$(du -sm "$W/d-both/images" | cut -f1)
printf '%-52s %8s MB %7s MB %7sx  (base stored once: ~0.5)\n' "store: 2 images sharing a base vs the two alone" "$both" "$((a + b))" "$(ratio "$both" "$((a + b))")"

# 4. pulls from a local registry (needs the registry client)
if "$ZAGENT" pull --tls-verify=false 127.0.0.1:9/x:y 2>&1 | grep -q "registry client not built"; then
  echo "# pull benchmarks skipped: registry client not built"
elif command -v docker-registry >/dev/null && command -v skopeo >/dev/null; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  printf 'version: 0.1\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: 127.0.0.1:%s}\nlog: {level: error}\n' "$W/reg" "$port" > "$W/reg.yml"
  docker-registry serve "$W/reg.yml" >/dev/null 2>&1 & REGPID=$!
  for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
  skopeo copy -q "oci:$W/layout:1" "docker://127.0.0.1:$port/bench/img:1" --dest-tls-verify=false
  ref=127.0.0.1:$port/bench/img:1
  zpull () { rm -rf "$W/zp"; sync; ZLAYER_DATA_DIR=$W/zp "$ZAGENT" pull --quiet --tls-verify=false "$ref"; }
  z=$(timeit "$N" zpull)
  printf '%-52s %9.3fs\n' "pull + unpack, fresh store (zagent)" "$z"
  if command -v podman >/dev/null; then
    ppull () { rm -rf "$W/pp"; sync; podman --root "$W/pp/root" --runroot "$W/pp/run" --storage-driver overlay pull -q --tls-verify=false "$ref"; }
    p=$(timeit "$N" ppull)
    printf '%-52s %9.3fs %9.3fs %7sx  (target <= 0.6)\n' "pull + unpack, fresh store vs podman pull" "$z" "$p" "$(ratio "$z" "$p")"
    podman --root "$W/pp/root" --runroot "$W/pp/run" system reset -f >/dev/null 2>&1
  fi
  if command -v umoci >/dev/null; then
    spull () { rm -rf "$W/sk"; sync; skopeo copy -q --src-tls-verify=false "docker://$ref" "oci:$W/sk/l:1" && umoci unpack --rootless --image "$W/sk/l:1" "$W/sk/b"; }
    s=$(timeit "$N" spull)
    printf '%-52s %9.3fs %9.3fs %7sx  (target <= 0.3)\n' "pull + unpack, fresh store vs skopeo copy + umoci" "$z" "$s" "$(ratio "$z" "$s")"
  fi
fi
