#!/bin/bash
# The layer store (issue 11), TAP: oci: layouts with podman-style ref
# names, layers stored once by chain id (a shared base once), overlay
# whiteouts, isolation between containers of one image, no mount and no
# upper dir left after rm or a failure, diff_id verification, rmi and
# prune that never remove what a container uses, SIGKILL at random points
# during pulls, and (once the registry client is merged) pulls from a
# local docker-registry.  Usage: store.sh ZAGENT [KILLER]
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ZAGENT=$(realpath "${1:-$root/build/zagent}")
KILLER=$(realpath "${2:-$(dirname "$ZAGENT")/tests/killer}" 2>/dev/null || true)
WORK=$(mktemp -d /tmp/zagent-store.XXXXXX)
export ZLAYER_DATA_DIR=$WORK/data
RTROOT=$ZLAYER_DATA_DIR/run/runc
STORE=$ZLAYER_DATA_DIR/images
. "$root/tests/e2e/lib.sh"
REGPID=
cleanup () {
  for c in $(runc --root "$RTROOT" list -q 2>/dev/null); do runc --root "$RTROOT" delete -f "$c" >/dev/null 2>&1; done
  for m in $(findmnt -rn -o TARGET | grep "^$WORK/" | sort -r); do umount -l "$m" 2>/dev/null; done
  [ -n "$REGPID" ] && kill "$REGPID" 2>/dev/null
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(id -u)" != 0 ] || ! command -v runc >/dev/null; then
  skip "layer store" "needs root and runc"; finish; exit
fi

# ---- images ------------------------------------------------------------------
"$root/scripts/mkrootfs.sh" "$WORK/rootfs"
echo old > "$WORK/rootfs/etc/old.txt"
ENTRYPOINT='["/bin/sh", "-c", "echo from-image"]' \
  python3 "$root/tests/e2e/mklayout.py" "$WORK/l1" "$WORK/rootfs" localhost/bb:1 --split >/dev/null
# A second image on the same base (bin/ layer), with other files on top.
cp -a "$WORK/rootfs" "$WORK/rootfs2"
echo two > "$WORK/rootfs2/etc/two.txt"
python3 "$root/tests/e2e/mklayout.py" "$WORK/l2" "$WORK/rootfs2" v2 --split >/dev/null
I1="oci:$WORK/l1:localhost/bb:1"
I2="oci:$WORK/l2:v2"
spec () { printf 'version: v1\ndeployment: storetest\nservices:\n  %s:\n    image: {name: "localhost/bb:1"}\n' "$2" > "$1"; }
spec "$WORK/a.yaml" st$$a
A=st$$a-rep-1
no_trace () { # no_trace ID: no overlay mount, no upper dir, no record
  ! findmnt -rn -o TARGET | grep -q "^$ZLAYER_DATA_DIR/containers/$1" || { echo "mount left"; return 1; }
  [ ! -e "$ZLAYER_DATA_DIR/containers/$1" ] || { echo "layer dir left"; return 1; }
  [ ! -e "$ZLAYER_DATA_DIR/run/containers/$1" ] || { echo "record left"; return 1; }
}
lacks () { ! grep -qx "$1" <<<"$2"; }
isolated () { local l; l=$(cat "$1"/std*.log "$1"/logs/* 2>/dev/null); grep -q "can't open\|No such" <<<"$l" && ! grep -qx a <<<"$l"; }
no_tmp () { ! find "$STORE" -name '.tmp-*' -o -name '.repos.json.*' | grep -q .; }
layers_of () { python3 -c 'import json,sys; [print(l) for i in json.load(open(sys.argv[1]))["images"] if i["name"]==sys.argv[2] for l in i["layers"]]' "$STORE/repos.json" "$1"; }

# ---- oci: layouts ------------------------------------------------------------
run "$ZAGENT" pull "$I1"
expect_rc "pull oci:DIR:localhost/bb:1 (a tag with / and :) exits 0" 0
check "pull prints the manifest digest" grep -qE '^sha256:[0-9a-f]{64}$' <<<"$out"
check "no progress output when stderr is not a terminal" test -z "$err"
D1=$out
run "$ZAGENT" images --json
check "images --json lists it by its oci: name" grep -q "\"oci:$WORK/l1:localhost/bb:1\"" <<<"$out"
run "$ZAGENT" images -q
check "images -q prints the short digest" grep -qx "${D1:7:12}" <<<"$out"
n1=$(ls "$STORE/layers" | wc -l)
check "each layer unpacked into its own dir (3)" test "$n1" = 3
wh=$(find "$STORE/layers" -name old.txt -type c)
check "an OCI whiteout became an overlay whiteout (char 0:0)" test -n "$wh" -a "$(stat -c %t:%T "$wh" 2>/dev/null)" = 0:0
check "every blob's name is its sha256" bash -c 'cd "$0" && for f in *; do [ "$(sha256sum < "$f" | cut -c1-64)" = "$f" ] || exit 1; done' "$STORE/blobs/sha256"
run "$ZAGENT" pull "oci:$WORK/l1:nosuch"
expect_rc "an unknown tag exits 2" 2
run "$ZAGENT" pull "oci:$WORK/nowhere:x"
expect_rc "a missing layout exits 2" 2

# progress: per-layer bytes on a terminal, nothing otherwise or with --quiet
if command -v script >/dev/null; then
  tty=$(ZLAYER_DATA_DIR=$WORK/tty script -qec "'$ZAGENT' pull '$I1'" /dev/null)
  check "per-layer progress on a terminal" grep -q "kB.*done" <<<"$tty"
  rm -rf "$WORK/tty"
  tty=$(ZLAYER_DATA_DIR=$WORK/tty script -qec "'$ZAGENT' pull --quiet '$I1'" /dev/null)
  check "none with --quiet" bash -c "! grep -q 'kB' <<<\"\$0\"" "$tty"
fi

# ---- a shared base is stored once --------------------------------------------
run "$ZAGENT" pull "$I2"
expect_rc "pull of a second image on the same base exits 0" 0
b1=$(layers_of "oci:$WORK/l1:localhost/bb:1" | head -1); b2=$(layers_of "oci:$WORK/l2:v2" | head -1)
check "both images have the same base layer" test -n "$b1" -a "$b1" = "$b2"
union=$( { layers_of "oci:$WORK/l1:localhost/bb:1"; layers_of "oci:$WORK/l2:v2"; } | sort -u | wc -l)
check "the store holds each distinct layer once ($union dirs)" test "$(ls "$STORE/layers" | wc -l)" = "$union"
check "blobs stored once" test "$(ls "$STORE/blobs/sha256" | wc -l)" = "$(ls "$STORE/blobs/sha256" | sort -u | wc -l)"

# ---- isolation ---------------------------------------------------------------
run "$ZAGENT" run -f "$WORK/a.yaml" --image "$I1" -- /bin/sh -c 'rm -rf /bin; echo x > /etc/mine; /bin/busybox true 2>/dev/null || echo gone'
check "a container can remove /bin in its own rootfs" grep -qx gone <<<"$out"
check "no trace of it after the run" no_trace "$A"
run "$ZAGENT" run -f "$WORK/a.yaml" --image "$I1" -- /bin/sh -c 'ls /bin/wget; cat /etc/mine 2>&1; cat /etc/old.txt 2>&1'
check "the next container has /bin (image unchanged)" grep -q '^/bin/wget$' <<<"$out"
check "and not the first one's file" lacks x "$out"
check "the whiteout hides the lower layer's file" lacks old "$out"
check "the store's layer still has /bin/wget" test -L "$STORE/layers/$b1/bin/wget"
spec "$WORK/b.yaml" st$$b
run "$ZAGENT" run -d -f "$WORK/a.yaml" --image "$I1" -- /bin/sh -c 'echo a > /f; sleep 30'
run "$ZAGENT" run -d -f "$WORK/b.yaml" --image "$I1" -- /bin/sh -c 'sleep 1; cat /f 2>&1; sleep 30'
sleep 2
check "two running containers of one image: two overlay mounts" test "$(findmnt -rn -t overlay -o TARGET | grep -c "^$ZLAYER_DATA_DIR/containers/")" = 2
check "the second does not see the first's write" isolated "$ZLAYER_DATA_DIR/bundles/st$$b-rep-1"
# rmi / prune must keep what a running container uses
run "$ZAGENT" rmi "$I1"
expect_rc "rmi of an image a container uses exits 2" 2
run "$ZAGENT" image prune --all
check "prune --all keeps the image a container uses" grep -q "l1:localhost/bb:1" <<<"$("$ZAGENT" images)"
check "prune --all removed the unused one" bash -c "! '$ZAGENT' images | grep -q l2:v2"
run "$ZAGENT" rmi -f "$I1"
expect_rc "rmi -f of an image a container uses exits 0" 0
run "$ZAGENT" image prune
check "its layers stay while the containers live" test -L "$STORE/layers/$b1/bin/wget"
"$ZAGENT" rm -f "$A" >/dev/null 2>&1; "$ZAGENT" rm -f "st$$b-rep-1" >/dev/null 2>&1
run "$ZAGENT" image prune
check "prune after rm removes them" test ! -e "$STORE/layers/$b1"
"$ZAGENT" pull "$I1" >/dev/null
check "no trace after rm -f (a)" no_trace "$A"
check "no trace after rm -f (b)" no_trace "st$$b-rep-1"

# ---- many layers: more lower dirs than a page of mount options holds ------------
python3 - "$WORK/l1" "$WORK/many" 80 <<'PY'
import gzip, hashlib, io, json, os, shutil, sys, tarfile
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3]); shutil.copytree(src, dst); b = os.path.join(dst, "blobs", "sha256")
def put(data):
    h = hashlib.sha256(data).hexdigest(); open(os.path.join(b, h), "wb").write(data)
    return {"digest": "sha256:" + h, "size": len(data)}
idx = json.load(open(os.path.join(dst, "index.json")))
m = json.load(open(os.path.join(b, idx["manifests"][0]["digest"][7:])))
cfg = json.load(open(os.path.join(b, m["config"]["digest"][7:])))
for i in range(n):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        data = b"%d\n" % i; ti = tarfile.TarInfo("layers/top"); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
    raw = buf.getvalue(); l = put(gzip.compress(raw, mtime=0)); l["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
    m["layers"].append(l); cfg["rootfs"]["diff_ids"].append("sha256:" + hashlib.sha256(raw).hexdigest())
m["config"].update(put(json.dumps(cfg).encode()))
idx["manifests"][0].update(put(json.dumps(m).encode())); json.dump(idx, open(os.path.join(dst, "index.json"), "w"))
PY
run "$ZAGENT" run -f "$WORK/a.yaml" --image "oci:$WORK/many:localhost/bb:1" -- /bin/cat /layers/top
check "an image of 83 layers runs (the top layer wins)" grep -qx 79 <<<"$out"
check "no trace of it after the run" no_trace "$A"
"$ZAGENT" rmi "oci:$WORK/many:localhost/bb:1" >/dev/null

# ---- no overlay: a private copy, whiteouts applied ------------------------------
# overlay's option syntax cannot name a path with ',': such a data dir gets the copy
run env ZLAYER_DATA_DIR="$WORK/co,py" "$ZAGENT" run -f "$WORK/a.yaml" --image "$I1" -- /bin/sh -c \
  'grep " / " /proc/mounts | cut -d" " -f3; ls /etc; ls /bin/wget; rm /bin/wget'
check "without overlay the rootfs is a copy" bash -c "! grep -qx overlay <<<\"\$0\"" "$out"
check "the copy applies the whiteouts" bash -c "grep -qx /bin/wget <<<\"\$0\" && ! grep -q old.txt <<<\"\$0\"" "$out"
check "and leaves no char devices behind" bash -c "! grep -qx old.txt <<<\"\$0\"" "$out"
run env ZLAYER_DATA_DIR="$WORK/co,py" "$ZAGENT" run -f "$WORK/a.yaml" --image "$I1" -- /bin/ls /bin/wget
check "a copy is private too" grep -qx /bin/wget <<<"$out"
check "nothing left of the copies" test ! -e "$WORK/co,py/containers/$A"

# ---- failure paths leave nothing ---------------------------------------------
run "$ZAGENT" run -f "$WORK/a.yaml" --image "$I1" -- /nonexistent
check "a refused entrypoint fails" test "$rc" != 0
check "no mount, no upper dir after the failure" no_trace "$A"
run "$ZAGENT" run -f "$WORK/a.yaml" --image "$I1" --runtime no-such-runtime
check "no trace after an unknown runtime" no_trace "$A"
run "$ZAGENT" run -f "$WORK/a.yaml" --image "localhost/never:1" --pull never
expect_rc "run of an image not stored with --pull never exits 125 (run's own errors, issue 10)" 125
check "no trace after an image that is not there" no_trace "$A"

# ---- a layer whose content does not match its diff_id --------------------------
cp -a "$WORK/l1" "$WORK/bad"
python3 - "$WORK/bad" <<'PY'
import hashlib, json, os, sys
d = sys.argv[1]; b = os.path.join(d, "blobs", "sha256")
idx = json.load(open(os.path.join(d, "index.json")))
m = json.load(open(os.path.join(b, idx["manifests"][0]["digest"][7:])))
cfg = json.load(open(os.path.join(b, m["config"]["digest"][7:])))
cfg["rootfs"]["diff_ids"][0] = "sha256:" + "0" * 64
def put(o):
    data = json.dumps(o).encode(); h = hashlib.sha256(data).hexdigest()
    open(os.path.join(b, h), "wb").write(data); return {"digest": "sha256:" + h, "size": len(data)}
c = put(cfg); m["config"].update(c)
mm = put(m); idx["manifests"][0].update(mm)
json.dump(idx, open(os.path.join(d, "index.json"), "w"))
PY
run "$ZAGENT" pull "oci:$WORK/bad:localhost/bb:1"
expect_rc "a diff_id mismatch exits 2" 2
check "the error names the diff_id" grep -q "diff_id" <<<"$err"
check "no layer stored under the false diff_id" test ! -e "$STORE/layers/$(printf '0%.0s' $(seq 64))"
check "the image is not recorded" bash -c "! '$ZAGENT' images | grep -q '/bad:'"

# ---- rmi and prune -------------------------------------------------------------
"$ZAGENT" image prune >/dev/null
"$ZAGENT" pull "$I2" >/dev/null
run "$ZAGENT" rmi "$I2"
expect_rc "rmi exits 0" 0
check "the shared base stays" test -d "$STORE/layers/$b1"
check "only the first image's layers are left" test "$(ls "$STORE/layers" | wc -l)" = "$n1"
run "$ZAGENT" rmi "$I2"
expect_rc "rmi of an unknown image exits 2" 2
run "$ZAGENT" run -f "$WORK/a.yaml" --image "$I1" -- /bin/true
expect_rc "the first image still runs" 0
run "$ZAGENT" rmi "${D1:7:12}"
expect_rc "rmi by digest prefix exits 0" 0
run "$ZAGENT" image prune
check "an empty store after rmi: no layers, no blobs" test "$(find "$STORE/layers" "$STORE/blobs/sha256" -mindepth 1 | wc -l)" = 0

# ---- SIGKILL at random points during pulls -------------------------------------
# a bigger image: many small files, so that a pull takes a while
mkdir -p "$WORK/rootfs3/many"
for i in $(seq 1 1500); do echo "$i" > "$WORK/rootfs3/many/f$i"; done
cp -a "$WORK/rootfs/bin" "$WORK/rootfs/etc" "$WORK/rootfs3/"
python3 "$root/tests/e2e/mklayout.py" "$WORK/l3" "$WORK/rootfs3" c --split >/dev/null
# several processes pulling the same image into one store at once
pids=()
for i in 1 2 3 4; do ZLAYER_DATA_DIR=$WORK/par "$ZAGENT" pull "oci:$WORK/l3:c" >"$WORK/par.$i" 2>&1 & pids+=($!); done
okc=0; for p in "${pids[@]}"; do wait "$p" && okc=$((okc + 1)); done
check "4 concurrent pulls of one image all succeed" test "$okc" = 4
check "each of its layers unpacked once" test "$(ls "$WORK/par/images/layers" | wc -l)" = 3
check "no temp data after concurrent pulls" bash -c "! find '$WORK/par/images' -name '.tmp-*' | grep -q ."
if [ ! -x "$KILLER" ]; then
  skip "crash safety" "killer helper not built"
else
  # the reference: one pull without kills, in its own store
  ZLAYER_DATA_DIR=$WORK/ref "$ZAGENT" pull "oci:$WORK/l3:c" >/dev/null
  median=$("$KILLER" measure 5 -- env ZLAYER_DATA_DIR="$WORK/m" "$ZAGENT" pull "oci:$WORK/l3:c") || median=20000
  [ "$median" -gt 0 ] 2>/dev/null || median=20000
  iters=${CRASH_ITERS:-120}; killed=0
  for i in $(seq 1 "$iters"); do
    # alternate: a fresh store every 4th round, else a half-built one
    [ $((i % 4)) = 0 ] && rm -rf "$WORK/k"
    d=$(( (RANDOM * 32768 + RANDOM) % (median * 3 / 2 + 1) ))
    r=$("$KILLER" kill "$d" -- env ZLAYER_DATA_DIR="$WORK/k" "$ZAGENT" pull --quiet "oci:$WORK/l3:c" 2>/dev/null)
    [ "$r" = killed ] && killed=$((killed + 1))
  done
  check "pulls were killed mid-way ($killed of $iters)" test "$killed" -gt 0
  run env ZLAYER_DATA_DIR="$WORK/k" "$ZAGENT" pull "oci:$WORK/l3:c"
  expect_rc "a pull after the kills exits 0" 0
  check "no temp data left after it" bash -c "! find '$WORK/k/images' -name '.tmp-*' -o -name '.repos.json.*' | grep -q ."
  check "every blob verified (name = sha256)" bash -c 'cd "$0" && for f in *; do [ "$(sha256sum < "$f" | cut -c1-64)" = "$f" ] || exit 1; done' "$WORK/k/images/blobs/sha256"
  tree () { (cd "$1" && find . -printf '%p %y %m %U:%G %s %l\n' | sort && find . -type f -exec sha256sum {} + | sort); }
  check "the layers equal an unkilled pull's" diff <(tree "$WORK/ref/images/layers") <(tree "$WORK/k/images/layers")
fi

# ---- a real registry (needs the registry client) ----------------------------------
probe=$("$ZAGENT" pull --tls-verify=false 127.0.0.1:9/x:y 2>&1)
if grep -q "registry client not built" <<<"$probe"; then
  skip "pull from a local docker-registry" "registry client not built"
elif ! command -v docker-registry >/dev/null || ! command -v skopeo >/dev/null; then
  skip "pull from a local docker-registry" "needs docker-registry and skopeo"
else
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p "$WORK/reg"
  printf 'version: 0.1\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: 127.0.0.1:%s}\n' "$WORK/reg" "$PORT" > "$WORK/reg.yml"
  docker-registry serve "$WORK/reg.yml" >"$WORK/reg.log" 2>&1 & REGPID=$!
  for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/v2/" >/dev/null && break; sleep 0.1; done
  skopeo copy -q "oci:$WORK/l1:localhost/bb:1" "docker://127.0.0.1:$PORT/bb:1" --dest-tls-verify=false
  skopeo copy -q "oci:$WORK/l2:v2" "docker://127.0.0.1:$PORT/bb2:1" --dest-tls-verify=false
  export ZLAYER_DATA_DIR=$WORK/regdata STORE=$WORK/regdata/images
  run "$ZAGENT" pull --tls-verify=false "127.0.0.1:$PORT/bb:1"
  expect_rc "pull from the registry exits 0" 0
  run "$ZAGENT" pull --tls-verify=false "127.0.0.1:$PORT/bb2:1"
  expect_rc "pull of a second image sharing the base exits 0" 0
  check "the base is stored once" test "$(ls "$STORE/layers" | wc -l)" = "$union"
  printf 'version: v1\ndeployment: storetest\nservices:\n  web:\n    image: {name: "127.0.0.1:%s/bb:1"}\n    command: {entrypoint: ["/bin/sh", "-c", "echo pulled-ok"]}\n' "$PORT" > "$WORK/r.yaml"
  run "$ZAGENT" run -f "$WORK/r.yaml" --tls-verify=false
  check "run -f SPEC runs the spec's image.name" grep -qx pulled-ok <<<"$out"
  run "$ZAGENT" run -f "$WORK/r.yaml" --tls-verify=false --pull newer
  expect_rc "--pull newer of an unchanged tag exits 0" 0
fi
finish
