#!/bin/bash
# Hostile OCI image layouts against `zagent run --image` (TAP).
#
# Each case builds a layout whose layers attack the unpacker, runs the
# real binary with a runtime that does not exist (so nothing runs after
# the unpack) and checks the host and the image cache:
#   - a layer swapping a directory for a symlink to a host directory must
#     not chmod/utime the host directory (absolute, relative, whiteout);
#   - a write that fails (ENOSPC on a small tmpfs) is never published;
#   - ZAGENT_IMAGE_MAX_SIZE bounds the unpacked size (exit 2);
#   - 3000 nested directories: exit 2 and no .tmp- directory left, also
#     under `ulimit -n 64`, where the stale sweep must also work;
#   - 1500 levels and 8000 opaque whiteouts finish within seconds;
#   - a FIFO as index.json, oci-layout or a blob fails instead of hanging.
# Needs root (tmpfs mount, chown); skips otherwise.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ZAGENT=$(realpath "${1:-$root/build/zagent}")
WORK=$(mktemp -d /tmp/zagent-secimg.XXXXXX)
export ZLAYER_DATA_DIR=$WORK/data
. "$root/tests/e2e/lib.sh"
TMPFS=$WORK/tmpfs
cleanup () {
  mountpoint -q "$TMPFS" 2>/dev/null && umount "$TMPFS"
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(id -u)" != 0 ] || ! command -v python3 >/dev/null; then
  skip "hostile image layouts" "needs root and python3"; finish; exit
fi

printf 'version: v1\ndeployment: sec\nservices:\n  img:\n    image: {name: busybox}\n' > "$WORK/spec.yaml"

# Layout builder: mk.py OUT CASE [ARG...]
cat > "$WORK/mk.py" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile

out, case, args = sys.argv[1], sys.argv[2], sys.argv[3:]
os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)

def blob(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(out, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + d, "size": len(data)}

def ti(name, kind="f", mode=0o644, data=b"", target="", mtime=1700000000):
    t = tarfile.TarInfo(name)
    t.mode, t.mtime = mode, mtime
    if kind == "d":
        t.type = tarfile.DIRTYPE
    elif kind == "l":
        t.type, t.linkname = tarfile.SYMTYPE, target
    else:
        t.size = len(data)
    return (t, data)

def layer(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for (info, data) in entries:
            t.addfile(info, io.BytesIO(data) if info.isfile() else None)
    raw = buf.getvalue()
    d = blob(gzip.compress(raw, compresslevel=6, mtime=0))
    d["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
    return d, "sha256:" + hashlib.sha256(raw).hexdigest()

def image(layers):
    ls = [layer(l) for l in layers]
    cfg = {"architecture": "amd64", "os": "linux", "config": {"Entrypoint": ["/bin/sh"]},
           "rootfs": {"type": "layers", "diff_ids": [l[1] for l in ls]}}
    c = blob(json.dumps(cfg).encode()); c["mediaType"] = "application/vnd.oci.image.config.v1+json"
    man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": c, "layers": [l[0] for l in ls]}
    m = blob(json.dumps(man).encode()); m["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    json.dump({"schemaVersion": 2, "manifests": [m]}, open(os.path.join(out, "index.json"), "w"))
    json.dump({"imageLayoutVersion": "1.0.0"}, open(os.path.join(out, "oci-layout"), "w"))
    print(json.dumps({"manifest": m["digest"][7:], "config": c["digest"][7:],
                      "layers": [l[0]["digest"][7:] for l in ls]}))

if case == "swap":  # swap HOSTDIR abs|rel|whiteout MODE: a/victim fixed up through a -> host
    host, how, mode = args[0], args[1], int(args[2], 8)
    target = host if how != "rel" else "../" * 20 + host.lstrip("/")
    ents = [ti("a", "d", 0o755), ti("a/victim", "d", mode, mtime=1000), ti("a/victim/f", data=b"x")]
    if how == "whiteout":
        ents.append(ti(".wh.a"))
    ents.append(ti("a", "l", target=target))
    image([ents])
elif case == "swap2":  # the same over two layers: a/victim below, a -> host above
    host = args[0]
    image([[ti("a", "d"), ti("a/victim", "d", 0o777, mtime=1000)],
           [ti(".wh.a"), ti("a", "l", target=host), ti("b", "d", 0o777, mtime=1000)]])
elif case == "file":  # file SIZE: one file of SIZE incompressible bytes
    data = os.urandom(int(args[0]))
    open(os.path.join(out, "want.sha256"), "w").write(hashlib.sha256(data).hexdigest())
    image([[ti("big", data=data), ti("small", data=b"s\n")]])
elif case == "zeros":  # zeros SIZE: SIZE zero bytes (a gzip bomb in miniature)
    image([[ti("z", data=bytes(int(args[0])))]])
elif case == "nest":  # nest N: N nested directories and a file at the bottom
    n, ents, p = int(args[0]), [], ""
    for i in range(n):
        p += ("/" if p else "") + "d"
        ents.append(ti(p, "d"))
    ents.append(ti(p + "/bottom", data=b"b\n"))
    image([ents])
elif case == "opaque":  # opaque N: N files, each followed by an opaque marker
    n = int(args[0])
    ents = [ti("o", "d")]
    for i in range(n):
        ents += [ti("o/f%d" % i), ti("o/.wh..wh..opq")]
    image([[ti("o", "d"), ti("o/lower", data=b"l")], ents])
PY
mk () { python3 "$WORK/mk.py" "$@"; }

# zrun DATA LAYOUT [TIMEOUT]: sets $rc and $err; unpack only (the runtime
# does not exist, so a good image stops there; zagent run exits 125)
zrun () {
  ZLAYER_DATA_DIR=$1 timeout "${3:-60}" "$ZAGENT" run -f "$WORK/spec.yaml" --image "$2" \
    --runtime /nonexistent/zagent-sec-runtime >/dev/null 2>"$WORK/.stderr"
  rc=$?
  err=$(cat "$WORK/.stderr")
}
unpacked () { grep -q "runtime \`/nonexistent/zagent-sec-runtime\`" <<<"$err"; }
no_tmp () { ! ls -a "$1/rootfs" 2>/dev/null | grep -q '^\.tmp-'; }
published () { ls "$1/rootfs" 2>/dev/null | grep -qv '^\.'; }
expect () { # expect NAME CONDITION...: with the exit status and stderr on failure
  local name=$1; shift
  if "$@"; then ok "$name"; else not_ok "$name" "exit status $rc" "stderr: $(head -c 400 <<<"$err")"; fi
}
stat_of () { stat -c '%a %Y' "$1"; }

# ---- 1: directory fix-ups through a swapped symlink ------------------------
for variant in "abs 0777" "rel 0777" "whiteout 0777" "abs 2777" "rel 2777"; do
  set -- $variant
  host=$WORK/host-$1-$2
  mkdir -p "$host/victim"
  chmod 0700 "$host/victim"
  touch -d '2001-01-01 00:00:00' "$host/victim"
  before=$(stat_of "$host/victim")
  mk "$WORK/swap-$1-$2" swap "$host" "$1" "$2" >/dev/null
  zrun "$WORK/d-swap-$1-$2" "$WORK/swap-$1-$2"
  check "swap $1 $2: host directory mode and mtime unchanged" test "$(stat_of "$host/victim")" = "$before"
  check "swap $1 $2: nothing written into the host directory" test ! -e "$host/victim/f"
  if [ "$1" = abs ] && [ "$2" = 0777 ]; then
    expect "swap: the image itself unpacks (the symlink is inert data)" unpacked
    r=$WORK/d-swap-$1-$2/rootfs/$(ls "$WORK/d-swap-$1-$2/rootfs" | head -1)/rootfs
    check "swap: a is the symlink in the rootfs" test -L "$r/a"
  fi
done
host=$WORK/host-2layers
mkdir -p "$host/victim"; chmod 0700 "$host" "$host/victim"
before=$(stat_of "$host"); before_v=$(stat_of "$host/victim")
mk "$WORK/swap2" swap2 "$host" >/dev/null
zrun "$WORK/d-swap2" "$WORK/swap2"
check "two layers: host directory unchanged" test "$(stat_of "$host")" = "$before"
check "two layers: host victim unchanged" test "$(stat_of "$host/victim")" = "$before_v"

# ---- 3: a failed write is never published ----------------------------------
mkdir -p "$TMPFS"
if mount -t tmpfs -o size=2m,mode=0700 zagent-sec "$TMPFS"; then
  mk "$WORK/big" file $((3 * 1024 * 1024)) >/dev/null
  zrun "$TMPFS/data" "$WORK/big"
  expect "ENOSPC: the unpack fails (zagent run: exit 125)" test "$rc" = 125
  expect "ENOSPC: the error says why" grep -q "No space left on device" <<<"$err"
  check "ENOSPC: no cache entry published" bash -c "! ls '$TMPFS/data/rootfs' 2>/dev/null | grep -qv '^\.'"
  check "ENOSPC: no .tmp- directory left" no_tmp "$TMPFS/data"
  mount -o remount,size=32m "$TMPFS"
  zrun "$TMPFS/data" "$WORK/big"
  expect "ENOSPC: after space is freed the same layout unpacks" unpacked
  r=$(ls -d "$TMPFS"/data/rootfs/*/rootfs 2>/dev/null | head -1)
  check "ENOSPC: and the file is complete (sha256)" \
    test "$(sha256sum "$r/big" 2>/dev/null | cut -d' ' -f1)" = "$(cat "$WORK/big/want.sha256")"
  umount "$TMPFS"
else
  skip "ENOSPC" "cannot mount a tmpfs"
fi

# ---- 4: bounds ---------------------------------------------------------------
mk "$WORK/zeros" zeros $((4 * 1024 * 1024)) >/dev/null
ZAGENT_IMAGE_MAX_SIZE=1M zrun "$WORK/d-zeros" "$WORK/zeros"
expect "size cap: exit 125" test "$rc" = 125
expect "size cap: the error names ZAGENT_IMAGE_MAX_SIZE" grep -q "more than 1048576 bytes.*ZAGENT_IMAGE_MAX_SIZE" <<<"$err"
check "size cap: nothing published, no .tmp- left" bash -c "! ls -A '$WORK/d-zeros/rootfs' 2>/dev/null | grep -q ."
ZAGENT_IMAGE_MAX_SIZE=5M zrun "$WORK/d-zeros" "$WORK/zeros"
expect "size cap: a layer under it unpacks" unpacked
ZAGENT_IMAGE_MAX_SIZE=lots zrun "$WORK/d-zeros2" "$WORK/zeros"
expect "size cap: an invalid value is zagent run's own error (125)" bash -c '[ "$0" = 125 ] && grep -q "ZAGENT_IMAGE_MAX_SIZE: invalid value" <<<"$1"' "$rc" "$err"

mk "$WORK/nest3000" nest 3000 >/dev/null
zrun "$WORK/d-nest" "$WORK/nest3000" 20
expect "3000 nested directories: exit 125" test "$rc" = 125
expect "3000 nested directories: the error says why" grep -q "nested more than 256 directories deep" <<<"$err"
check "3000 nested directories: no .tmp- left" no_tmp "$WORK/d-nest"
(ulimit -n 64; zrun "$WORK/d-nest64" "$WORK/nest3000" 20; echo "$rc" > "$WORK/rc64")
rc=$(cat "$WORK/rc64"); err=$(cat "$WORK/.stderr")
expect "3000 nested directories, ulimit -n 64: exit 125" test "$rc" = 125
check "3000 nested directories, ulimit -n 64: no .tmp- left" no_tmp "$WORK/d-nest64"
# a dead preparer's 3000-deep .tmp- directory, removed by the stale sweep
mkdir -p "$WORK/d-sweep/rootfs"
python3 - "$WORK/d-sweep/rootfs/.tmp-0000-1-deadbeef" <<'PY'
import os, sys
top = sys.argv[1]
os.mkdir(top)
fd = os.open(top, os.O_RDONLY)
for i in range(3000):
    os.mkdir("d", dir_fd=fd)
    nfd = os.open("d", os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = nfd
os.close(os.open("f", os.O_WRONLY | os.O_CREAT, dir_fd=fd))
os.close(fd)
os.utime(top, (1000000000, 1000000000))
PY
(ulimit -n 64; zrun "$WORK/d-sweep" "$WORK/zeros" 20)
check "stale sweep removes a 3000-deep .tmp- directory under ulimit -n 64" no_tmp "$WORK/d-sweep"

mk "$WORK/nest1500" nest 1500 >/dev/null
start=$(date +%s%N)
zrun "$WORK/d-nest1500" "$WORK/nest1500" 20
t=$(( ($(date +%s%N) - start) / 1000000 ))
expect "1500 levels: refused (exit 125) in ${t} ms, not after a timeout" test "$rc" = 125
mk "$WORK/nest200" nest 200 >/dev/null
zrun "$WORK/d-nest200" "$WORK/nest200" 20
expect "200 levels: unpacks" unpacked
check "200 levels: the bottom file is there" \
  test -f "$(ls -d "$WORK"/d-nest200/rootfs/*/rootfs | head -1)/$(printf 'd/%.0s' $(seq 200))bottom"

mk "$WORK/opaque" opaque 8000 >/dev/null
start=$(date +%s%N)
zrun "$WORK/d-opaque" "$WORK/opaque" 20
t=$(( ($(date +%s%N) - start) / 1000000 ))
expect "8000 opaque markers: unpacked in ${t} ms" unpacked
r=$(ls -d "$WORK"/d-opaque/rootfs/*/rootfs 2>/dev/null | head -1)
check "8000 opaque markers: lower file gone, the layer's own kept" \
  bash -c "[ ! -e '$r/o/lower' ] && [ -e '$r/o/f0' ] && [ -e '$r/o/f7999' ]"

# ---- 5: FIFOs instead of files -----------------------------------------------
for what in index.json oci-layout layer manifest; do
  d=$WORK/fifo-$what
  ids=$(mk "$d" file 1000)
  case $what in
    layer) f=$d/blobs/sha256/$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["layers"][0])' "$ids") ;;
    manifest) f=$d/blobs/sha256/$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["manifest"])' "$ids") ;;
    *) f=$d/$what ;;
  esac
  rm -f "$f"; mkfifo "$f"
  zrun "$WORK/d-fifo-$what" "$d" 10
  expect "FIFO as $what: fails without hanging (exit 125)" test "$rc" = 125
  check "FIFO as $what: no .tmp- left" no_tmp "$WORK/d-fifo-$what"
done

finish
